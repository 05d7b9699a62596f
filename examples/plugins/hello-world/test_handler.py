"""Unit tests of Hello World with the test kit: ``python -m pytest`` or ``python -m unittest`` here."""

import unittest
from pathlib import Path

import handler
from plugyard_runtime import PermissionDenied
from plugyard_runtime.testing import FakeContext

MANIFEST = Path(__file__).with_name("plugyard.json")


class HelloWorldTest(unittest.TestCase):
    def test_greets_with_the_configured_greeting(self):
        ctx = FakeContext.for_manifest(MANIFEST, config={"greeting": "Hi"})
        self.assertEqual(handler.main({"name": "Ada"}, ctx), {"message": "Hi, Ada!"})

    def test_defaults_to_hello_world(self):
        self.assertEqual(handler.main({}, FakeContext.for_manifest(MANIFEST)), {"message": "Hello, world!"})

    def test_it_is_granted_nothing(self):
        ctx = FakeContext.for_manifest(MANIFEST)
        with self.assertRaises(PermissionDenied):
            ctx.storage.get("anything")


if __name__ == "__main__":
    unittest.main()
