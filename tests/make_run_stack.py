"""One `make run` for the whole session: the stack the README tells a reader to start, shared by every test
that needs it (tests/e2e, tests/cli).

Starting it (moto, the template's resources, API, live server, workers, the seeded marketplace) is the
slowest thing the suite does, so the README walkthrough, the curl examples of docs/, the CLI tests and the
Ctrl-C test all use this one process. The test that stops it (marked ``stops_make_run``) runs right after the
last one using it. tests/conftest.py registers the fixture and the ordering hook for the whole suite.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.local.stack import free_port

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# The README's start command; the test adds only free ports, so it never collides with a real `make run`.
START = "PLUGYARD_DEV_API_KEY=pyk_dev_walkthrough PLUGYARD_WEBHOOKS_ALLOW_PRIVATE=true make run"
DEV_KEY = "pyk_dev_walkthrough"
BANNER_END = "Ctrl-C stops every process"


@dataclass
class MakeRun:
    """The running `make run` and what its banner printed."""

    proc: subprocess.Popen[str]
    banner: str
    api: str  # the API base the banner gives
    key: str  # the demo workspace's admin key
    reviewer: str  # the platform workspace's reviewer key
    api_port: int
    moto_port: int
    moto_url: str
    output: list[str]  # everything the stack printed after the banner (its processes' logs), kept being read


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The documents' examples run first on the shared stack: their answers show the state `make run` seeds
    # (the marketplace, the review queue), which the CLI, console and example tests add to.
    documents = [item for item in items if item.nodeid.startswith("tests/e2e/test_docs.py")]
    items[:] = documents + [item for item in items if item not in documents]
    # The test that stops the shared make run runs right after the last test that uses it: not before (they
    # need it), and not at the end of the session, so its pollers do not load the machine under later tests.
    stopping = [item for item in items if item.get_closest_marker("stops_make_run")]
    rest = [item for item in items if item not in stopping]
    users = [i for i, item in enumerate(rest) if "make_run" in getattr(item, "fixturenames", ())]
    at = users[-1] + 1 if users else len(rest)
    items[:] = rest[:at] + stopping + rest[at:]


def banner_value(label: str, text: str) -> str:
    """A value the banner prints on its ``  <label>   <value>`` line."""
    found = re.search(rf"^  {label}\s+(\S+)", text, re.M)
    if not found:
        raise RuntimeError(f"no {label!r} in make run's banner:\n{text}")
    return found.group(1)


@contextmanager
def running_stack(settings: dict[str, str], *, wait_s: float) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """``python -m chalicelib.local.stack`` (what ``make run`` runs) with ``settings`` as its only PLUGYARD_
    variables, until its banner: yields the process, the banner, and the output it writes after (read all the
    while: a full pipe would block the stack); stopped with Ctrl-C at the end, killed if it does not stop."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLUGYARD_")},
        **settings,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugin-runtime")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local.stack"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    stdout = proc.stdout
    try:
        lines: list[str] = []
        deadline = time.monotonic() + wait_s
        while BANNER_END not in "".join(lines[-1:]):
            line = stdout.readline()
            if not line and proc.poll() is not None:
                raise RuntimeError("make run exited early:\n" + "".join(lines))
            if time.monotonic() > deadline:
                raise RuntimeError(f"no banner within {wait_s:.0f} s:\n" + "".join(lines))
            lines.append(line)
        output: list[str] = []
        threading.Thread(target=lambda: output.extend(iter(stdout.readline, "")), daemon=True).start()
        yield proc, "".join(lines), output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="session")
def make_run() -> Iterator[MakeRun]:
    """``python -m chalicelib.local.stack`` (what ``make run`` runs) with the README's environment."""
    assert f"```bash\n{START}\n```" in README, "the README's start command changed; update tests/e2e/conftest.py"
    api_port, moto_port = free_port(), free_port()
    settings = {
        "PLUGYARD_PORT": str(api_port),
        "PLUGYARD_MOTO_PORT": str(moto_port),
        "PLUGYARD_LIVE_PORT": str(free_port()),
        "PLUGYARD_DEV_API_KEY": DEV_KEY,
        "PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "true",
        # Not in the README's command: lets the example notifier's ctx.http.fetch reach a receiver on loopback
        # (tests/e2e/test_examples.py); no document shows a fetch being refused for its address.
        "PLUGYARD_HTTP_FETCH_ALLOW_PRIVATE": "true",
    }
    with running_stack(settings, wait_s=150) as (proc, text, output):  # a loaded 2-core machine seeds slowly
        yield MakeRun(
            proc=proc,
            banner=text,
            api=banner_value("API", text),
            key=banner_value("Admin API key", text),
            reviewer=banner_value("Reviewer key", text),
            api_port=api_port,
            moto_port=moto_port,
            moto_url=banner_value("Local AWS", text),
            output=output,
        )
