"""Event types a workspace can subscribe to (the catalog grows with the events issue)."""

from __future__ import annotations

import re

__all__ = ["CATALOG_VERSION", "HOST_EVENT_TYPES", "is_known_event_type"]

CATALOG_VERSION = "2026-11-25"

HOST_EVENT_TYPES: dict[str, str] = {
    "plugin.installed": "A plugin was installed in the workspace",
    "plugin.upgraded": "An installation moved to another version",
    "plugin.uninstalled": "A plugin was removed from the workspace",
    "plugin.enabled": "An installation was enabled",
    "plugin.disabled": "An installation was disabled",
    "task.created": "A task was created",
    "task.started": "A task started running",
    "task.completed": "A task completed",
    "task.failed": "A task failed",
    "webhook.disabled": "A webhook endpoint was disabled after failing",
}

_PLUGIN_EVENT = re.compile(r"^plugin\.[a-z][a-z0-9-]{1,62}[a-z0-9]\.[a-z][a-z0-9_.-]{0,62}$")


def is_known_event_type(event_type: str) -> bool:
    """True for a catalog type or a plugin-defined ``plugin.<id>.<name>`` type."""
    return event_type in HOST_EVENT_TYPES or bool(_PLUGIN_EVENT.match(event_type))
