"""The shared pool of read-ahead work: one pool however many threads start it, results and errors delivered."""

from __future__ import annotations

import threading

import pytest

from chalicelib.services.background import BackgroundReads


def test_concurrent_first_reads_share_one_pool_of_the_given_size() -> None:
    reads = BackgroundReads("test-read", max_workers=2)
    barrier = threading.Barrier(8)
    names: set[str] = set()
    lock = threading.Lock()

    def read(i: int) -> int:
        with lock:
            names.add(threading.current_thread().name)
        return i * i

    futures: list[object] = []

    def start(i: int) -> None:
        barrier.wait()
        futures.append(reads.submit(read, i))

    starters = [threading.Thread(target=start, args=(i,)) for i in range(8)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    assert sorted(f.result(timeout=5) for f in futures) == [i * i for i in range(8)]  # type: ignore[attr-defined]
    assert names and all(n.startswith("test-read") for n in names)
    assert len(names) <= 2


def test_a_failing_read_raises_where_its_answer_is_taken() -> None:
    reads = BackgroundReads("test-fail")

    def missing(key: str) -> None:
        raise KeyError(key)

    future = reads.submit(missing, "ws-1")
    with pytest.raises(KeyError, match="ws-1"):
        future.result(timeout=5)
