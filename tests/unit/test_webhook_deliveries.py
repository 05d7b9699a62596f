"""The deliverer and the delivery use cases on in-memory fakes, with a scripted sender and a movable clock.

Time is simulated (unit/delivery_harness.py): the fake queue records each job's delay and the pump
advances the clock by it, so the full 28-hour schedule and the 5-day disabling rule run in milliseconds.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from chalicelib.domain.deliveries import DEFAULT_SCHEDULE_S, MAX_SQS_DELAY_S, DeliveryJob, SendResult
from chalicelib.domain.errors import ForbiddenError, NotFoundError
from chalicelib.domain.models import UpdateWebhookRequest
from chalicelib.domain.permissions import Role
from chalicelib.domain.webhook_signatures import verify_v1a
from unit.delivery_harness import URL, Harness, fail, h, make_harness

__all__ = ["h"]  # the fixture, imported for pytest


# --- delivery and signatures -----------------------------------------------------------------


def test_first_try_delivery_is_signed_with_standard_webhooks(h: Harness) -> None:
    hook = h.register()
    event = h.dispatch(hook.webhook_id, h.event(task_id="t1"))
    h.pump()
    [sent] = h.sender.sent
    assert sent.url == URL
    payload = StandardWebhook(hook.secret).verify(sent.body, sent.headers)
    assert payload["id"] == event.id and payload["data"] == {"task_id": "t1"}
    assert sent.headers["webhook-id"] == event.id
    detail = h.svc.get(h.caller, hook.webhook_id, event.id)
    assert detail.status == "delivered" and detail.attempt_count == 1
    assert detail.attempts[0].status_code == 200 and detail.attempts[0].response_excerpt == "ok"


def test_v1a_endpoint_gets_ed25519_signatures_its_public_key_verifies(h: Harness) -> None:
    hook = h.register(signature_scheme="v1a")
    assert hook.secret is None and hook.public_key and hook.public_key.startswith("whpk_")
    h.dispatch(hook.webhook_id)
    h.pump()
    [sent] = h.sender.sent
    assert sent.headers["webhook-signature"].startswith("v1a,")
    verify_v1a(hook.public_key, sent.body, sent.headers)
    with pytest.raises(Exception, match="No matching"):
        verify_v1a(hook.public_key, sent.body + b" ", sent.headers)


def test_rotation_signs_with_both_keys_during_the_overlap_then_only_the_new(h: Harness) -> None:
    hook = h.register()
    rotated = h.services.webhooks.rotate_secret(h.caller, hook.webhook_id)
    assert rotated.secret and rotated.secret != hook.secret
    assert rotated.overlap_until == h.clock.now() + timedelta(hours=24)
    h.dispatch(hook.webhook_id)
    h.pump()
    sent = h.sender.sent[-1]
    assert len(sent.headers["webhook-signature"].split(" ")) == 2
    StandardWebhook(hook.secret).verify(sent.body, sent.headers)
    StandardWebhook(rotated.secret).verify(sent.body, sent.headers)
    h.clock.advance(24 * 3600 + 1)
    h.dispatch(hook.webhook_id)
    h.pump()
    later = h.sender.sent[-1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    actions = [r.action for r in h.services.adapters.audit.items]
    assert "webhook.rotate_secret" in actions


# --- retries ---------------------------------------------------------------------------------


def test_failures_follow_the_schedule_with_jitter_then_end_failed_with_every_attempt(h: Harness) -> None:
    hook = h.register()
    h.sender.default = fail(500)
    event = h.dispatch(hook.webhook_id)
    delays = h.pump()
    assert len(h.sender.sent) == len(DEFAULT_SCHEDULE_S) == 8
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(h.sender.sent)]
    for gap, want in zip(gaps, DEFAULT_SCHEDULE_S[1:], strict=True):
        assert want * 0.9 - 1 <= gap <= want * 1.1 + 1, (gap, want)
    assert all(d <= MAX_SQS_DELAY_S for d in delays)  # long waits travel as several SQS hops
    assert len(delays) > 20
    detail = h.svc.get(h.caller, hook.webhook_id, event.id)
    assert detail.status == "failed" and detail.attempt_count == 8 and "All 8 attempts failed" in (detail.reason or "")
    assert [a.status_code for a in detail.attempts] == [500] * 8
    failed = h.svc.list(h.caller, hook.webhook_id, status="failed", limit=10, token=None)
    assert [d.delivery_id for d in failed.items] == [event.id]


def test_retry_after_is_honoured(h: Harness) -> None:
    hook = h.register()
    h.sender.plan = [fail(503, retry_after_s=600)]
    h.dispatch(hook.webhook_id)
    h.pump()
    first, second = h.sender.sent
    assert (second.at - first.at).total_seconds() >= 600


def test_recovery_mid_schedule_delivers(h: Harness) -> None:
    hook = h.register()
    h.sender.plan = [fail(None), fail(502), fail(500)]
    event = h.dispatch(hook.webhook_id)
    h.pump()
    detail = h.svc.get(h.caller, hook.webhook_id, event.id)
    assert detail.status == "delivered" and detail.attempt_count == 4
    assert detail.attempts[0].error and detail.attempts[0].status_code is None
    # a success clears the failure streak
    assert h.services.adapters.webhooks.get(h.caller.workspace_id, hook.webhook_id).failing_since is None


def test_duplicate_messages_make_one_attempt(h: Harness) -> None:
    hook = h.register()
    event = h.event()
    h.dispatch(hook.webhook_id, event)
    h.dispatch(hook.webhook_id, event)
    h.pump()
    assert len(h.sender.sent) == 1


# --- disabling -------------------------------------------------------------------------------


def test_410_disables_the_endpoint_with_a_reason_an_event_and_an_audit_record(h: Harness) -> None:
    hook = h.register()
    h.sender.plan = [fail(410)]
    event = h.dispatch(hook.webhook_id)
    h.pump()
    view = h.services.webhooks.get(h.caller, hook.webhook_id)
    assert view.state == "disabled" and "410" in (view.disabled_reason or "")
    assert h.svc.get(h.caller, hook.webhook_id, event.id).status == "failed"
    [published] = h.bus.published
    assert published.type == "webhook.disabled" and published.data["webhook_id"] == hook.webhook_id
    assert any(r.action == "webhook.disable" for r in h.services.adapters.audit.items)
    # further events are not attempted but recorded as failed, so recover can resend them
    later = h.dispatch(hook.webhook_id)
    h.pump()
    assert len(h.sender.sent) == 1
    assert "disabled" in (h.svc.get(h.caller, hook.webhook_id, later.id).reason or "")


def test_endpoint_failing_for_five_days_is_disabled_then_enable_and_recover_resend(h: Harness) -> None:
    hook = h.register()
    h.sender.default = fail(500)
    events = []
    for _ in range(6):  # one event a day, each exhausting its ~28 h schedule
        events.append(h.dispatch(hook.webhook_id))
        h.pump()
        h.clock.advance(86400)
    view = h.services.webhooks.get(h.caller, hook.webhook_id)
    assert view.state == "disabled" and "days" in (view.disabled_reason or "")
    assert [e.type for e in h.bus.published] == ["webhook.disabled"]
    attempts_before = len(h.sender.sent)
    h.services.webhooks.enable(h.caller, hook.webhook_id)
    h.sender.default = SendResult(status_code=204)
    since = events[0].time - timedelta(seconds=1)
    result = h.svc.recover(h.caller, hook.webhook_id, since)
    assert result.queued == len(events)
    h.pump()
    assert len(h.sender.sent) == attempts_before + len(events)
    for e in events:
        d = h.svc.get(h.caller, hook.webhook_id, e.id)
        assert d.status == "delivered" and d.attempts[-1].trigger == "recover"


# --- API use cases ---------------------------------------------------------------------------


def test_test_ping_is_synchronous_and_recorded(h: Harness) -> None:
    hook = h.register()
    h.sender.plan = [SendResult(status_code=500, response_excerpt="x" * 10)]
    result = h.svc.test(h.caller, hook.webhook_id)
    assert result.status == "failed" and result.event_type == "webhook.test" and result.attempts[0].status_code == 500
    assert h.queues.take("delivery") == []  # no retries for a ping
    ok = h.svc.test(h.caller, hook.webhook_id)
    assert ok.status == "delivered"
    StandardWebhook(hook.secret).verify(h.sender.sent[-1].body, h.sender.sent[-1].headers)


def test_redeliver_starts_a_new_round(h: Harness) -> None:
    hook = h.register()
    h.sender.default = fail(500)
    event = h.dispatch(hook.webhook_id)
    h.pump()
    h.sender.default = SendResult(status_code=200)
    view = h.svc.redeliver(h.caller, hook.webhook_id, event.id)
    assert view.status == "pending"
    h.pump()
    d = h.svc.get(h.caller, hook.webhook_id, event.id)
    assert d.status == "delivered" and d.attempt_count == 9 and d.attempts[-1].trigger == "redeliver"


def test_rate_limit_delays_excess_and_drops_nothing(h: Harness) -> None:
    hook = h.register(rate_limit_per_s=0.5)  # one every 2 s
    for _ in range(5):
        h.dispatch(hook.webhook_id)
    h.pump()
    assert len(h.sender.sent) == 5
    times = [s.at for s in h.sender.sent]
    assert all((b - a).total_seconds() >= 1.99 for a, b in itertools.pairwise(times))
    h.services.webhooks.update(h.caller, hook.webhook_id, UpdateWebhookRequest(rate_limit_per_s=None))
    assert h.services.webhooks.get(h.caller, hook.webhook_id).rate_limit_per_s is None


def test_other_workspaces_and_members_are_refused(h: Harness) -> None:
    hook = h.register()
    event = h.dispatch(hook.webhook_id)
    h.pump()
    other = make_harness()
    with pytest.raises(NotFoundError):
        h.svc.list(other.caller, hook.webhook_id, status=None, limit=10, token=None)
    with pytest.raises(NotFoundError):
        h.svc.redeliver(other.caller, hook.webhook_id, event.id)
    ws = h.caller.workspace_id
    key = h.services.auth.issue_key(ws, Role.MEMBER, "member", created_by="operator").key
    member = h.services.auth.authenticate(f"Bearer {key}")
    assert h.svc.list(member, hook.webhook_id, status=None, limit=10, token=None).items
    with pytest.raises(ForbiddenError):
        h.svc.redeliver(member, hook.webhook_id, event.id)
    with pytest.raises(ForbiddenError):
        h.services.webhooks.rotate_secret(member, hook.webhook_id)


def test_deleted_endpoint_marks_pending_delivery_failed(h: Harness) -> None:
    hook = h.register()
    h.sender.plan = [fail(500)]
    event = h.dispatch(hook.webhook_id)
    h.queues.take("delivery")  # keep the first job aside
    h.svc.handle(DeliveryJob(workspace_id=h.caller.workspace_id, webhook_id=hook.webhook_id, event=event))
    h.services.webhooks.delete(h.caller, hook.webhook_id)
    h.pump()
    d = h.services.adapters.deliveries.get(hook.webhook_id, event.id)
    assert d.status == "failed" and "deleted" in (d.reason or "")


def test_an_admin_disables_an_endpoint_its_events_fail_until_enabled_and_recovered(h: Harness) -> None:
    hook = h.register()
    view = h.services.webhooks.disable(h.caller, hook.webhook_id)
    assert view.state == "disabled" and view.disabled_reason == f"Disabled by {h.caller.actor}."
    again = h.services.webhooks.disable(h.caller, hook.webhook_id)  # a second click changes nothing
    assert again.disabled_at == view.disabled_at
    disables = [r for r in h.services.adapters.audit.items if r.action == "webhook.disable"]
    assert [(r.actor, r.outcome) for r in disables] == [(h.caller.actor, "success")]
    event = h.dispatch(hook.webhook_id)
    h.pump()
    assert h.sender.sent == [] and h.bus.published == []  # not sent; no webhook.disabled event for a manual one
    assert "disabled" in (h.svc.get(h.caller, hook.webhook_id, event.id).reason or "")
    with pytest.raises(NotFoundError):
        h.services.webhooks.disable(make_harness().caller, hook.webhook_id)
    ws = h.caller.workspace_id
    member = h.services.auth.authenticate(
        "Bearer " + h.services.auth.issue_key(ws, Role.MEMBER, "member", created_by="operator").key
    )
    with pytest.raises(ForbiddenError):
        h.services.webhooks.disable(member, hook.webhook_id)
    h.services.webhooks.enable(h.caller, hook.webhook_id)
    assert h.svc.recover(h.caller, hook.webhook_id, event.time - timedelta(seconds=1)).queued == 1
    h.pump()
    [listed] = h.svc.list(member, hook.webhook_id, status=None, limit=10, token=None).items
    assert listed.status == "delivered" and listed.last_attempt is not None
    assert listed.last_attempt.trigger == "recover" and listed.last_attempt.status_code == listed.last_status_code
