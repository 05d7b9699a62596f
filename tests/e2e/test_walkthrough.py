"""`make run` as a user leaves it: Ctrl-C stops every process it started and frees its ports.

Runs last in the session (``stops_make_run``): it stops the `make run` every other e2e test shares, after
they have walked the README and the docs' examples on it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from .conftest import MakeRun


def children_of(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,pgid="], capture_output=True, text=True).stdout
    rows = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    kids, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp, _ in rows if pp in frontier} - kids
        kids |= frontier
    return kids


@pytest.mark.stops_make_run
def test_ctrl_c_stops_every_process_make_run_started(make_run: MakeRun) -> None:
    proc = make_run.proc
    # Still serving after every other test used it: the seeded marketplace answers.
    listing = httpx.get(f"{make_run.api}/api/plugins/list", headers={"Authorization": f"Bearer {make_run.key}"})
    assert {"hello-world", "slack-notifier", "task-summarizer"} <= {p["plugin_id"] for p in listing.json()["items"]}

    kids = children_of(proc.pid)
    assert len(kids) >= 4  # moto, the API, the live server and the workers (and their sandboxes)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (children_of(proc.pid) or any(_alive(k) for k in kids)):
        time.sleep(0.1)
    assert not [k for k in kids if _alive(k)], "child processes outlived Ctrl-C"
    # Nothing listens any more (bind() would be fooled by TIME_WAIT, so connect instead).
    assert not _listening(make_run.api_port) and not _listening(make_run.moto_port)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0
