"""boto3-backed adapters: S3 artifacts, KMS secrets, powertools idempotency on DynamoDB."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable
from typing import Any, cast

import boto3
import botocore.loaders
import botocore.session
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.config import Config
from botocore.credentials import EnvProvider
from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.domain.errors import ConflictError, IdempotencyKeyReusedError, InvalidArtifactError

__all__ = ["KmsSecretBox", "PowertoolsIdempotencyStore", "S3ArtifactStore", "aws_client", "local_credentials"]


def aws_client(settings: Settings, service: str, *, config: Config | None = None) -> Any:
    """A boto3 client for ``service``, pointed at the local AWS when one is configured.

    ``config`` is merged over the defaults (e.g. the invoker's Lambda client: no retries, long reads).
    """
    base = Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"})
    kwargs: dict[str, Any] = {
        "region_name": settings.region,
        "config": base.merge(config) if config is not None else base,
    }
    if settings.aws_endpoint_url:
        kwargs.update(endpoint_url=settings.aws_endpoint_url, **local_credentials(settings))
    return _session().client(service, **kwargs)


# botocore's service models and endpoint rules, parsed once per process and shared by every session. A session
# per client keeps credentials resolved at client creation (a function's role; a test switching identities),
# while the JSON it would otherwise re-read (0.1-0.5 s a client) is read once: cold starts build about ten.
_LOADER = botocore.loaders.create_loader()


def _session() -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=core)


def local_credentials(settings: Settings) -> dict[str, str]:
    """Placeholder keys for the local AWS when the environment holds none; nothing otherwise.

    Credentials in the environment win (a function's assumed role, when the moto server enforces IAM);
    on AWS the default chain (the function's role) is always used.
    """
    if not settings.aws_endpoint_url or EnvProvider().load() is not None:
        return {}
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class S3ArtifactStore:
    """Plugin zips in S3; uploads go straight from the publisher through a presigned PUT."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def upload_prefix(self) -> str:
        """Where every presigned URL of this bucket begins (path-style addressing: endpoint, then bucket)."""
        return f"{str(self._s3.meta.endpoint_url).rstrip('/')}/{self._bucket}/"

    def presign_put(self, key: str, *, expires_s: int) -> tuple[str, dict[str, str]]:
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": key, "ContentType": "application/zip"},
            ExpiresIn=expires_s,
        )
        return cast(str, url), {"Content-Type": "application/zip"}

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        try:
            obj = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        size = int(obj.get("ContentLength", 0))
        if size > max_bytes:
            obj["Body"].close()
            raise InvalidArtifactError(f"The artifact is {size} bytes; the limit is {max_bytes}.", size=size)
        return cast(bytes, obj["Body"].read())

    def put(self, key: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType="application/zip")

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError:
            return False
        return True

    def ping(self) -> None:
        """Raise if the bucket is unreachable (readiness check)."""
        self._s3.head_bucket(Bucket=self._bucket)


class KmsSecretBox:
    """Secrets encrypted with a KMS key, bound to an encryption context so they cannot be swapped."""

    def __init__(self, client: Any, key_id: str) -> None:
        self._kms = client
        self._key_id = key_id

    def encrypt(self, plaintext: str, *, context: dict[str, str]) -> str:
        out = self._kms.encrypt(KeyId=self._key_id, Plaintext=plaintext.encode(), EncryptionContext=context)
        return base64.b64encode(out["CiphertextBlob"]).decode()

    def decrypt(self, ciphertext: str, *, context: dict[str, str]) -> str:
        out = self._kms.decrypt(CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=context)
        return cast(bytes, out["Plaintext"]).decode()

    def ping(self) -> None:
        """Raise if the key cannot encrypt (readiness check: what the app actually needs)."""
        self._kms.encrypt(KeyId=self._key_id, Plaintext=b"ready", EncryptionContext={"purpose": "readiness"})


class PowertoolsIdempotencyStore:
    """Idempotency-Key handling with aws-lambda-powertools' idempotency on a DynamoDB table."""

    def __init__(self, client: Any, table_name: str, *, ttl_s: int, prefix: str = "plugyard") -> None:
        self._persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
        self._config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            expires_after_seconds=ttl_s,
            raise_on_no_idempotency_key=True,
        )
        self._prefix = prefix

    def run(self, key: str, payload: dict[str, Any], fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        handler = IdempotencyHandler(
            function=fn,
            function_payload={"key": key, "payload": payload},
            config=self._config,
            persistence_store=self._persistence,
            key_prefix=self._prefix,
            function_args=(),
            function_kwargs={},
        )
        try:
            with warnings.catch_warnings():
                # Outside Lambda there is no remaining-time to register; the in-progress TTL applies.
                warnings.simplefilter("ignore", UserWarning)
                return cast(dict[str, Any], handler.handle())
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was already used with a different request body."
            ) from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise ConflictError(
                "A request with this Idempotency-Key is still in progress; retry shortly.", retry_after_s=1
            ) from exc
