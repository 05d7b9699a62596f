"""`plugyard events tail` against `make run`: the workspace's events as they happen, over the live WebSocket."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
from make_run_stack import MakeRun


def test_events_tail_prints_a_new_event_as_json_lines(
    plugyard_bin: Path, user_home: Path, make_run: MakeRun, tmp_path: Path
) -> None:
    # No PLUGYARD_LIVE_URL: the CLI asks the API where the socket is, as the console does.
    assert re.search(r"Live events\s+ws://\S+/\?ticket=", make_run.banner), make_run.banner
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGYARD_", "PYTHONPATH", "XDG_"))}
    env.update(
        {
            "HOME": str(user_home),
            "PLUGYARD_API_URL": make_run.api,
            "PLUGYARD_API_KEY": make_run.key,
        }
    )
    proc = subprocess.Popen(
        [str(plugyard_bin), "events", "tail", "--type", "task.*", "--json"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    err: list[str] = []
    threading.Thread(target=lambda: out.extend(proc.stdout or []), daemon=True).start()
    threading.Thread(target=lambda: err.extend(proc.stderr or []), daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not any("tailing" in line for line in err):
            assert proc.poll() is None and time.monotonic() < deadline, (out, err)
            time.sleep(0.05)
        api = httpx.Client(base_url=make_run.api, headers={"Authorization": f"Bearer {make_run.key}"}, timeout=30)
        task_id = api.post("/api/tasks", json={"title": "seen by events tail"}).json()["task_id"]
        deadline = time.monotonic() + 30
        while not any(task_id in line for line in out):
            assert time.monotonic() < deadline, (out, err)
            time.sleep(0.05)
        events = [json.loads(line) for line in out]
        [created] = [e for e in events if e["data"].get("task_id") == task_id]
        assert created["type"] == "task.created" and created["workspace_id"] == "demo"
        assert all(e["type"].startswith("task.") for e in events)  # the --type filter
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0, err
