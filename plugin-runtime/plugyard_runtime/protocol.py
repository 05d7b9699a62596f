"""Wire format shared by the host and the sandbox worker: length-prefixed JSON frames.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (an object).
Capability names and their argument / result shapes (the broker implements these):

    storage.get     {"key"}                          -> {"value": any | null}
    storage.put     {"key", "value"}                 -> {}
    storage.delete  {"key"}                          -> {}
    storage.list    {"prefix"}                       -> {"keys": [str]}
    tasks.get       {"task_id"}                      -> {"task": {...} | null}
    tasks.list      {"filters": {...}, "limit"}      -> {"tasks": [{...}]}
    tasks.update    {"task_id", "changes": {...}}    -> {"task": {...}}
    events.emit     {"type", "data"}                 -> {"event_id"?: str}
    http.fetch      {"url", "method", "headers", "body"} -> {"status": int, "headers": {...}, "body": str}
    ai.complete     {"prompt", **opts}               -> {"text": str, ...}
    permissions.list {}                              -> {"scopes": [str]}
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~5 ms per cold start
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CAPABILITIES",
    "CAPABILITY_SCOPES",
    "MAX_FRAME_BYTES",
    "FrameDecoder",
    "ProtocolError",
    "dumps",
    "encode_frame",
    "loads",
]

# Large enough for any sane event or result, small enough that a hostile worker cannot balloon the host.
MAX_FRAME_BYTES = 8 * 1024 * 1024

# The scope each capability needs (None: always allowed). Mirrors chalicelib.domain.permissions.SCOPES.
CAPABILITY_SCOPES: dict[str, str | None] = {
    "storage.get": "storage:read",
    "storage.list": "storage:read",
    "storage.put": "storage:write",
    "storage.delete": "storage:write",
    "tasks.get": "tasks:read",
    "tasks.list": "tasks:read",
    "tasks.update": "tasks:write",
    "events.emit": "events:emit",
    "http.fetch": "http:fetch",
    "ai.complete": "ai:complete",
    "permissions.list": None,
}
CAPABILITIES = frozenset(CAPABILITY_SCOPES)


class ProtocolError(Exception):
    """A frame that is oversized, not JSON, or not an object."""


class _ScanContext:
    # The attributes _json.make_scanner reads; float/int select its C fast paths.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name.replace("Infinity", "inf"))


try:
    # The C halves of the json package, used directly: `import json` drags in `re` (and enum), which
    # costs several milliseconds on every sandbox cold start. Same output as json.dumps / json.loads.
    import _json

    _encode = _json.make_encoder({}, str, _json.encode_basestring_ascii, None, ":", ",", False, False, True)
    _scan = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]  # duck-typed context

    def dumps(obj: Any) -> str:
        """JSON text for obj (non-JSON values become their str(), like json.dumps(default=str))."""
        return "".join(_encode(obj, 0))

    def loads(text: str) -> Any:
        """Parse JSON text (ValueError if it is not exactly one JSON value)."""
        start = len(text) - len(text.lstrip(" \t\n\r"))
        try:
            value, end = _scan(text, start)
        except StopIteration:
            raise ValueError("not a JSON value") from None
        if text[end:].strip(" \t\n\r"):
            raise ValueError("extra data after the JSON value")
        return value

except ImportError:  # an interpreter without the accelerator: the slower, complete path
    import json

    def dumps(obj: Any) -> str:
        """JSON text for obj (non-JSON values become their str())."""
        return json.dumps(obj, separators=(",", ":"), default=str)

    def loads(text: str) -> Any:
        """Parse JSON text."""
        return json.loads(text)


def encode_frame(message: dict[str, Any]) -> bytes:
    """Serialize one message as a length-prefixed frame."""
    body = dumps(message).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return len(body).to_bytes(4, "big") + body


class FrameDecoder:
    """Incremental decoder: feed bytes, pop complete messages."""

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self._max = max_frame_bytes

    def feed(self, data: bytes) -> None:
        """Append bytes read from the pipe."""
        self._buf += data

    @property
    def pending(self) -> int:
        """Bytes buffered but not yet returned as a message."""
        return len(self._buf)

    def next(self) -> dict[str, Any] | None:
        """Return the next complete message, or None if more bytes are needed."""
        if len(self._buf) < 4:
            return None
        size = int.from_bytes(self._buf[:4], "big")
        if size > self._max:
            raise ProtocolError(f"frame of {size} bytes exceeds {self._max}")
        if len(self._buf) < 4 + size:
            return None
        body = bytes(self._buf[4 : 4 + size])
        del self._buf[: 4 + size]
        try:
            message = loads(body.decode())
        except ValueError as exc:
            raise ProtocolError(f"frame is not JSON: {exc}") from None
        if not isinstance(message, dict):
            raise ProtocolError("frame is not a JSON object")
        return message
