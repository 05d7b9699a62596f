"""Task Labeller: labels every completed task from the words in its title, as an annotation on the task.

Triggers:
- ``task.completed`` (entry point ``on_completed``): reads the task, works out its labels from the configured
  ``rules`` (label → title words) and writes ``{"plugin": "task-labeller", "labels": [...]}`` among the task's
  annotations, keeping other plugins' ones. Running twice for the same task changes nothing the second time.
- ``POST /api/installations/{id}/invoke`` with ``{"payload": {"title": ...}}`` (entry point ``main``): answers
  the labels that title would get, touching no task — a way to try the rules.
"""

import re

PLUGIN_ID = "task-labeller"
# Used when the installation sets no ``rules`` (the platform does not fill in config defaults); the manifest's
# ``config_schema`` shows the same value as the default.
DEFAULT_RULES = {
    "bug": ["bug", "fix", "crash", "error", "regression"],
    "docs": ["doc", "docs", "readme", "guide"],
    "release": ["release", "deploy", "ship", "rollout"],
    "security": ["security", "cve", "vulnerability", "secret"],
}
_WORD = re.compile(r"[a-z0-9]+")


def labels_for(title, rules):
    """The sorted labels whose words appear in ``title`` (whole words, any case)."""
    words = set(_WORD.findall(str(title).lower()))
    return sorted(label for label, triggers in rules.items() if words & {w.lower() for w in triggers})


def main(event, ctx):
    return {"labels": labels_for(event.get("title", ""), ctx.config.get("rules", DEFAULT_RULES))}


def on_completed(event, ctx):
    task_id = event["data"]["task_id"]
    # The event carries the task as it was when it completed; read it again so annotations other plugins
    # wrote since then are not overwritten.
    task = ctx.tasks.get(task_id)
    if task is None:
        ctx.log.warning("task %s is gone; nothing to label", task_id)
        return {"task_id": task_id, "labels": None}
    labels = labels_for(task.get("title", ""), ctx.config.get("rules", DEFAULT_RULES))
    annotations = task.get("annotations") or []
    mine = {"plugin": PLUGIN_ID, "labels": labels}
    if mine in annotations:
        return {"task_id": task_id, "labels": labels, "changed": False}
    kept = [a for a in annotations if a.get("plugin") != PLUGIN_ID]
    ctx.tasks.update(task_id, annotations=[*kept, mine])
    ctx.log.info("labelled task %s: %s", task_id, ", ".join(labels) or "(none)")
    return {"task_id": task_id, "labels": labels, "changed": True}
