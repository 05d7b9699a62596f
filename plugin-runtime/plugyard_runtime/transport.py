"""The one I/O boundary of the SDK: `Transport.call(name, args) -> dict`.

Adapters: `PipeTransport` (sandbox worker, frames over a dedicated pipe pair), `HttpTransport` (Lambda,
POST to the broker URL with a capability token, in `plugyard_runtime.http_transport`) and
`FakeTransport` (in-memory, in `plugyard_runtime.testing`).
"""

from __future__ import annotations

import os
from _thread import allocate_lock  # threading would pull in more modules on a cold start
from abc import ABC, abstractmethod

from ._errors import CapabilityError, PermissionDenied, TransportError
from .protocol import FrameDecoder, ProtocolError, encode_frame

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~5 ms per cold start
if TYPE_CHECKING:
    from typing import Any

__all__ = ["PipeTransport", "Transport", "raise_for_error"]


class Transport(ABC):
    """Carries capability calls to the host broker."""

    @abstractmethod
    def call(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Invoke capability `name`; return its result or raise PermissionDenied / CapabilityError."""


def raise_for_error(error: dict[str, Any]) -> None:
    """Turn a broker error payload into the exception the plugin sees."""
    error_type = str(error.get("type", "CapabilityError"))
    message = str(error.get("message", ""))
    if error_type == "PermissionDenied":
        raise PermissionDenied(message)
    raise CapabilityError(error_type, message)


class PipeTransport(Transport):
    """Length-prefixed JSON frames over the worker's control pipe pair."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._decoder = FrameDecoder()
        # Plugins may call capabilities from threads; one request/reply exchange at a time.
        self._lock = allocate_lock()
        self._next_id = 0

    def send(self, message: dict[str, Any]) -> None:
        """Write one frame, completely."""
        data = memoryview(encode_frame(message))
        while data:
            written = os.write(self._write_fd, data)
            data = data[written:]

    def receive(self) -> dict[str, Any]:
        """Block until one whole frame has arrived."""
        while True:
            try:
                message = self._decoder.next()
            except ProtocolError as exc:
                raise TransportError(str(exc)) from None
            if message is not None:
                return message
            chunk = os.read(self._read_fd, 65536)
            if not chunk:
                raise TransportError("control pipe closed by the host")
            self._decoder.feed(chunk)

    def call(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Send a `call` frame and wait for the matching `reply`."""
        with self._lock:
            self._next_id += 1
            call_id = self._next_id
            self.send({"op": "call", "id": call_id, "name": name, "args": args})
            reply = self.receive()
        if reply.get("op") != "reply" or reply.get("id") != call_id:
            raise TransportError(f"unexpected frame from host: {reply.get('op')!r}")
        if not reply.get("ok"):
            raise_for_error(reply.get("error") or {})
        result = reply.get("result")
        return result if isinstance(result, dict) else {}
