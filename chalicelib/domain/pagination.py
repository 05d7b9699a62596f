"""Opaque pagination tokens: base64url JSON of a storage position, sealed to the listing that issued it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from chalicelib.domain.errors import InvalidRequestError

__all__ = ["PageTokenSealer", "decode_token", "encode_token", "every_item"]


T = TypeVar("T")


def every_item(read_page: Callable[[str | None], tuple[list[T], str | None]]) -> Iterator[T]:
    """Every item of a paged listing: ``read_page(token)`` gives a page and the next token (None at the end),
    starting from None; pages are read as the items are consumed."""
    token: str | None = None
    while True:
        page, token = read_page(token)
        yield from page
        if not token:
            return


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


class PageTokenSealer:
    """Binds pagination tokens to the listing and workspace that issued them (HMAC-SHA256).

    The storage layer's token says where a page ends; sealed, it reads ``<token>.<mac>`` where the MAC
    covers the token and its scope (route, path parameters, filters, workspace). A token that was
    altered, invented, or issued for another listing or workspace fails the check: a 400, never a
    query with a position the caller made up.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the pagination key must be at least 32 bytes")
        self._key = key

    def seal(self, token: str | None, scope: str) -> str | None:
        """The token handed to the caller (None at the end of the listing)."""
        if token is None:
            return None
        return f"{token}.{self._mac(token, scope)}"

    def open(self, sealed: str | None, scope: str) -> str | None:
        """The storage token inside ``sealed``; InvalidRequestError unless this listing issued it."""
        if not sealed:
            return None
        token, _, mac = sealed.rpartition(".")
        if not token or not hmac.compare_digest(mac.encode(), self._mac(token, scope).encode()):
            raise InvalidRequestError("next_token does not belong to this listing.")
        return token

    def _mac(self, token: str, scope: str) -> str:
        digest = hmac.new(self._key, f"{scope}\n{token}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")
