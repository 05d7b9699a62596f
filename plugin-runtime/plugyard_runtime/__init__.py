"""Plugyard plugin runtime: `handler(event, ctx) -> dict | None` with `ctx` a `PluginContext`.

Kept import-light (stdlib only, lazy submodules) because the sandbox imports it on every cold start.
"""

from __future__ import annotations

from ._errors import CapabilityError, PermissionDenied, PluginRuntimeError, TransportError
from .context import PluginContext
from .transport import PipeTransport, Transport

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~5 ms per cold start
if TYPE_CHECKING:
    from typing import Any

    from .http_transport import HttpTransport
    from .lambda_bootstrap import lambda_handler

__all__ = [
    "CapabilityError",
    "HttpTransport",
    "PermissionDenied",
    "PipeTransport",
    "PluginContext",
    "PluginRuntimeError",
    "Transport",
    "TransportError",
    "lambda_handler",
]


def __getattr__(name: str) -> Any:
    # The HTTP client (urllib) is only needed on Lambda; do not pay for it in the sandbox.
    if name == "lambda_handler":
        from .lambda_bootstrap import lambda_handler

        return lambda_handler
    if name == "HttpTransport":
        from .http_transport import HttpTransport

        return HttpTransport
    raise AttributeError(f"module 'plugyard_runtime' has no attribute {name!r}")
