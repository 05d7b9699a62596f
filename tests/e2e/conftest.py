"""The e2e tests share the session's `make run` (tests/make_run_stack.py, registered by tests/conftest.py)."""

from __future__ import annotations

from make_run_stack import BANNER_END, DEV_KEY, README, START, MakeRun

__all__ = ["BANNER_END", "DEV_KEY", "README", "START", "MakeRun"]
