"""`plugyard dev DIR` against `make run`: upload, watch, re-upload on every change, stream the runs, stop cleanly.

The figure that matters is printed: how long after a file is saved the next invocation runs the new code.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from make_run_stack import MakeRun

HANDLER = """def main(event, ctx):
    print("saying {word}")
    return {{"message": "{word}, " + event.get("name", "world") + "!"}}
"""


class DevProcess:
    """A running `plugyard dev`, its stderr read line by line as it comes."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, *, after: int = 0, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                found = re.search(pattern, line)
                if found:
                    return found
            assert self.proc.poll() is None, "\n".join(self.lines)
            time.sleep(0.02)
        raise AssertionError(f"no {pattern!r} in:\n" + "\n".join(self.lines))


def write_plugin(folder: Path, plugin_id: str, word: str, **manifest: Any) -> None:
    folder.mkdir(exist_ok=True)
    man = {
        "id": plugin_id,
        "name": "Dev loop",
        "version": "0.1.0",
        "publisher": "acme",
        "description": "Tried with plugyard dev.",
        "entrypoints": {"main": "handler:main"},
        "resources": {"memory_mb": 64, "timeout_s": 5},
        **manifest,
    }
    (folder / "plugyard.json").write_text(json.dumps(man, indent=2))
    (folder / "handler.py").write_text(HANDLER.format(word=word))


