"""What the host refuses in a capability call, in one place: the broker and the test kit both apply it.

The scope table itself is ``protocol.CAPABILITY_SCOPES``; this module adds the argument rules that need no
host state (key shapes, size caps, the task fields a plugin may change, its own event namespace, the hosts
its manifest declares). The host applies them before serving a call; ``plugyard_runtime.testing`` applies
them before its fakes do, so a handler that passes its unit tests is not refused by the platform.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .protocol import CAPABILITIES, CAPABILITY_SCOPES

__all__ = [
    "CAPABILITIES",
    "CAPABILITY_SCOPES",
    "HTTP_METHODS",
    "TASK_FIELDS",
    "CallLimits",
    "RuleViolation",
    "check_call",
    "host_allowed",
]

# The task fields a plugin may change; status changes belong to the host (docs/plugin-developer-guide.md).
TASK_FIELDS = frozenset({"title", "data", "annotations"})
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
_KEY = re.compile(r"^[\w.:/@-]{1,256}$")
# plugin.<plugin id>.<name>, as the host's event catalog accepts plugin-defined types.
_PLUGIN_EVENT = re.compile(r"^plugin\.[a-z][a-z0-9-]{1,62}[a-z0-9]\.[a-z][a-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class CallLimits:
    """Size caps on one call's arguments."""

    max_key_chars: int = 256
    max_value_bytes: int = 64 * 1024
    max_event_bytes: int = 64 * 1024
    max_http_body_bytes: int = 256 * 1024
    max_prompt_chars: int = 32 * 1024
    max_ai_tokens: int = 4096


