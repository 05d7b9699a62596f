"""Keyset pagination over in-memory lists, with the same tokens as the DynamoDB adapters."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from chalicelib.domain.pagination import decode_token, encode_token

__all__ = ["page"]


T = TypeVar("T")


def page(
    items: list[T], key: Callable[[T], dict[str, str]], limit: int, token: str | None
) -> tuple[list[T], str | None]:
    """Keyset pagination over items already in order: resume after the token's key."""
    start = decode_token(token)
    if start is not None:
        keys = [key(i) for i in items]
        if start not in keys:
            from chalicelib.domain.errors import InvalidRequestError

            raise InvalidRequestError("next_token does not belong to this listing.")
        items = items[keys.index(start) + 1 :]
    page = items[:limit]
    more = len(items) > limit
    return page, encode_token(key(page[-1])) if more and page else None
