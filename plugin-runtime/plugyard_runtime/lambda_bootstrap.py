"""Lambda entry point: `plugyard_runtime.lambda_handler(event, context)`.

The invoker sends `{"entrypoint"?, "event", "config", "granted", "capability_token", "broker_url",
"installation_id", "plugin_id", "version", "invocation_id"}`. The entrypoint comes from the event or
`PLUGYARD_ENTRYPOINT`; the broker URL from the event (so a redeployed API never strands a function),
else `PLUGYARD_BROKER_URL`. Returns `{"status", "result", "error"}` like the sandbox.
"""

from __future__ import annotations

import os
import traceback
from typing import TYPE_CHECKING, Any

from ._errors import PermissionDenied
from .context import PluginContext
from .handler import load_entrypoint
from .http_transport import HttpTransport
from .transport import Transport

if TYPE_CHECKING:
    from .handler import Handler

__all__ = ["lambda_handler"]

_handlers: dict[str, Handler] = {}  # survives across warm invocations of the same Lambda instance


def lambda_handler(event: dict[str, Any], context: Any, *, transport: Transport | None = None) -> dict[str, Any]:
    """Run the plugin handler named by the event or environment with an HTTP-transport ctx."""
    entrypoint = str(event.get("entrypoint") or os.environ.get("PLUGYARD_ENTRYPOINT", ""))
    if transport is None:
        broker_url = str(event.get("broker_url") or os.environ.get("PLUGYARD_BROKER_URL", ""))
        if not broker_url:
            return _failed("ConfigurationError", "the invocation carries no broker_url")
        transport = HttpTransport(broker_url, str(event.get("capability_token", "")))
    try:
        handler = _handlers.get(entrypoint) or load_entrypoint(entrypoint)
    except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not raised into Lambda
        return _failed(type(exc).__name__, str(exc))
    _handlers[entrypoint] = handler
    ctx = PluginContext(
        transport,
        config=event.get("config") or {},
        granted=list(event.get("granted") or []),
        installation_id=str(event.get("installation_id", "")),
        plugin_id=str(event.get("plugin_id", "")),
        version=str(event.get("version", "")),
        invocation_id=str(event.get("invocation_id", "")),
    )
    try:
        result = handler(event.get("event") or {}, ctx)
    except MemoryError:
        return {"status": "memory_exceeded", "result": None, "error": {"type": "MemoryError", "message": ""}}
    except PermissionDenied as exc:
        traceback.print_exc()
        return {"status": "permission_denied", "result": None, "error": _err(exc)}
    except Exception as exc:  # noqa: BLE001 - the plugin's failure, classified for the invoker
        traceback.print_exc()
        return {"status": "failed", "result": None, "error": _err(exc)}
    if result is not None and not isinstance(result, dict):
        return _failed("TypeError", f"handler returned {type(result).__name__}, expected dict or None")
    return {"status": "succeeded", "result": result, "error": None}


def _err(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def _failed(error_type: str, message: str) -> dict[str, Any]:
    return {"status": "failed", "result": None, "error": {"type": error_type, "message": message}}
