"""Hostile-plugin fixtures: one publisher, reviewer and consumer workspace per session on the local stack."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from plugin_harness import Harness

from chalicelib.local.stack import LocalStack

if shutil.which("bwrap") is None:
    pytest.skip("bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap", allow_module_level=True)


@pytest.fixture(scope="session")
def harness(stack: LocalStack, operator: Any) -> Iterator[Harness]:
    h = Harness(stack, operator)
    yield h
    h.close()
