"""The versioned event catalog: the types a workspace can subscribe to, the schemas of their ``data``, the
synchronous hooks, and the workspace and trigger event types."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ANY_OBJECT",
    "CATALOG_VERSION",
    "EVENT_SCHEMAS",
    "HOOK_SCHEMAS",
    "HOOK_TYPES",
    "HOST_EVENT_TYPES",
    "NOT_FOR_PLUGINS",
    "SOURCE_HOST",
    "SOURCE_TRIGGER",
    "SOURCE_WORKSPACE",
    "TRIGGER_DATA_SCHEMA",
    "TRIGGER_NAME_PATTERN",
    "WORKSPACE_EVENT_PATTERN",
    "EventAccepted",
    "PublishEventRequest",
    "data_errors",
    "data_schema",
    "is_hook_type",
    "is_known_event_type",
    "is_subscribable",
    "is_workspace_event_type",
    "parse_trigger_event_type",
    "trigger_event_type",
]

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
    "task.updated": "A plugin changed a task (its title, data or annotations)",
    "webhook.disabled": "A webhook endpoint was disabled after failing",
}

_PLUGIN_EVENT = re.compile(r"^plugin\.[a-z][a-z0-9-]{1,62}[a-z0-9]\.[a-z][a-z0-9_.-]{0,62}$")


def is_known_event_type(event_type: str) -> bool:
    """True for a catalog type or a plugin-defined ``plugin.<id>.<name>`` type."""
    return event_type in HOST_EVENT_TYPES or bool(_PLUGIN_EVENT.match(event_type))


# --- schemas of ``data``, envelopes and the synchronous hooks ----------------------------------------
# The types above are the catalog; what follows adds the sources, each type's ``data`` schema and the hooks.

SOURCE_HOST = "plugyard.host"
SOURCE_WORKSPACE = "plugyard.workspace"
SOURCE_TRIGGER = "plugyard.trigger"

_ID: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 128}
_INSTALLATION_PROPS: dict[str, Any] = {"installation_id": _ID, "plugin_id": _ID, "version": _ID, "actor": _ID}
_INSTALLATION: dict[str, Any] = {
    "type": "object",
    "required": ["installation_id", "plugin_id", "version"],
    "properties": _INSTALLATION_PROPS,
}
_TASK: dict[str, Any] = {
    "type": "object",
    "required": ["task_id", "title", "status"],
    "properties": {
        "task_id": _ID,
        "title": {"type": "string"},
        "status": {"type": "string"},
        "annotations": {"type": "array", "items": {"type": "object"}},
        "reason": {"type": "string"},
        "result": {"type": "object"},
    },
}

EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "plugin.installed": _INSTALLATION,
    "plugin.upgraded": {**_INSTALLATION, "properties": {**_INSTALLATION_PROPS, "from_version": _ID}},
    "plugin.uninstalled": _INSTALLATION,
    "plugin.enabled": _INSTALLATION,
    "plugin.disabled": _INSTALLATION,
    "task.created": _TASK,
    "task.started": _TASK,
    "task.completed": _TASK,
    "task.failed": _TASK,
    "task.updated": {
        "type": "object",
        "required": ["task_id", "title", "status", "updated_by"],
        "properties": {**_TASK["properties"], "updated_by": _ID},
    },
    "webhook.disabled": {
        "type": "object",
        "required": ["webhook_id", "reason"],
        "properties": {"webhook_id": _ID, "url": {"type": "string"}, "reason": {"type": "string"}},
    },
}
"""JSON Schema (draft 2020-12) of ``data`` for each host event type; plugin-defined types accept any object."""

ANY_OBJECT: dict[str, Any] = {"type": "object"}

HOOK_TYPES: dict[str, str] = {
    "task.before_run": "Called inline before a task runs; a plugin may annotate or veto the run",
}
"""Synchronous hooks: subscribed like events (manifest ``events``), called inline with a time budget."""

HOOK_SCHEMAS: dict[str, dict[str, Any]] = {"task.before_run": _TASK}

TRIGGER_DATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["installation_id", "trigger", "payload"],
    "properties": {"installation_id": _ID, "trigger": _ID, "payload": {}},
}
"""``data`` of ``plugin.<id>.trigger.<name>``: the inbound call's JSON body is ``payload``."""

WORKSPACE_EVENT_PATTERN = r"^workspace\.[a-z][a-z0-9_-]{0,62}(\.[a-z][a-z0-9_-]{0,62}){0,3}$"
_WORKSPACE_EVENT = re.compile(WORKSPACE_EVENT_PATTERN)
TRIGGER_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
_TRIGGER_EVENT = re.compile(r"^plugin\.([a-z][a-z0-9-]{1,62}[a-z0-9])\.trigger\.([a-z][a-z0-9_-]{0,62})$")


def is_workspace_event_type(event_type: str) -> bool:
    """True for a type a workspace may publish itself: ``workspace.<name>[.<name>…]``."""
    return bool(_WORKSPACE_EVENT.match(event_type))


def is_hook_type(event_type: str) -> bool:
    """True for a synchronous hook such as ``task.before_run``."""
    return event_type in HOOK_TYPES


# Emitted when a plugin changes a task: a plugin subscribed to it would be called by its own writes, over and
# over, so only webhooks and live clients receive it.
NOT_FOR_PLUGINS = frozenset({"task.updated"})


def is_subscribable(event_type: str, *, hooks: bool = False) -> bool:
    """What a webhook (``hooks=False``) or a plugin manifest (``hooks=True``) may subscribe to."""
    if hooks and event_type in NOT_FOR_PLUGINS:
        return False
    return (
        is_known_event_type(event_type) or is_workspace_event_type(event_type) or (hooks and is_hook_type(event_type))
    )


def trigger_event_type(plugin_id: str, name: str) -> str:
    """The event type an inbound trigger call becomes: ``plugin.<id>.trigger.<name>``."""
    return f"plugin.{plugin_id}.trigger.{name}"


def parse_trigger_event_type(event_type: str) -> tuple[str, str] | None:
    """``(plugin_id, trigger name)`` for a trigger event type, else None."""
    m = _TRIGGER_EVENT.match(event_type)
    return (m.group(1), m.group(2)) if m else None


def data_schema(event_type: str) -> dict[str, Any] | None:
    """The JSON Schema of ``data`` for a type, None when the type is not in the catalog at all."""
    if event_type in EVENT_SCHEMAS:
        return EVENT_SCHEMAS[event_type]
    if event_type in HOOK_SCHEMAS:
        return HOOK_SCHEMAS[event_type]
    if parse_trigger_event_type(event_type):
        return TRIGGER_DATA_SCHEMA
    if is_known_event_type(event_type) or is_workspace_event_type(event_type):
        return ANY_OBJECT
    return None


def data_errors(event_type: str, data: Any) -> list[dict[str, str]]:
    """Every way ``data`` breaks its type's schema, as ``{loc, msg}``; unknown types are one error."""
    schema = data_schema(event_type)
    if schema is None:
        return [{"loc": "type", "msg": f"unknown event type '{event_type}'"}]
    validator = jsonschema.Draft202012Validator(schema)
    return [
        {"loc": "/".join(str(p) for p in e.path) or "(root)", "msg": e.message}
        for e in sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    ]


class PublishEventRequest(BaseModel):
    """A workspace's own systems publish an event of type ``workspace.<name>``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: str = Field(pattern=WORKSPACE_EVENT_PATTERN, description="workspace.<name>[.<name>…], lower-case.")
    data: dict[str, Any] = Field(default_factory=dict)


class EventAccepted(BaseModel):
    """An event was accepted for delivery (202)."""

    id: str
    type: str
