"""Unit tests of the Task Summarizer with the test kit: ``python -m pytest`` or ``python -m unittest`` here."""

import unittest
from pathlib import Path

import summarize
from plugyard_runtime import PermissionDenied
from plugyard_runtime.testing import FakeContext, make_event

MANIFEST = Path(__file__).with_name("plugyard.json")
TASK = {"task_id": "t1", "title": "Write the quarterly report", "annotations": [{"plugin": "other", "n": 1}]}


def assistant(args):
    """A stand-in for the workspace's assistant: a long answer, to check the word limit."""
    return {"text": "A report for the board, " + "with many more words " * 50}


class SummarizerTest(unittest.TestCase):
    def test_annotates_the_completed_task_within_the_word_limit(self):
        ctx = FakeContext.for_manifest(MANIFEST, config={"max_words": 10}, tasks={"t1": TASK}, ai=assistant)
        out = summarize.on_completed(make_event("task.completed", {"task_id": "t1", "result": {"pages": 3}}), ctx)
        self.assertEqual(len(out["summary"].split()), 10)
        annotations = ctx.task_data["t1"]["annotations"]
        self.assertEqual(annotations[0], {"plugin": "other", "n": 1})
        self.assertEqual(annotations[1], {"plugin": "task-summarizer", "summary": out["summary"]})
        self.assertEqual(ctx.storage_data["summary:t1"], out["summary"])
        [(_, args)] = [c for c in ctx.calls if c[0] == "ai.complete"]
        self.assertIn("Write the quarterly report", args["prompt"])
        self.assertIn("outcome", args["prompt"])

    def test_main_answers_the_summary_and_leaves_the_task_alone(self):
        ctx = FakeContext.for_manifest(MANIFEST, tasks={"t1": TASK}, ai=assistant)
        out = summarize.main({"task_id": "t1"}, ctx)
        self.assertEqual(out["task_id"], "t1")
        self.assertEqual(len(out["summary"].split()), 80)  # the default max_words
        self.assertEqual(ctx.task_data["t1"]["annotations"], TASK["annotations"])

    def test_an_unknown_task_fails_with_its_id(self):
        ctx = FakeContext.for_manifest(MANIFEST, ai=assistant)
        with self.assertRaisesRegex(LookupError, "nope"):
            summarize.main({"task_id": "nope"}, ctx)

    def test_without_ai_complete_the_platform_refuses(self):
        granted = ["tasks:read", "tasks:write", "storage:read", "storage:write"]
        ctx = FakeContext.for_manifest(MANIFEST, granted=granted, tasks={"t1": TASK}, ai=assistant)
        with self.assertRaises(PermissionDenied):
            summarize.main({"task_id": "t1"}, ctx)


if __name__ == "__main__":
    unittest.main()
