"""Task Counter: counts the workspace's completed and failed tasks per day, in the installation's storage.

Triggers:
- ``task.completed`` and ``task.failed`` (entry point ``events``): records the event under the storage key
  ``<outcome>/<YYYY-MM-DD>/<event id>``. One key per event, never a read-modify-write of a shared total: the
  same event delivered twice lands on the same key (counted once), and two events handled at the same time
  cannot overwrite each other's count.
- ``POST /api/installations/{id}/invoke`` with ``{"payload": {"days": 7}}`` (entry point ``main``): answers
  ``{"completed", "failed", "by_day": {"YYYY-MM-DD": {"completed", "failed"}}}`` for the last ``days`` days
  (default 7, at most 31) that have any.

Limits: the host lists at most 1000 keys per call, so a day counts at most 1000 tasks of each outcome.
"""

from datetime import date, timedelta

OUTCOMES = ("completed", "failed")


def on_task_event(event, ctx):
    outcome = event["type"].rsplit(".", 1)[-1]
    if outcome not in OUTCOMES:
        raise ValueError(f"task-counter does not count {event['type']!r} events")
    day = event["time"][:10]  # the host's UTC timestamp, YYYY-MM-DD…
    ctx.storage.put(f"{outcome}/{day}/{event['id']}", {"task_id": event["data"].get("task_id")})
    return {"counted": outcome, "day": day}


def main(event, ctx):
    days = int(event.get("days", 7))
    if not 1 <= days <= 31:
        raise ValueError("days must be 1–31")
    today = date.fromisoformat(event["today"]) if event.get("today") else date.today()
    by_day = {}
    for back in range(days):
        day = (today - timedelta(days=back)).isoformat()
        counts = {outcome: len(ctx.storage.list(f"{outcome}/{day}/")) for outcome in OUTCOMES}
        if any(counts.values()):
            by_day[day] = counts
    totals = {outcome: sum(c[outcome] for c in by_day.values()) for outcome in OUTCOMES}
    return {**totals, "by_day": by_day}
