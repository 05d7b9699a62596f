"""Short-lived capability tokens: what a plugin on Lambda shows the broker endpoint. Pure.

A token is ``<kid>.<base64url(claims JSON)>.<base64url(HMAC-SHA256(key[kid], "<kid>.<claims part>"))>``.
The key id lets the key rotate: a signer signs with its current key and verifies with any key it still
holds. The broker checks the signature (constant time) before it parses the claims, then the expiry,
then that the invocation it names is recorded and still running and that the installation still exists
and matches; any failure is one 401 without saying which check failed.

A token is bound to one recorded invocation and lives as long as that invocation may run (the plugin's
timeout plus a small margin), so a token that leaks from a plugin is useless once its invocation ended.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError

from chalicelib.domain.errors import InvalidCapabilityTokenError

__all__ = ["EXPIRY_MARGIN", "CapabilityClaims", "CapabilityTokenSigner", "InvalidCapabilityTokenError"]

_MIN_KEY_BYTES = 32
_KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Added to a plugin's timeout: the invoker's own latency between issuing the token and Lambda starting it.
EXPIRY_MARGIN = timedelta(seconds=15)


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
    """Signs capability tokens with the current HMAC key; verifies them with any key it holds, by key id."""

    def __init__(
        self,
        key: bytes,
        *,
        kid: str = "k1",
        previous: dict[str, bytes] | None = None,
        ttl: timedelta = timedelta(minutes=5),
    ) -> None:
        keys = {**(previous or {}), kid: key}
        for key_id, material in keys.items():
            if not _KID.match(key_id):
                raise ValueError(f"capability key id '{key_id[:80]}' must be 1-64 of A-Z a-z 0-9 _ -")
            if len(material) < _MIN_KEY_BYTES:
                raise ValueError(f"capability signing key must be at least {_MIN_KEY_BYTES} bytes")
        self._keys = keys
        self.kid = kid
        self.ttl = ttl

    def sign(self, claims: CapabilityClaims) -> str:
        """The token for ``claims``, signed with the current key."""
        body = _b64(claims.model_dump_json().encode())
        return f"{self.kid}.{body}.{self._mac(self.kid, body)}"

    def issue(
        self,
        *,
        installation_id: str,
        workspace_id: str,
        plugin_id: str,
        version: str,
        invocation_id: str,
        now: datetime,
        ttl: timedelta | None = None,
    ) -> str:
        """A token for one invocation, valid for ``ttl`` (default: the signer's) from ``now``."""
        return self.sign(
            CapabilityClaims(
                installation_id=installation_id,
                workspace_id=workspace_id,
                plugin_id=plugin_id,
                version=version,
                invocation_id=invocation_id,
                exp=int((now + (ttl or self.ttl)).timestamp()),
            )
        )

    def verify(self, token: str | None, *, now: datetime) -> CapabilityClaims:
        """The claims of a genuine, unexpired token; InvalidCapabilityTokenError otherwise."""
        if not token:
            raise InvalidCapabilityTokenError("A capability token is required.")
        if token.count(".") != 2:
            raise InvalidCapabilityTokenError("The capability token is not valid.")
        kid, body, mac = token.split(".")
        if kid not in self._keys or not hmac.compare_digest(mac, self._mac(kid, body)):
            raise InvalidCapabilityTokenError("The capability token is not valid.")
        try:
            claims = CapabilityClaims.model_validate(json.loads(_unb64(body)))
        except (binascii.Error, ValueError, ValidationError) as exc:
            raise InvalidCapabilityTokenError("The capability token is not valid.") from exc
        if now.timestamp() >= claims.exp:
            raise InvalidCapabilityTokenError("The capability token has expired.")
        return claims

    def _mac(self, kid: str, body: str) -> str:
        return _b64(hmac.new(self._keys[kid], f"{kid}.{body}".encode(), hashlib.sha256).digest())
