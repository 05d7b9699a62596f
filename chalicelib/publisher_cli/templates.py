"""The starting points ``plugyard init`` writes: a manifest, a handler and its test on the test kit.

Each template is a small plugin that works as written — it validates, its test passes with
``plugyard_runtime.testing.FakeContext``, and it runs in the real sandbox once installed. ``__PLUGIN_ID__``
and ``__PUBLISHER__`` are replaced with the new plugin's id and its publisher.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["TEMPLATES", "Template", "render"]

IGNORE = """# Left out of the zip by `plugyard package` and `plugyard publish` (gitignore syntax).
test_*.py
tests/
*.md
"""


@dataclass(frozen=True)
class Template:
    """What a template declares and the code it writes."""

    summary: str
    manifest: dict[str, Any]
    handler: str
    test: str


_EVENT_HANDLER = '''"""Counts the workspace's completed tasks: runs on every task.completed event."""


def on_completed(event, ctx):
    """task.completed: the event's envelope; its `data` is the task."""
    count = ctx.storage.get("completed", default=0) + 1
    ctx.storage.put("completed", count)
    ctx.log.info("task %s completed (%d so far)", event["data"]["task_id"], count)
    return {"completed": count}


def main(event, ctx):
    """Invoked directly: how many tasks completed so far."""
    return {"completed": ctx.storage.get("completed", default=0)}
'''

_EVENT_TEST = """from handler import main, on_completed
from plugyard_runtime.testing import FakeContext


def test_counts_completed_tasks():
    ctx = FakeContext(granted=["storage:read", "storage:write"], plugin_id="__PLUGIN_ID__")
    event = {"type": "task.completed", "data": {"task_id": "t1", "title": "Write", "status": "completed"}}
    assert on_completed(event, ctx) == {"completed": 1}
    assert on_completed(event, ctx) == {"completed": 2}
    assert main({}, ctx) == {"completed": 2}
    assert ctx.storage_data["completed"] == 2
"""

_TASK_HANDLER = '''"""Adds a checklist annotation to a task: invoke it with {"task_id": "…"}."""

PLUGIN = "__PLUGIN_ID__"


def main(event, ctx):
    task = ctx.tasks.get(event["task_id"])
    if task is None:
        return {"error": "no such task"}
    # Keep other plugins' annotations; replace only this plugin's own.
    kept = [a for a in task.get("annotations", []) if a.get("plugin") != PLUGIN]
    note = {"plugin": PLUGIN, "checklist": ["review", "ship"]}
    ctx.tasks.update(task["task_id"], annotations=[*kept, note])
    return {"annotated": task["task_id"]}
'''

_TASK_TEST = """from handler import main
from plugyard_runtime.testing import FakeContext


def test_annotates_the_task_keeping_other_annotations():
    other = {"plugin": "someone-else", "x": 1}
    ctx = FakeContext(
        granted=["tasks:read", "tasks:write"],
        plugin_id="__PLUGIN_ID__",
        tasks={"t1": {"task_id": "t1", "title": "Ship it", "annotations": [other]}},
    )
    assert main({"task_id": "t1"}, ctx) == {"annotated": "t1"}
    annotations = ctx.fake.tasks["t1"]["annotations"]
    assert annotations[0] == other and annotations[1]["plugin"] == "__PLUGIN_ID__"
"""

_TRIGGER_HANDLER = '''"""Receives calls to its inbound trigger `incoming` and keeps the last payload."""


def main(event, ctx):
    # Run by a trigger call, the event is an envelope whose data carries the caller's JSON body as `payload`;
    # invoked directly, the event is the payload itself.
    payload = event["data"]["payload"] if "data" in event else event
    ctx.storage.put("last_payload", payload)
    ctx.events.emit("plugin.__PLUGIN_ID__.received", {"keys": sorted(payload)})
    return {"received": sorted(payload)}
'''

_TRIGGER_TEST = """from handler import main
from plugyard_runtime.testing import FakeContext


def test_keeps_the_payload_and_emits_an_event():
    ctx = FakeContext(granted=["storage:write", "events:emit"], plugin_id="__PLUGIN_ID__")
    envelope = {"type": "plugin.__PLUGIN_ID__.trigger.incoming", "data": {"payload": {"build": 42}}}
    assert main(envelope, ctx) == {"received": ["build"]}
    assert ctx.storage_data["last_payload"] == {"build": 42}
    assert ctx.emitted == [("plugin.__PLUGIN_ID__.received", {"keys": ["build"]})]
"""

_AI_HANDLER = '''"""Summarizes a text with the workspace's AI assistant: invoke it with {"text": "…"}."""


def main(event, ctx):
    text = event.get("text", "")
    if not text:
        return {"summary": ""}
    reply = ctx.ai.complete("Summarize in one sentence:\\n" + text, max_tokens=120)
    return {"summary": reply["text"].strip()}
'''

_AI_TEST = """from handler import main
from plugyard_runtime.testing import FakeContext


def test_summarizes_with_the_ai_capability():
    ctx = FakeContext(granted=["ai:complete"], plugin_id="__PLUGIN_ID__", ai=lambda args: {"text": " Short. "})
    assert main({"text": "A long story."}, ctx) == {"summary": "Short."}
    assert main({}, ctx) == {"summary": ""}
"""


def _manifest(description: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": "__PLUGIN_ID__",
        "name": "__PLUGIN_ID__",
        "version": "0.1.0",
        "publisher": "__PUBLISHER__",
        "description": description,
        "categories": ["productivity"],
        "entrypoints": {"main": "handler:main"},
        "resources": {"memory_mb": 64, "timeout_s": 5},
        **fields,
    }


TEMPLATES: dict[str, Template] = {
    "event": Template(
        "runs on task.completed and counts tasks in its storage",
        _manifest(
            "Counts completed tasks.",
            entrypoints={"main": "handler:main", "on_completed": "handler:on_completed"},
            events=["task.completed"],
            permissions=["storage:read", "storage:write"],
            permission_notes={"storage:write": "Keeps the count of completed tasks"},
        ),
        _EVENT_HANDLER,
        _EVENT_TEST,
    ),
    "task-action": Template(
        "an action on a task: annotates the task it is given",
        _manifest("Adds a checklist to a task.", permissions=["tasks:read", "tasks:write"]),
        _TASK_HANDLER,
        _TASK_TEST,
    ),
    "trigger": Template(
        "handles calls to its inbound trigger (plugin.<id>.trigger.incoming)",
        _manifest(
            "Receives webhooks from outside through an inbound trigger.",
            events=["plugin.__PLUGIN_ID__.trigger.incoming"],
            permissions=["storage:write", "events:emit"],
        ),
        _TRIGGER_HANDLER,
        _TRIGGER_TEST,
    ),
    "ai": Template(
        "summarizes text with ctx.ai.complete",
        _manifest("Summarizes text with the workspace's AI assistant.", permissions=["ai:complete"]),
        _AI_HANDLER,
        _AI_TEST,
    ),
}


def render(name: str, plugin_id: str, publisher: str) -> dict[str, str]:
    """The files of a template for a plugin: relative path → content."""
    template = TEMPLATES[name]

    def fill(text: str) -> str:
        return text.replace("__PLUGIN_ID__", plugin_id).replace("__PUBLISHER__", publisher)

    return {
        "plugyard.json": fill(json.dumps(template.manifest, indent=2)) + "\n",
        "handler.py": fill(template.handler),
        "test_handler.py": fill(template.test),
        ".plugyardignore": IGNORE,
    }
