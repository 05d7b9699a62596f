"""Task Summarizer: writes a short AI summary of every completed task onto the task, as an annotation.

Triggers:
- ``task.completed`` (entry point ``on_completed``): summarizes the task and stores the summary on it as the
  annotation ``{"plugin": "task-summarizer", "summary": ...}`` (other plugins' annotations are kept), and in
  the installation's storage under ``summary:<task_id>``.
- ``POST /api/installations/{id}/invoke`` with ``{"payload": {"task_id": ...}}`` (entry point ``main``):
  answers ``{"task_id", "summary"}`` without changing the task.
"""

PLUGIN_ID = "task-summarizer"


def _summarize(task, ctx, outcome=None):
    words = int(ctx.config.get("max_words", 80))
    prompt = f"Summarize in at most {words} words: {task.get('title', '')}"
    if outcome:
        prompt += f" (outcome: {outcome})"
    reply = ctx.ai.complete(prompt, max_tokens=min(4 * words, 2000))
    summary = " ".join(reply["text"].split()[:words])
    ctx.storage.put(f"summary:{task['task_id']}", summary)
    return summary


def _task(ctx, task_id):
    task = ctx.tasks.get(task_id)
    if task is None:
        raise LookupError(f"no task {task_id!r} in this workspace")
    return task


def main(event, ctx):
    task = _task(ctx, event["task_id"])
    return {"task_id": task["task_id"], "summary": _summarize(task, ctx)}


def on_completed(event, ctx):
    data = event["data"]
    task = _task(ctx, data["task_id"])
    summary = _summarize(task, ctx, data.get("result"))
    kept = [a for a in task.get("annotations") or [] if a.get("plugin") != PLUGIN_ID]
    ctx.tasks.update(task["task_id"], annotations=[*kept, {"plugin": PLUGIN_ID, "summary": summary}])
    ctx.log.info("summarized task %s in %d words", task["task_id"], len(summary.split()))
    return {"task_id": task["task_id"], "summary": summary}
