"""Slack Notifier: one message per task event."""


def handle(event, ctx):
    data = event.get("data", {})
    if ctx.config.get("only_failures") and event.get("type") != "task.failed":
        return None
    task = ctx.tasks.get(data["task_id"])
    text = f"{ctx.config['channel']}: task '{task.get('title')}' {event.get('type', '').split('.')[-1]}"
    ctx.http.fetch("https://hooks.slack.com/services/demo", method="POST", body=text)
    return {"posted": text}
