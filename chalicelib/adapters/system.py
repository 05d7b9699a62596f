"""Clock and id generator of the real world."""

from __future__ import annotations

from datetime import UTC, datetime

from ulid import ULID

__all__ = ["SystemClock", "UlidGenerator"]


class SystemClock:
    """UTC wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class UlidGenerator:
    """Time-sortable ids (ULID)."""

    def new_id(self) -> str:
        return str(ULID())
