"""Short-lived capability tokens: what a plugin on Lambda shows the broker endpoint. Pure.

A token is ``<base64url(claims JSON)>.<base64url(HMAC-SHA256(key, claims part))>``. The broker checks the
signature (constant time) before it parses the claims, then the expiry, then that the installation it
names still exists and matches; any failure is one 401 without saying which check failed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError

from chalicelib.domain.errors import InvalidCapabilityTokenError

__all__ = ["CapabilityClaims", "CapabilityTokenSigner", "InvalidCapabilityTokenError"]

_MIN_KEY_BYTES = 32


class CapabilityClaims(BaseModel):
    """What a token vouches for: one invocation of one installation, until ``exp`` (unix seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    installation_id: str
    workspace_id: str
    plugin_id: str
    version: str
    invocation_id: str
    exp: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CapabilityTokenSigner:
    """Signs and verifies capability tokens with one HMAC key."""

    def __init__(self, key: bytes, *, ttl: timedelta = timedelta(minutes=5)) -> None:
        if len(key) < _MIN_KEY_BYTES:
            raise ValueError(f"capability signing key must be at least {_MIN_KEY_BYTES} bytes")
        self._key = key
        self.ttl = ttl

    def sign(self, claims: CapabilityClaims) -> str:
        """The token for ``claims``."""
        body = _b64(claims.model_dump_json().encode())
        return f"{body}.{self._mac(body)}"

    def issue(
        self,
        *,
        installation_id: str,
        workspace_id: str,
        plugin_id: str,
        version: str,
        invocation_id: str,
        now: datetime,
    ) -> str:
        """A token for one invocation, valid for ``ttl`` from ``now``."""
        return self.sign(
            CapabilityClaims(
                installation_id=installation_id,
                workspace_id=workspace_id,
                plugin_id=plugin_id,
                version=version,
                invocation_id=invocation_id,
                exp=int((now + self.ttl).timestamp()),
            )
        )

    def verify(self, token: str | None, *, now: datetime) -> CapabilityClaims:
        """The claims of a genuine, unexpired token; InvalidCapabilityTokenError otherwise."""
        if not token or token.count(".") != 1:
            raise InvalidCapabilityTokenError("A capability token is required.")
        body, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidCapabilityTokenError("The capability token is not valid.")
        try:
            claims = CapabilityClaims.model_validate(json.loads(_unb64(body)))
        except (binascii.Error, ValueError, ValidationError) as exc:
            raise InvalidCapabilityTokenError("The capability token is not valid.") from exc
        if now.timestamp() >= claims.exp:
            raise InvalidCapabilityTokenError("The capability token has expired.")
        return claims

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
