"""Invocations of plugins."""

from __future__ import annotations

from chalicelib.adapters.memory.paging import page
from chalicelib.domain.invocations import Invocation

__all__ = ["InMemoryInvocationRepository"]


class InMemoryInvocationRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Invocation] = {}

    def put(self, invocation: Invocation) -> None:
        self.items[(invocation.installation_id, invocation.invocation_id)] = invocation

    def get(self, installation_id: str, invocation_id: str) -> Invocation | None:
        return self.items.get((installation_id, invocation_id))

    def list(self, installation_id: str, *, limit: int, token: str | None) -> tuple[list[Invocation], str | None]:
        found = sorted(
            (i for (inst, _), i in self.items.items() if inst == installation_id),
            key=lambda i: i.invocation_id,
            reverse=True,
        )
        return page(
            found, lambda i: {"installation_id": i.installation_id, "invocation_id": i.invocation_id}, limit, token
        )
