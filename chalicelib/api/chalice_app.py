"""A Chalice app whose per-request state is thread-local.

Chalice keeps ``current_request`` on the app object. On Lambda one process serves one request at a
time, but the local production server runs requests on threads: a shared attribute would let one
request read another's headers (and so another workspace's key). Thread-local storage keeps the
Lambda behaviour and makes concurrent local serving safe.
"""

from __future__ import annotations

import threading
from typing import Any

from chalice.app import Chalice

__all__ = ["ThreadSafeChalice"]


class ThreadSafeChalice(Chalice):
    """Chalice with thread-local ``current_request`` and ``lambda_context``."""

    def _tls(self) -> threading.local:
        tls = self.__dict__.get("_tls_state")
        if tls is None:
            tls = self.__dict__.setdefault("_tls_state", threading.local())
        return tls  # type: ignore[no-any-return]

    @property  # type: ignore[override]
    def current_request(self) -> Any:
        return getattr(self._tls(), "request", None)

    @current_request.setter
    def current_request(self, value: Any) -> None:
        self._tls().request = value

    @property  # type: ignore[override]
    def lambda_context(self) -> Any:
        return getattr(self._tls(), "context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._tls().context = value
