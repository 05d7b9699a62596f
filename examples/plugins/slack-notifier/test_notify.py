"""Unit tests of the Slack Notifier with the test kit: ``python -m pytest`` or ``python -m unittest`` here."""

import json
import unittest
from pathlib import Path

import notify
from plugyard_runtime import PermissionDenied
from plugyard_runtime.testing import FakeContext, make_event

MANIFEST = Path(__file__).with_name("plugyard.json")
HOOK = "https://hooks.slack.com/services/T000/B000/XXXX"
TASKS = {"t1": {"task_id": "t1", "title": "deploy api"}}


class Slack:
    """Answers like Slack's incoming webhook and remembers what was posted."""

    def __init__(self, status=200):
        self.status = status
        self.posts = []

    def __call__(self, args):
        self.posts.append(args)
        return {"status": self.status, "headers": {}, "body": "ok" if self.status == 200 else "no_service"}


def context(slack, **config):
    return FakeContext.for_manifest(
        MANIFEST, config={"channel": "#ops", "webhook_url": HOOK, **config}, tasks=TASKS, http=slack
    )


class NotifierTest(unittest.TestCase):
    def test_posts_one_message_per_completed_or_failed_task(self):
        slack = Slack()
        ctx = context(slack)
        notify.handle(make_event("task.completed", {"task_id": "t1"}), ctx)
        notify.handle(make_event("task.failed", {"task_id": "t1"}), ctx)
        self.assertEqual([p["url"] for p in slack.posts], [HOOK, HOOK])
        self.assertEqual(
            [json.loads(p["body"])["text"] for p in slack.posts],
            ["#ops: task 'deploy api' completed", "#ops: task 'deploy api' failed"],
        )

    def test_only_failures_stays_quiet_on_completed_tasks(self):
        slack = Slack()
        out = notify.handle(make_event("task.completed", {"task_id": "t1"}), context(slack, only_failures=True))
        self.assertIsNone(out["posted"])
        self.assertEqual(slack.posts, [])

    def test_a_refusal_from_slack_fails_the_invocation(self):
        with self.assertRaisesRegex(RuntimeError, "Slack answered 404"):
            notify.handle(make_event("task.failed", {"task_id": "t1"}), context(Slack(404)))

    def test_only_the_hosts_of_the_manifest_are_reachable(self):
        # The platform refuses a URL outside http.allowed_hosts, whatever the admin configured.
        ctx = context(Slack(), webhook_url="https://evil.example.com/hook")
        with self.assertRaises(PermissionDenied):
            notify.handle(make_event("task.failed", {"task_id": "t1"}), ctx)

    def test_without_a_webhook_url_it_says_what_to_set(self):
        ctx = FakeContext.for_manifest(MANIFEST, config={"channel": "#ops"}, tasks=TASKS)
        with self.assertRaisesRegex(ValueError, "webhook_url"):
            notify.handle(make_event("task.failed", {"task_id": "t1"}), ctx)


if __name__ == "__main__":
    unittest.main()
