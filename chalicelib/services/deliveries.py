"""Webhook deliveries: the deliverer (one queue message → at most one signed attempt) and the API use cases.

Durability: a retry is never only in memory. Each failed attempt enqueues its follow-up on the delivery
queue *before* the attempt is recorded (SQS delays up to 900 s; a job that comes back early is sent
again with the remaining delay), and the original message is only acknowledged once both are done.
A job proceeds only if the Delivery's ``attempt_count`` equals the job's ``attempt`` and the
delivery is pending, so duplicates from SQS redelivery, a crash or a race are dropped, and the
record is written under an optimistic lock. The worst case is at-least-once: an attempt whose
outcome was not recorded is made again, with the same ``webhook-id`` so receivers can deduplicate.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from chalicelib.domain.deliveries import (
    MAX_SQS_DELAY_S,
    Delivery,
    DeliveryAttempt,
    DeliveryDetail,
    DeliveryJob,
    DeliveryPage,
    DeliveryStatus,
    DeliveryView,
    RecoverResult,
    RetryPolicy,
    SendResult,
    Trigger,
    ulid_floor,
)
from chalicelib.domain.errors import (
    ConflictDuringRequeueError,
    DeliveryNotFoundError,
    WebhookNotFoundError,
)
from chalicelib.domain.models import Caller, EventEnvelope, Webhook
from chalicelib.domain.pagination import every_item
from chalicelib.domain.permissions import Action
from chalicelib.domain.webhook_signatures import signed_headers
from chalicelib.ports import (
    Clock,
    DeliveryRepository,
    EventBus,
    IdGenerator,
    Metrics,
    WebhookRepository,
    WebhookSender,
    WorkQueues,
)
from chalicelib.services.audit import AuditService
from chalicelib.services.background import BackgroundReads
from chalicelib.services.delivery_pacing import MAX_INLINE_WAIT_S, RateLimiter, SigningKeyCache
from chalicelib.services.delivery_records import delivery_detail, delivery_view, new_delivery
from chalicelib.services.webhooks import WebhookService

__all__ = ["DeliveryNotFoundError", "DeliveryService", "RateLimiter"]

logger = Logger(service="plugyard")

SYSTEM_ACTOR = "system:deliverer"


class DeliveryService:
    """Deliver, retry, disable, and let admins inspect, redeliver, recover and test."""

    def __init__(
        self,
        webhooks: WebhookService,
        hooks: WebhookRepository,
        deliveries: DeliveryRepository,
        queues: WorkQueues,
        sender: WebhookSender,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        *,
        bus: EventBus | None = None,
        policy: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._webhooks = webhooks
        self._hooks = hooks
        self._deliveries = deliveries
        self._queues = queues
        self._sender = sender
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._bus = bus
        self.policy = policy or RetryPolicy()
        self._limiter = limiter or RateLimiter()
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter spreads load; nothing secret depends on it
        self._sleep = sleep
        self._keys = SigningKeyCache()
        self._readers = BackgroundReads("webhook-read")

    # --- the deliverer ---------------------------------------------------------------------

    def handle(self, job: DeliveryJob) -> None:
        """Process one delivery-queue message. Raises only for infrastructure trouble (then SQS retries)."""
        now = self._clock.now()
        # The endpoint is read (and its signing keys decrypted) while the delivery record is created or found.
        hook_read = self._readers.submit(self._read_endpoint, job.workspace_id, job.webhook_id, now)
        delivery = self._delivery_for(job, now)
        hook = hook_read.result()
        if delivery is None or delivery.status != "pending" or delivery.attempt_count != job.attempt:
            logger.debug("stale or duplicate delivery job", extra={"webhook_id": job.webhook_id, "job": job.attempt})
            return
        if hook is None or hook.workspace_id != delivery.workspace_id:
            self._finish(delivery, "failed", now, reason="The endpoint was deleted.")
            return
        if hook.state != "enabled":
            self._finish(
                delivery, "failed", now, reason=f"The endpoint is disabled: {hook.disabled_reason or 'manual'}."
            )
            return
        if job.not_before is not None and job.not_before > now:
            self._send_job(job, (job.not_before - now).total_seconds())
            return
        if hook.rate_limit_per_s and not job.rate_slot:
            wait = self._limiter.reserve(hook.webhook_id, hook.rate_limit_per_s, now.timestamp())
            if wait > MAX_INLINE_WAIT_S:
                later = job.model_copy(update={"not_before": now + timedelta(seconds=wait), "rate_slot": True})
                self._send_job(later, wait)
                return
            if wait > 0:
                self._sleep(wait)
                now = self._clock.now()
        result = self._attempt(hook, delivery, now)
        self._settle(hook, delivery, result, now)

    def _read_endpoint(self, workspace_id: str, webhook_id: str, now: datetime) -> Webhook | None:
        """The endpoint, and its signing keys decrypted into the cache when it can be sent to: beside the
        delivery record's write, an endpoint's first KMS decrypt overlaps it (a failure raises, as in signing)."""
        hook = self._hooks.get(workspace_id, webhook_id)
        if hook is not None and hook.workspace_id == workspace_id and hook.state == "enabled":
            self._keys.get(hook, now, lambda: self._webhooks.signing_keys(hook, now))
        return hook

    def _delivery_for(self, job: DeliveryJob, now: datetime) -> Delivery | None:
        if job.delivery_id is not None:
            return self._deliveries.get(job.webhook_id, job.delivery_id)
        if job.event is None:
            logger.warning("delivery job without event or delivery id", extra={"webhook_id": job.webhook_id})
            return None
        # A new event's delivery is created by a conditional write that only the first receipt wins: one round
        # trip on the usual path. A repeated message (SQS delivers at least once) finds the stored one.
        fresh = new_delivery(job.workspace_id, job.webhook_id, job.event, now, "event")
        return fresh if self._deliveries.create(fresh) else self._deliveries.get(job.webhook_id, job.event.id)

    def _attempt(self, hook: Webhook, delivery: Delivery, now: datetime) -> SendResult:
        keys = self._keys.get(hook, now, lambda: self._webhooks.signing_keys(hook, now))
        headers = signed_headers(keys, delivery.delivery_id, now, delivery.body)
        result = self._sender.send(hook.url, delivery.body.encode(), headers)
        delivery.record(
            DeliveryAttempt(
                attempt=delivery.attempt_count + 1,
                at=now,
                trigger=delivery.trigger,
                status_code=result.status_code,
                latency_ms=result.latency_ms,
                response_excerpt=result.response_excerpt,
                error=result.error,
                address=result.address,
            )
        )
        logger.info(
            "webhook attempt",
            extra={
                "workspace_id": hook.workspace_id,
                "webhook_id": hook.webhook_id,
                "delivery_id": delivery.delivery_id,
                "attempt": delivery.attempt_count,
                "status_code": result.status_code,
                "error": result.error,
                "latency_ms": result.latency_ms,
            },
        )
        return result

    def _settle(self, hook: Webhook, delivery: Delivery, result: SendResult, now: datetime) -> None:
        if self._metrics is not None:  # the deliverer's attempts (test pings are not counted)
            self._metrics.add("DeliveriesSucceeded" if result.ok else "DeliveriesFailed")
        if result.ok:
            self._finish(delivery, "delivered", now)
            self._note_success(hook)
            return
        if result.status_code == 410:
            reason = "The endpoint answered 410 Gone."
            self._finish(delivery, "failed", now, reason=reason + " The endpoint was disabled.")
            self._disable(hook, reason, now)
            return
        delay = self.policy.delay_after(
            delivery.attempt_count - delivery.round_start, retry_after_s=result.retry_after_s, rng=self._rng
        )
        if delay is None:
            last = f"HTTP {result.status_code}" if result.status_code else (result.error or "no answer")
            n = delivery.attempt_count - delivery.round_start
            self._finish(delivery, "failed", now, reason=f"All {n} attempts failed; the last: {last}.")
        else:
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            delivery.updated_at = now
            follow = DeliveryJob(
                workspace_id=delivery.workspace_id,
                webhook_id=delivery.webhook_id,
                delivery_id=delivery.delivery_id,
                attempt=delivery.attempt_count,
                not_before=delivery.next_attempt_at,
                trigger=delivery.trigger,
            )
            # Follow-up first, record second: a crash in between repeats the attempt, never loses it.
            self._send_job(follow, delay)
            if not self._deliveries.save(delivery):
                logger.warning("delivery changed underneath; attempt recorded elsewhere")
        self._note_failure(hook, now)

    def _finish(self, delivery: Delivery, status: DeliveryStatus, now: datetime, *, reason: str | None = None) -> None:
        delivery.status = status
        delivery.reason = reason
        delivery.next_attempt_at = None
        delivery.updated_at = now
        if not self._deliveries.save(delivery):
            logger.warning("delivery changed underneath; outcome recorded elsewhere")

    def _send_job(self, job: DeliveryJob, delay_s: float) -> None:
        self._queues.send([job], delay_s=min(MAX_SQS_DELAY_S, math.ceil(max(0.0, delay_s))))

    # --- endpoint health -------------------------------------------------------------------

    def _note_success(self, hook: Webhook) -> None:
        if hook.failing_since is None and not hook.failed_attempts:
            return
        self._hooks.reset_failures(hook.workspace_id, hook.webhook_id)

    def _note_failure(self, hook: Webhook, now: datetime) -> None:
        # One atomic update: concurrent deliverers each count, and no edit of the webhook is overwritten.
        fresh = self._hooks.record_failure(hook.workspace_id, hook.webhook_id, now)
        if fresh is None or fresh.state != "enabled":
            return
        failing_for = now - (fresh.failing_since or now)
        if failing_for >= self.policy.disable_after and fresh.failed_attempts >= self.policy.disable_min_failures:
            days = failing_for.total_seconds() / 86400
            self._disable(
                fresh,
                f"Every attempt failed for {days:.1f} days ({fresh.failed_attempts} failed attempts in a row).",
                now,
            )
            return
        self._hooks.put(fresh)

    def _disable(self, hook: Webhook, reason: str, now: datetime) -> None:
        fresh = self._hooks.get(hook.workspace_id, hook.webhook_id) or hook
        if fresh.state == "disabled":
            return
        fresh.state, fresh.disabled_reason, fresh.disabled_at = "disabled", reason, now
        self._hooks.put(fresh)
        self._audit.record(fresh.workspace_id, SYSTEM_ACTOR, "webhook.disable", fresh.webhook_id, reason=reason)
        logger.warning("webhook disabled", extra={"webhook_id": fresh.webhook_id, "reason": reason})
        if self._bus is not None:
            self._bus.publish(
                [
                    EventEnvelope(
                        id=self._ids.new_id(),
                        source="plugyard.host",
                        type="webhook.disabled",
                        workspace_id=fresh.workspace_id,
                        time=now,
                        data={"webhook_id": fresh.webhook_id, "url": fresh.url, "reason": reason},
                    )
                ]
            )

    # --- the API ---------------------------------------------------------------------------

    def list(
        self, caller: Caller, webhook_id: str, *, status: DeliveryStatus | None, limit: int, token: str | None
    ) -> DeliveryPage:
        """An endpoint's deliveries, newest first, optionally only those with ``status``."""
        self._audit.authorize(caller, Action.READ_WEBHOOKS)
        self._find(caller, webhook_id)
        items, next_token = self._deliveries.list(webhook_id, status=status, since_id=None, limit=limit, token=token)
        return DeliveryPage(items=[delivery_view(d) for d in items], next_token=next_token)

    def get(self, caller: Caller, webhook_id: str, delivery_id: str) -> DeliveryDetail:
        """One delivery with its payload and every attempt."""
        self._audit.authorize(caller, Action.READ_WEBHOOKS)
        self._find(caller, webhook_id)
        return delivery_detail(self._delivery(caller, webhook_id, delivery_id))

    def redeliver(self, caller: Caller, webhook_id: str, delivery_id: str) -> DeliveryView:
        """Queue a delivery again now (a new round of the retry schedule if it had finished)."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "webhook.redeliver", delivery_id)
        self._find(caller, webhook_id)
        delivery = self._requeue(self._delivery(caller, webhook_id, delivery_id), "redeliver")
        self._audit.record(caller.workspace_id, caller.actor, "webhook.redeliver", delivery_id, webhook_id=webhook_id)
        return delivery_view(delivery)

    def recover(self, caller: Caller, webhook_id: str, since: datetime) -> RecoverResult:
        """Queue every failed delivery created since ``since`` again."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "webhook.recover", webhook_id)
        self._find(caller, webhook_id)
        queued: list[str] = []
        failed = every_item(
            lambda token: self._deliveries.list(
                webhook_id, status="failed", since_id=ulid_floor(since), limit=100, token=token, newest_first=False
            )
        )
        for d in failed:
            if d.status == "failed" and d.created_at >= since and d.workspace_id == caller.workspace_id:
                self._requeue(d, "recover")
                queued.append(d.delivery_id)
        self._audit.record(
            caller.workspace_id,
            caller.actor,
            "webhook.recover",
            webhook_id,
            since=since.isoformat(),
            queued=len(queued),
        )
        return RecoverResult(queued=len(queued), delivery_ids=queued)

    def test(self, caller: Caller, webhook_id: str) -> DeliveryDetail:
        """Send a signed ``webhook.test`` ping now and return its one attempt (no retries)."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "webhook.test", webhook_id)
        hook = self._find(caller, webhook_id)
        now = self._clock.now()
        event = EventEnvelope(
            id=self._ids.new_id(),
            source="plugyard.host",
            type="webhook.test",
            workspace_id=caller.workspace_id,
            time=now,
            data={"webhook_id": webhook_id, "message": "A test ping from Plugyard."},
        )
        delivery = new_delivery(caller.workspace_id, webhook_id, event, now, "test")
        self._deliveries.create(delivery)
        result = self._attempt(hook, delivery, now)
        self._finish(
            delivery,
            "delivered" if result.ok else "failed",
            now,
            reason=None if result.ok else "The test ping was not answered with a 2xx status.",
        )
        self._audit.record(
            caller.workspace_id,
            caller.actor,
            "webhook.test",
            webhook_id,
            "success" if result.ok else "failed",
            status_code=result.status_code,
        )
        return delivery_detail(delivery)

    def _requeue(self, delivery: Delivery, trigger: Trigger) -> Delivery:
        if delivery.status != "pending":
            delivery.round_start = delivery.attempt_count
            delivery.status = "pending"
            delivery.reason = None
        delivery.trigger = trigger
        now = self._clock.now()
        delivery.next_attempt_at = now
        delivery.updated_at = now
        if not self._deliveries.save(delivery):
            raise ConflictDuringRequeueError(delivery.delivery_id)
        self._send_job(
            DeliveryJob(
                workspace_id=delivery.workspace_id,
                webhook_id=delivery.webhook_id,
                delivery_id=delivery.delivery_id,
                attempt=delivery.attempt_count,
                trigger=trigger,
            ),
            0,
        )
        return delivery

    def _find(self, caller: Caller, webhook_id: str) -> Webhook:
        hook = self._hooks.get(caller.workspace_id, webhook_id)
        if hook is None:
            raise WebhookNotFoundError(webhook_id)
        return hook

    def _delivery(self, caller: Caller, webhook_id: str, delivery_id: str) -> Delivery:
        delivery = self._deliveries.get(webhook_id, delivery_id)
        if delivery is None or delivery.workspace_id != caller.workspace_id:
            raise DeliveryNotFoundError(webhook_id, delivery_id)
        return delivery
