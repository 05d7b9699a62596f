"""The capability-token key comes from the stack's Secrets Manager secret, and a rotation keeps old tokens valid.

Against a moto server: the secret is read as the composition root reads it at cold start (current and
previous versions, the version id as key id), and Settings refuse the Lambda executor without a key.
"""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from chalicelib.adapters.capability_keys import read_capability_keys
from chalicelib.config import Settings
from chalicelib.container.execution import capability_signer
from chalicelib.domain.errors import DependencyUnavailableError

from .support import REGION, make_client


@pytest.fixture
def secret(moto_endpoint: str) -> tuple[object, str]:
    sm = make_client(moto_endpoint)("secretsmanager")
    name = f"plugyard-test-capability-key-{secrets.token_hex(4)}"
    arn = sm.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))["ARN"]
    return sm, arn


def test_the_current_version_signs_and_a_rotation_keeps_the_previous_one(secret: tuple[object, str]) -> None:
    sm, arn = secret
    first = read_capability_keys(sm, arn)
    assert first.previous == {} and len(first.current) >= 32 and first.kid
    sm.put_secret_value(SecretId=arn, SecretString=secrets.token_urlsafe(48))  # type: ignore[attr-defined]
    second = read_capability_keys(sm, arn)
    assert second.kid != first.kid and second.current != first.current
    assert second.previous == {first.kid: first.current}


def test_a_missing_secret_is_a_clear_error(moto_endpoint: str) -> None:
    sm = make_client(moto_endpoint)("secretsmanager")
    with pytest.raises(DependencyUnavailableError, match="ResourceNotFoundException"):
        read_capability_keys(sm, "plugyard-test-no-such-secret")


def test_the_composition_root_signs_with_the_stack_secret(moto_endpoint: str, secret: tuple[object, str]) -> None:
    from datetime import UTC, datetime

    _, arn = secret
    settings = Settings(aws_endpoint_url=moto_endpoint, region=REGION, executor="lambda", capability_key_secret=arn)
    now = datetime.now(UTC)
    claims = dict(installation_id="i", workspace_id="w", plugin_id="p", version="1.0.0", invocation_id="v")
    token = capability_signer(settings).issue(**claims, now=now)
    # another process (the broker in the API function) reads the same secret and accepts the token
    assert capability_signer(settings).verify(token, now=now).invocation_id == "v"
    # the token names its key: the secret's current version
    kid = token.split(".")[0]
    assert kid == read_capability_keys(make_client(moto_endpoint)("secretsmanager"), arn).kid
    # after a rotation, a process that starts now signs with the new key and still accepts the old token
    make_client(moto_endpoint)("secretsmanager").put_secret_value(SecretId=arn, SecretString=secrets.token_urlsafe(48))
    rotated = capability_signer(settings)
    assert rotated.verify(token, now=now).invocation_id == "v"
    fresh = rotated.issue(**claims, now=now)
    assert fresh.split(".")[0] != kid and rotated.verify(fresh, now=now).invocation_id == "v"


def test_the_lambda_executor_refuses_to_start_without_a_shared_key() -> None:
    with pytest.raises(ValidationError, match="PLUGYARD_CAPABILITY_KEY_SECRET"):
        Settings(executor="lambda")


def test_ai_is_bedrock_on_aws_and_the_echo_only_locally_or_explicitly() -> None:
    from chalicelib.adapters.ai import AiUnavailableError, BedrockAiProvider
    from chalicelib.container.execution import _ai

    assert Settings(aws_endpoint_url="http://127.0.0.1:5000").ai_backend == "echo"
    assert Settings(ai_provider="echo").ai_backend == "echo"  # explicit: allowed anywhere
    on_aws = Settings()
    assert on_aws.ai_backend == "bedrock"
    provider = _ai(on_aws)
    assert isinstance(provider, BedrockAiProvider)
    # without a model id a plugin gets a clear "unavailable", never an echo passing for a model
    with pytest.raises(AiUnavailableError, match="PLUGYARD_AI_MODEL"):
        provider.complete("hello", max_tokens=5, system=None)
