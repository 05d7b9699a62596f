"""Opaque pagination tokens: base64url JSON of a storage position, refused if tampered."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from chalicelib.domain.errors import InvalidRequestError

__all__ = ["decode_token", "encode_token"]


def encode_token(position: dict[str, Any] | None) -> str | None:
    """Token for a storage position, None at the end."""
    if not position:
        return None
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> dict[str, Any] | None:
    """The position inside a token; InvalidRequestError if it is not one of ours."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestError("next_token is not a valid pagination token.") from exc
    if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
        raise InvalidRequestError("next_token is not a valid pagination token.")
    return position
