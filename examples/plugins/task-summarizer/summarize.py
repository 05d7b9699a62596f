"""Task Summarizer: summarizes a task with the AI assistant and remembers the summary."""


def _summarize(task, ctx):
    words = ctx.config.get("max_words", 80)
    text = ctx.ai.complete(f"Summarize in at most {words} words: {task.get('title', '')}")
    ctx.storage.put(f"summary:{task['task_id']}", text)
    return text


def main(event, ctx):
    task = ctx.tasks.get(event["task_id"])
    return {"summary": _summarize(task, ctx)}


def on_completed(event, ctx):
    task = ctx.tasks.get(event["data"]["task_id"])
    summary = _summarize(task, ctx)
    ctx.tasks.update(task["task_id"], {"summary": summary})
