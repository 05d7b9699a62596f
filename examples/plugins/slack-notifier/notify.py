"""Slack Notifier: one Slack message per completed or failed task.

Triggers ``task.completed`` and ``task.failed`` (entry point ``notify``): posts
``{"text": "<channel>: task '<title>' completed|failed"}`` as JSON to the channel's incoming-webhook URL
(the secret config field ``webhook_url``). With ``only_failures`` it stays quiet on completed tasks.
Without a ``webhook_url`` every event fails, recorded with the reason, until an admin sets one.
"""

import json


def handle(event, ctx):
    data = event.get("data") or {}
    outcome = event.get("type", "").rsplit(".", 1)[-1]
    if ctx.config.get("only_failures") and outcome != "failed":
        return {"posted": None, "reason": "only_failures is set"}
    url = ctx.config.get("webhook_url")
    if not url:
        raise ValueError("no webhook_url configured: PUT /api/installations/{id}/config with the Slack webhook URL")
    task = ctx.tasks.get(data["task_id"]) or {"title": data.get("title", data["task_id"])}
    text = f"{ctx.config['channel']}: task '{task.get('title')}' {outcome}"
    reply = ctx.http.fetch(
        url,
        method="POST",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"text": text}),
    )
    if not 200 <= reply["status"] < 300:
        raise RuntimeError(f"Slack answered {reply['status']}: {str(reply.get('body'))[:200]}")
    return {"posted": text}
