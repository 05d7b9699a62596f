"""The capability-token key from AWS Secrets Manager: the current version signs, the previous one still verifies.

CloudFormation generates the secret (infra/app.yaml, ``CapabilityKeySecret``); rotating it (a new
version, staged AWSCURRENT) moves the old version to AWSPREVIOUS, so tokens signed just before the
rotation keep verifying until they expire. A version's id is its key id: tokens name the key they
were signed with. Read once per process, at cold start (the composition root).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import DependencyUnavailableError

__all__ = ["CapabilityKeys", "read_capability_keys"]

_NOT_KID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class CapabilityKeys:
    """The signing key with its id, and the keys that still verify (by id)."""

    kid: str
    current: bytes = field(repr=False)
    previous: dict[str, bytes] = field(default_factory=dict, repr=False)


def _kid(version_id: str) -> str:
    return _NOT_KID.sub("", version_id)[:64] or "k1"


def _version(client: Any, secret_id: str, stage: str) -> tuple[str, bytes] | None:
    try:
        out = client.get_secret_value(SecretId=secret_id, VersionStage=stage)
    except ClientError as exc:
        if stage == "AWSPREVIOUS" and exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None  # never rotated: no previous version
        raise DependencyUnavailableError(
            f"The capability-key secret could not be read ({exc.response.get('Error', {}).get('Code')})."
        ) from exc
    except BotoCoreError as exc:
        raise DependencyUnavailableError(
            f"The capability-key secret could not be read ({type(exc).__name__})."
        ) from exc
    secret = out.get("SecretString")
    material = secret.encode() if isinstance(secret, str) else bytes(out.get("SecretBinary") or b"")
    return _kid(str(out["VersionId"])), material


def read_capability_keys(client: Any, secret_id: str) -> CapabilityKeys:
    """AWSCURRENT (signs) and, when the secret was rotated, AWSPREVIOUS (verifies) of ``secret_id``."""
    current = _version(client, secret_id, "AWSCURRENT")
    if current is None:  # unreachable: a secret always has AWSCURRENT, and a missing one raised above
        raise DependencyUnavailableError("The capability-key secret has no current version.")
    previous = _version(client, secret_id, "AWSPREVIOUS")
    kid, key = current
    return CapabilityKeys(kid=kid, current=key, previous={previous[0]: previous[1]} if previous else {})
