"""The handler contract: `handler(event, ctx) -> dict | None`, named "module:function" in the manifest."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~5 ms per cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeAlias

    from .context import PluginContext

    Handler: TypeAlias = Callable[[dict[str, Any], PluginContext], "dict[str, Any] | None"]

__all__ = ["Handler", "load_entrypoint"]


def load_entrypoint(entrypoint: str) -> Handler:
    """Import "package.module:function" and return the function (ValueError if malformed)."""
    module_name, sep, attr = entrypoint.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"entrypoint must look like 'module:function', got {entrypoint!r}")
    __import__(module_name)  # importlib.import_module would import the importlib package first
    target: Any = sys.modules[module_name]
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"entrypoint {entrypoint!r} is not callable")
    handler: Handler = target
    return handler
