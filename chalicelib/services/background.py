"""Reads started ahead of the moment their answer is needed, on a small pool shared by one service."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["BackgroundReads"]

P = ParamSpec("P")
T = TypeVar("T")


class BackgroundReads:
    """A lazily started thread pool for storage reads that overlap a request's other round trips.

    The threads start with the first read, so a process that never asks for one (a CLI, a worker of another
    queue) starts none; the pool is built once, under a lock, however many threads ask at once.
    """

    def __init__(self, name: str, max_workers: int = 4) -> None:
        self._name = name
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` on the pool; its result or exception comes back through the future."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix=self._name)
            return self._pool.submit(fn, *args, **kwargs)