class RuleViolation(Exception):
    """A call the host refuses: ``denied`` (a permission matter, audited) or a mistake in its arguments."""

    def __init__(self, message: str, *, denied: bool = False, scope: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.denied = denied
        self.scope = scope


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Whether ``host`` matches an exact name or a ``*.domain`` pattern (subdomains only)."""
    host = host.lower().rstrip(".")
    for pattern in allowed:
        p = pattern.lower().rstrip(".")
        if p.startswith("*.") and host.endswith(p[1:]) and host != p[2:]:
            return True
        if host == p:
            return True
    return False


def _json_size(value: Any) -> int:
    try:
        return len(json.dumps(value, separators=(",", ":")).encode())
    except (TypeError, ValueError) as exc:
        raise RuleViolation("The value is not JSON-serializable.") from exc


def _key(args: dict[str, Any], limits: CallLimits) -> None:
    key = args.get("key")
    if not isinstance(key, str) or not _KEY.match(key) or len(key) > limits.max_key_chars:
        raise RuleViolation(
            f"A storage key must be 1–{limits.max_key_chars} characters of letters, digits and _ . : / @ -."
        )


def _storage(name: str, args: dict[str, Any], limits: CallLimits) -> None:
    if name == "storage.list":
        prefix = args.get("prefix") or ""
        if not isinstance(prefix, str) or len(prefix) > limits.max_key_chars:
            raise RuleViolation(f"prefix must be a string of at most {limits.max_key_chars} characters.")
        return
    _key(args, limits)
    if name == "storage.put":
        size = _json_size(args.get("value"))
        if size > limits.max_value_bytes:
            raise RuleViolation(
                f"A stored value may be at most {limits.max_value_bytes} bytes of JSON; this one is {size}."
            )


def _tasks(name: str, args: dict[str, Any], limits: CallLimits) -> None:
    if name == "tasks.list":
        if not isinstance(args.get("filters") or {}, dict):
            raise RuleViolation("filters must be an object.")
        return
    if args.get("task_id") in (None, ""):
        raise RuleViolation("task_id is required.")
    if name == "tasks.update":
        changes = args.get("changes")
        if not isinstance(changes, dict) or not changes:
            raise RuleViolation("changes must be a non-empty object.")
        bad = sorted(set(changes) - TASK_FIELDS)
        if bad:
            raise RuleViolation(f"A plugin may change only {sorted(TASK_FIELDS)} of a task, not {bad}.")
        _task_field_types(changes)
        if _json_size(changes) > limits.max_value_bytes:
            raise RuleViolation("The changes are too large.")


def _task_field_types(changes: dict[str, Any]) -> None:
    # The shapes the host's task model holds, checked here so the test kit refuses what the host cannot store.
    if "title" in changes and not isinstance(changes["title"], str):
        raise RuleViolation("title must be a string.")
    if "data" in changes and not isinstance(changes["data"], dict):
        raise RuleViolation("data must be an object.")
    annotations = changes.get("annotations", [])
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise RuleViolation("annotations must be a list of objects.")


def _emit(args: dict[str, Any], plugin_id: str, limits: CallLimits) -> None:
    event_type = args.get("type")
    own = f"plugin.{plugin_id}."
    if not isinstance(event_type, str) or not event_type.startswith(own):
        raise RuleViolation(
            f"A plugin may only emit events of its own type namespace '{own}*', not '{str(event_type)[:120]}'.",
            denied=True,
            scope="events:emit",
        )
    if not _PLUGIN_EVENT.match(event_type):
        raise RuleViolation(f"'{event_type[:120]}' is not a valid event type ('{own}<name>').")
    data = args.get("data") or {}
    if not isinstance(data, dict):
        raise RuleViolation("Event data must be an object.")
    if _json_size(data) > limits.max_event_bytes:
        raise RuleViolation(f"Event data may be at most {limits.max_event_bytes} bytes.")


def _fetch(args: dict[str, Any], allowed_hosts: list[str], limits: CallLimits) -> None:
    host = urlsplit(str(args.get("url") or "")).hostname or ""
    if not host or not host_allowed(host, allowed_hosts):
        raise RuleViolation(
            f"'{host[:120]}' is not among the hosts this plugin's manifest allows "
            f"({', '.join(allowed_hosts) or 'none'}).",
            denied=True,
            scope="http:fetch",
        )
    method = str(args.get("method") or "GET").upper()
    if method not in HTTP_METHODS:
        raise RuleViolation(f"HTTP method {method[:10]} is not allowed.")
    body = args.get("body")
    if body is not None and (not isinstance(body, str) or len(body) > limits.max_http_body_bytes):
        raise RuleViolation(f"The request body must be a string of at most {limits.max_http_body_bytes} bytes.")
    if not isinstance(args.get("headers") or {}, dict):
        raise RuleViolation("headers must be an object.")


def _complete(args: dict[str, Any], limits: CallLimits) -> None:
    prompt = args.get("prompt")
    if not isinstance(prompt, str) or not prompt or len(prompt) > limits.max_prompt_chars:
        raise RuleViolation(f"prompt must be 1–{limits.max_prompt_chars} characters.")
    try:
        max_tokens = int(args.get("max_tokens") or 512)
    except (TypeError, ValueError):
        raise RuleViolation("max_tokens must be an integer.") from None
    if not 1 <= max_tokens <= limits.max_ai_tokens:
        raise RuleViolation(f"max_tokens must be 1–{limits.max_ai_tokens}.")
    system = args.get("system")
    if system is not None and not isinstance(system, str):
        raise RuleViolation("system must be a string.")


def check_call(
    name: str,
    args: dict[str, Any],
    *,
    granted: frozenset[str] | set[str],
    plugin_id: str,
    allowed_hosts: list[str],
    limits: CallLimits | None = None,
) -> None:
    """Raise RuleViolation if the host would refuse this call before serving it; None if it would serve it."""
    scope = CAPABILITY_SCOPES.get(name, "unknown")
    if scope == "unknown":
        raise RuleViolation(f"There is no capability '{name[:80]}'.", denied=True)
    if scope is not None and scope not in granted:
        raise RuleViolation(
            f"{name} needs the '{scope}' permission, which this installation was not granted.",
            denied=True,
            scope=scope,
        )
    if not isinstance(args, dict):
        raise RuleViolation(f"The arguments of {name} must be an object.")
    limits = limits or CallLimits()
    family = name.split(".", 1)[0]
    if family == "storage":
        _storage(name, args, limits)
    elif family == "tasks":
        _tasks(name, args, limits)
    elif name == "events.emit":
        _emit(args, plugin_id, limits)
    elif name == "http.fetch":
        _fetch(args, allowed_hosts, limits)
    elif name == "ai.complete":
        _complete(args, limits)
