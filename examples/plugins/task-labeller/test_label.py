"""Unit tests of the Task Labeller with the test kit: ``python -m pytest`` or ``python -m unittest`` here."""

import json
import unittest
from pathlib import Path

import label
from plugyard_runtime import PermissionDenied
from plugyard_runtime.testing import FakeContext, make_event

MANIFEST = Path(__file__).with_name("plugyard.json")
TASK = {"task_id": "t1", "title": "Fix the crash in the release script", "annotations": [{"plugin": "other", "x": 1}]}


def completed(task_id="t1"):
    return make_event("task.completed", {"task_id": task_id, "title": "…", "status": "completed"})


class LabellerTest(unittest.TestCase):
    def test_labels_a_completed_task_and_keeps_other_plugins_annotations(self):
        ctx = FakeContext.for_manifest(MANIFEST, tasks={"t1": TASK})
        out = label.on_completed(completed(), ctx)
        self.assertEqual(out, {"task_id": "t1", "labels": ["bug", "release"], "changed": True})
        self.assertEqual(
            ctx.task_data["t1"]["annotations"],
            [{"plugin": "other", "x": 1}, {"plugin": "task-labeller", "labels": ["bug", "release"]}],
        )

    def test_a_second_delivery_of_the_same_event_writes_nothing(self):
        ctx = FakeContext.for_manifest(MANIFEST, tasks={"t1": TASK})
        label.on_completed(completed(), ctx)
        writes = len([c for c in ctx.calls if c[0] == "tasks.update"])
        self.assertEqual(label.on_completed(completed(), ctx)["changed"], False)
        self.assertEqual(len([c for c in ctx.calls if c[0] == "tasks.update"]), writes)

    def test_the_installations_rules_replace_the_default_ones(self):
        ctx = FakeContext.for_manifest(MANIFEST, config={"rules": {"finance": ["invoice", "budget"]}})
        self.assertEqual(label.main({"title": "Send the invoice"}, ctx), {"labels": ["finance"]})
        self.assertEqual(label.main({"title": "Fix the bug"}, ctx), {"labels": []})

    def test_the_manifest_shows_the_rules_the_code_uses_by_default(self):
        schema = json.loads(MANIFEST.read_text())["config_schema"]
        self.assertEqual(schema["properties"]["rules"]["default"], label.DEFAULT_RULES)

    def test_a_task_that_is_gone_is_left_alone(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        self.assertEqual(label.on_completed(completed("gone"), ctx)["labels"], None)
        self.assertNotIn("tasks.update", [name for name, _ in ctx.calls])

    def test_without_tasks_write_the_platform_refuses_the_update(self):
        ctx = FakeContext.for_manifest(MANIFEST, granted=["tasks:read"], tasks={"t1": TASK})
        with self.assertRaises(PermissionDenied):
            label.on_completed(completed(), ctx)


if __name__ == "__main__":
    unittest.main()