@pytest.fixture
def dev_run(plugyard_bin: Path, user_home: Path, make_run: MakeRun, tmp_path: Path) -> Iterator[Any]:
    started: list[DevProcess] = []

    def start(folder: Path, *args: str) -> DevProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGYARD_", "PYTHONPATH", "XDG_"))}
        env.update({"HOME": str(user_home), "PLUGYARD_API_URL": make_run.api, "PLUGYARD_API_KEY": make_run.key})
        proc = subprocess.Popen(
            [str(plugyard_bin), "dev", str(folder), *args],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(DevProcess(proc))
        return started[-1]

    yield start
    for dev in started:
        if dev.proc.poll() is None:
            dev.proc.kill()
            dev.proc.wait(timeout=10)


def invoke(api: httpx.Client, installation_id: str, **body: Any) -> dict[str, Any]:
    resp = api.post(f"/api/installations/{installation_id}/invoke", json={"payload": {"name": "Ada"}, **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_a_saved_change_runs_on_the_next_invocation_within_a_second(
    dev_run: Any, make_run: MakeRun, tmp_path: Path
) -> None:
    folder, plugin_id = tmp_path / "plugin", f"dev-{uuid.uuid4().hex[:8]}"
    write_plugin(folder, plugin_id, "Hello")
    dev = dev_run(folder, "--invoke", '{"name": "Ada"}')
    installation_id = dev.wait_for(r"installed .* installation (\w+)").group(1)
    dev.wait_for(r"granted, in this workspace only")
    dev.wait_for(r"→ succeeded: .*Hello, Ada!")  # --invoke
    dev.wait_for(r"│ saying Hello")  # the invocation's log, streamed
    dev.wait_for(r"watching")
    api = httpx.Client(base_url=make_run.api, headers={"Authorization": f"Bearer {make_run.key}"}, timeout=30)

    figures = []
    for word in ("Howdy", "Hi", "Ciao", "Salut", "Hej"):
        mark = len(dev.lines)
        saved = time.perf_counter()
        (folder / "handler.py").write_text(HANDLER.format(word=word))
        while not invoke(api, installation_id)["result"]["message"].startswith(word):
            assert time.perf_counter() - saved < 10, "\n".join(dev.lines)
            # Under the installation's invoke rate (10/s, shared with dev's own --invoke after each upload): a
            # faster poll met 429 once invocations got quick.
            time.sleep(0.15)
        figures.append(time.perf_counter() - saved)
        dev.wait_for(rf"→ succeeded: .*{word}, Ada!", after=mark)
    figures.sort()
    uploads = [int(m) for line in dev.lines for m in re.findall(r"updated .* in (\d+) ms", line)]
    print(
        "save -> next invocation runs the new code (plugyard dev): "
        f"median {figures[len(figures) // 2] * 1000:.0f} ms, max {figures[-1] * 1000:.0f} ms; "
        f"package+check+upload {sorted(uploads)} ms; load average {os.getloadavg()[0]:.1f}"
    )
    # Well under a second on a quiet machine; the bound leaves room for a loaded one (the suite shares 2 cores).
    assert figures[len(figures) // 2] < 4.0, figures

    # The development version is nowhere in the marketplace, and is marked in the installation list.
    assert api.get("/api/plugins/list", params={"query": plugin_id}).json()["items"] == []
    assert api.get(f"/api/plugins/{plugin_id}").status_code == 404
    listed = [i for i in api.get("/api/installations").json()["items"] if i["installation_id"] == installation_id]
    assert [i["development"] for i in listed] == [True]

    # Ctrl-C: a clean stop that says the installation stays.
    dev.proc.send_signal(signal.SIGINT)
    assert dev.proc.wait(timeout=20) == 0, "\n".join(dev.lines)
    dev._reader.join(timeout=5)
    assert any(f"development installation {installation_id} stays" in line for line in dev.lines), dev.lines
    assert api.get(f"/api/installations/{installation_id}").status_code == 200
    api.delete(f"/api/installations/{installation_id}")


def test_manifest_changes_apply_and_an_invalid_folder_keeps_the_loop_watching(
    dev_run: Any, make_run: MakeRun, tmp_path: Path
) -> None:
    folder, plugin_id = tmp_path / "plugin", f"dev-{uuid.uuid4().hex[:8]}"
    write_plugin(folder, plugin_id, "Hello")
    dev = dev_run(folder, "--uninstall-on-exit")
    installation_id = dev.wait_for(r"installed .* installation (\w+)").group(1)
    dev.wait_for(r"watching")
    api = httpx.Client(base_url=make_run.api, headers={"Authorization": f"Bearer {make_run.key}"}, timeout=30)

    # A manifest change: a new entry point and a scope, applied by the next upload.
    mark = len(dev.lines)
    (folder / "handler.py").write_text(
        HANDLER.format(word="Hello") + "\ndef count(event, ctx):\n    ctx.storage.put('n', 1)\n    return {'n': 1}\n"
    )
    man = json.loads((folder / "plugyard.json").read_text())
    man.update(entrypoints={"main": "handler:main", "count": "handler:count"}, permissions=["storage:write"])
    (folder / "plugyard.json").write_text(json.dumps(man))
    deadline = time.monotonic() + 15
    while True:  # 422 (no such entry point) until the new manifest is uploaded
        resp = api.post(f"/api/installations/{installation_id}/invoke", json={"entrypoint": "count", "payload": {}})
        if resp.status_code == 200 and resp.json()["status"] == "succeeded":
            break
        assert time.monotonic() < deadline, "\n".join(dev.lines)
        time.sleep(0.05)
    dev.wait_for(r"updated", after=mark)

    # Broken code: said, not uploaded; the last good upload keeps running; fixing it uploads again.
    mark = len(dev.lines)
    (folder / "handler.py").write_text("def main(event, ctx):\n    return {\n")
    dev.wait_for(r"not uploaded: the folder is invalid", after=mark)
    dev.wait_for(r"handler.py", after=mark)
    assert invoke(api, installation_id)["result"]["message"] == "Hello, Ada!"
    # A broken manifest likewise, with its JSON pointer.
    mark = len(dev.lines)
    (folder / "handler.py").write_text(HANDLER.format(word="Fixed"))
    (folder / "plugyard.json").write_text(json.dumps({**man, "version": "one"}))
    dev.wait_for(r"/version", after=mark)
    mark = len(dev.lines)
    (folder / "plugyard.json").write_text(json.dumps(man))
    dev.wait_for(r"updated", after=mark)
    assert invoke(api, installation_id)["result"]["message"] == "Fixed, Ada!"

    dev.proc.send_signal(signal.SIGINT)
    assert dev.proc.wait(timeout=20) == 0, "\n".join(dev.lines)
    dev._reader.join(timeout=5)
    assert any("uninstalled" in line for line in dev.lines), dev.lines
    assert api.get(f"/api/installations/{installation_id}").status_code == 404
