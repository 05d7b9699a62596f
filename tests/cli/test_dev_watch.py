"""The dev loop's watcher: live at once, then one wake-up per saved change (OS events or ~100 ms polling)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from chalicelib.publisher_cli.dev import watch_changes


@pytest.mark.parametrize("poll", [False, True], ids=["watchfiles", "polling"])
def test_the_watcher_wakes_for_a_save_within_a_fraction_of_a_second(tmp_path: Path, poll: bool) -> None:
    (tmp_path / "handler.py").write_text("v1")
    stop = threading.Event()
    woke: list[float] = []

    def run() -> None:
        for _ in watch_changes(tmp_path, stop, poll=poll):
            woke.append(time.perf_counter())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not woke:  # the first wake-up says the watcher is live
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.2)
    saved = time.perf_counter()
    (tmp_path / "handler.py").write_text("v2")
    while len(woke) < 2:
        assert time.monotonic() < deadline, woke
        time.sleep(0.005)
    latency = woke[1] - saved
    print(f"save -> watcher wakes ({'polling' if poll else 'watchfiles'}): {latency * 1000:.0f} ms")
    assert latency < 0.5, latency
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
