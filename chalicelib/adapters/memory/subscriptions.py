"""Subscriptions: who receives an event type in a workspace."""

from __future__ import annotations

__all__ = ["InMemorySubscriptionRepository"]


class InMemorySubscriptionRepository:
    def __init__(self) -> None:
        self.rows: dict[str, set[str]] = {}

    def add(self, workspace_id: str, event_types: list[str], target: str) -> None:
        for t in event_types:
            self.rows.setdefault(f"{workspace_id}#{t}", set()).add(target)

    def remove(self, workspace_id: str, event_types: list[str], target: str) -> None:
        for t in event_types:
            self.rows.get(f"{workspace_id}#{t}", set()).discard(target)

    def targets(self, workspace_id: str, event_type: str) -> list[str]:
        return sorted(self.rows.get(f"{workspace_id}#{event_type}", set()))
