"""Unit tests of the Task Counter with the test kit: ``python -m pytest`` or ``python -m unittest`` here."""

import unittest
from pathlib import Path

import count
from plugyard_runtime import PermissionDenied
from plugyard_runtime.testing import FakeContext, make_event

MANIFEST = Path(__file__).with_name("plugyard.json")


def event(kind, day, event_id):
    e = make_event(f"task.{kind}", {"task_id": f"task-{event_id}"}, event_id=event_id)
    e["time"] = f"{day}T10:00:00.000000Z"
    return e


class CounterTest(unittest.TestCase):
    def test_counts_completed_and_failed_tasks_per_day(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        for e in [
            event("completed", "2026-12-01", "E1"),
            event("completed", "2026-12-02", "E2"),
            event("completed", "2026-12-02", "E3"),
            event("failed", "2026-12-02", "E4"),
        ]:
            count.on_task_event(e, ctx)
        self.assertEqual(
            count.main({"today": "2026-12-02"}, ctx),
            {
                "completed": 3,
                "failed": 1,
                "by_day": {"2026-12-02": {"completed": 2, "failed": 1}, "2026-12-01": {"completed": 1, "failed": 0}},
            },
        )
        self.assertEqual(count.main({"today": "2026-12-02", "days": 1}, ctx)["completed"], 2)

    def test_an_event_delivered_twice_counts_once(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        e = event("completed", "2026-12-02", "E1")
        count.on_task_event(e, ctx)
        count.on_task_event(e, ctx)
        self.assertEqual(count.main({"today": "2026-12-02"}, ctx)["completed"], 1)

    def test_keys_are_ones_the_platform_accepts(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        # A real event id is a ULID; the kit refuses a key the host would refuse, as the host does.
        count.on_task_event(make_event("task.failed", {"task_id": "t"}), ctx)
        self.assertEqual(len(ctx.storage_data), 1)

    def test_other_events_and_bad_ranges_fail_loudly(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        with self.assertRaises(ValueError):
            count.on_task_event(make_event("task.created", {"task_id": "t"}), ctx)
        with self.assertRaises(ValueError):
            count.main({"days": 90}, ctx)

    def test_without_storage_write_nothing_is_recorded(self):
        ctx = FakeContext.for_manifest(MANIFEST, granted=["storage:read"])
        with self.assertRaises(PermissionDenied):
            count.on_task_event(event("completed", "2026-12-02", "E1"), ctx)


if __name__ == "__main__":
    unittest.main()
