"""Plugin triggers."""

from __future__ import annotations

from chalicelib.domain.triggers import Trigger

__all__ = ["InMemoryTriggerRepository"]


class InMemoryTriggerRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Trigger] = {}

    def get(self, installation_id: str, name: str) -> Trigger | None:
        return self.items.get((installation_id, name))

    def put(self, trigger: Trigger) -> None:
        self.items[(trigger.installation_id, trigger.name)] = trigger

    def list(self, installation_id: str) -> list[Trigger]:
        return [t for (iid, _), t in sorted(self.items.items()) if iid == installation_id]

    def delete_all(self, installation_id: str) -> None:
        for key in [k for k in self.items if k[0] == installation_id]:
            del self.items[key]
