"""Nothing a plugin forks outlives its invocation: the warm worker is the sandbox's only process afterwards."""

from __future__ import annotations

import pytest

from .conftest import Invoke, PluginFactory

# Appended to every plugin below: without {"attack": true} the handler lists the sandbox's processes.
PROCESSES = """

def handler(event, ctx):
    if event.get("attack"):
        return attack(event, ctx)
    import os
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    return {"pids": pids, "self": os.getpid()}
"""

FORK = """
import os, time
def attack(event, ctx):
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    return {"child": pid}
"""

DOUBLE_FORK = """
import os, time
def attack(event, ctx):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    os.waitpid(pid, 0)  # the grandchild is now an orphan, detached from the handler
    return {"child": pid}
"""

FORK_BOMB = """
import os, time
def attack(event, ctx):
    children = 0
    try:
        while True:
            if os.fork() == 0:
                while True:
                    try:
                        os.fork()
                    except OSError:
                        time.sleep(0.01)
            children += 1
    except OSError as exc:
        return {"children": children, "error": type(exc).__name__}
"""


@pytest.mark.parametrize(("name", "source"), [("fork", FORK), ("double-fork", DOUBLE_FORK), ("fork-bomb", FORK_BOMB)])
def test_only_the_worker_survives_an_invocation(name: str, source: str, plugin: PluginFactory, invoke: Invoke) -> None:
    code = plugin(source + PROCESSES)
    installation = f"reap-{name}"
    attack = invoke(code, {"attack": True}, installation=installation, max_processes=32)
    assert attack.status == "succeeded", attack
    after = invoke(code, {}, installation=installation, max_processes=32)
    assert after.status == "succeeded" and not after.cold_start, after
    # The same warm worker answers, and it is the only process left in its pid namespace.
    assert after.result == {"pids": [1], "self": 1}, after.result
