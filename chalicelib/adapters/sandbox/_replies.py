"""What the host tells the plugin and records of it: a broker call's reply frame, a plugin's error made safe."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.execution import CAPABILITY_NAMES, Broker, CapabilityDenied

__all__ = ["broker_reply", "clean_error"]


def clean_error(error: object) -> dict[str, Any]:
    """A plugin's error as recorded: type and message as bounded strings, whatever it sent."""
    if not isinstance(error, dict):
        return {"type": "Error", "message": ""}
    return {"type": str(error.get("type", "Error"))[:200], "message": str(error.get("message", ""))[:2000]}


def broker_reply(message: dict[str, Any], broker: Broker) -> dict[str, Any]:
    """Run one broker call; never lets a broker exception escape into the pump."""
    call_id = message.get("id")
    name = message.get("name")
    args = message.get("args")
    if not isinstance(name, str) or name not in CAPABILITY_NAMES or not isinstance(args, dict):
        error = {"type": "UnknownCapability", "message": f"no capability {str(name)[:80]!r}"}
        return {"op": "reply", "id": call_id, "ok": False, "error": error}
    try:
        result = broker(name, args)
    except CapabilityDenied as exc:
        return {
            "op": "reply",
            "id": call_id,
            "ok": False,
            "error": {"type": "PermissionDenied", "message": exc.message},
        }
    except Exception as exc:  # noqa: BLE001 - any broker failure becomes the plugin's CapabilityError
        return {
            "op": "reply",
            "id": call_id,
            "ok": False,
            "error": {"type": type(exc).__name__, "message": str(exc)},
        }
    return {"op": "reply", "id": call_id, "ok": True, "result": result if isinstance(result, dict) else {}}
