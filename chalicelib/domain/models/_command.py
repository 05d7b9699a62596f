"""The base of every request body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Command(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
