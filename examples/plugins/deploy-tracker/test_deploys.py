"""Unit tests of the Deploy Tracker with the test kit: ``python -m pytest`` or ``python -m unittest`` here."""

import unittest
from pathlib import Path

import deploys
from plugyard_runtime import PermissionDenied
from plugyard_runtime.testing import FakeContext, make_event

MANIFEST = Path(__file__).with_name("plugyard.json")


def deployed(payload, event_id=None):
    """The event a call of the installation's ``deployed`` trigger becomes."""
    data = {"installation_id": "inst-1", "trigger": "deployed", "payload": payload}
    return make_event("plugin.deploy-tracker.trigger.deployed", data, source="plugyard.trigger", event_id=event_id)


class DeployTrackerTest(unittest.TestCase):
    def test_records_each_deploy_and_announces_it_with_the_previous_version(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        deploys.on_deployed(deployed({"service": "api", "version": "1.4.1"}), ctx)
        out = deploys.on_deployed(deployed({"service": "api", "version": "1.4.2"}), ctx)
        self.assertEqual(out["previous"], "1.4.1")
        self.assertEqual(
            ctx.emitted,
            [
                (
                    "plugin.deploy-tracker.deployed",
                    {"service": "api", "version": "1.4.1", "environment": "production", "previous": None},
                ),
                (
                    "plugin.deploy-tracker.deployed",
                    {"service": "api", "version": "1.4.2", "environment": "production", "previous": "1.4.1"},
                ),
            ],
        )
        shown = deploys.main({}, ctx)
        self.assertEqual(shown["services"]["api"]["version"], "1.4.2")
        self.assertEqual(shown["services"]["api"]["previous"], "1.4.1")

    def test_environments_are_kept_apart(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        deploys.on_deployed(deployed({"service": "api", "version": "2.0.0", "environment": "staging"}), ctx)
        self.assertEqual(deploys.main({}, ctx)["services"], {})
        self.assertEqual(list(deploys.main({"environment": "staging"}, ctx)["services"]), ["api"])

    def test_the_same_trigger_event_twice_is_recorded_and_announced_once(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        e = deployed({"service": "api", "version": "1.0.0"})
        deploys.on_deployed(e, ctx)
        self.assertTrue(deploys.on_deployed(e, ctx)["duplicate"])
        self.assertEqual(len(ctx.emitted), 1)

    def test_a_malformed_call_fails_with_the_reason(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        with self.assertRaisesRegex(ValueError, "version"):
            deploys.on_deployed(deployed({"service": "api"}), ctx)
        with self.assertRaisesRegex(ValueError, "service"):
            deploys.on_deployed(deployed({"service": "../etc", "version": "1"}), ctx)
        self.assertEqual(ctx.emitted, [])

    def test_without_events_emit_the_announcement_is_refused(self):
        ctx = FakeContext.for_manifest(MANIFEST, granted=["storage:read", "storage:write"])
        with self.assertRaises(PermissionDenied):
            deploys.on_deployed(deployed({"service": "api", "version": "1.0.0"}), ctx)


if __name__ == "__main__":
    unittest.main()
