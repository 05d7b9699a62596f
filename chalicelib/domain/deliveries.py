"""Webhook deliveries: the record of every attempt, the queue message, and the retry policy (pure).

A *delivery* is one event sent to one endpoint. Its ``delivery_id`` is the event id, so the
Standard Webhooks ``webhook-id`` header stays the same across retries and redeliveries and
receivers can deduplicate on it. Attempts happen in *rounds*: the automatic one after the event,
and one more per manual redelivery or recovery; each round follows the retry schedule anew.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.messages import QueueMessage
from chalicelib.domain.models import EventEnvelope

__all__ = [
    "DEFAULT_SCHEDULE_S",
    "MAX_SQS_DELAY_S",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryDetail",
    "DeliveryJob",
    "DeliveryPage",
    "DeliveryStatus",
    "DeliveryView",
    "RecoverRequest",
    "RecoverResult",
    "RetryPolicy",
    "SendResult",
    "Trigger",
    "excerpt",
    "parse_retry_after",
    "ulid_floor",
]

DeliveryStatus = Literal["pending", "delivered", "failed"]
Trigger = Literal["event", "redeliver", "recover", "test"]

# Svix's schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 h in all).
DEFAULT_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
# SQS caps DelaySeconds at 15 minutes; longer waits are re-enqueued until due.
MAX_SQS_DELAY_S = 900
EXCERPT_CHARS = 1024
ATTEMPTS_KEPT = 50


class SendResult(BaseModel):
    """What one HTTP attempt produced."""

    status_code: int | None = None
    latency_ms: float = 0.0
    response_excerpt: str = ""
    error: str | None = None
    retry_after_s: float | None = None
    address: str | None = Field(None, description="The IP address the request was pinned to.")

    @property
    def ok(self) -> bool:
        """A 2xx answer: delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryAttempt(BaseModel):
    """One HTTP attempt of a delivery."""

    attempt: int = Field(description="1-based number across all rounds.")
    at: datetime
    trigger: Trigger
    status_code: int | None = None
    latency_ms: float = 0.0
    response_excerpt: str = ""
    error: str | None = None
    address: str | None = None


class Delivery(BaseModel):
    """One event to one endpoint, with every attempt (as stored)."""

    webhook_id: str
    delivery_id: str
    workspace_id: str
    event_id: str
    event_type: str
    body: str = Field(description="The exact JSON payload that is signed and sent.")
    status: DeliveryStatus = "pending"
    attempt_count: int = 0
    round_start: int = Field(0, description="attempt_count when the current round began.")
    trigger: Trigger = "event"
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
    next_attempt_at: datetime | None = None
    reason: str | None = Field(None, description="Why the delivery failed, when it did.")
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    version: int = Field(0, description="Optimistic-lock counter; every save increments it.")

    def record(self, attempt: DeliveryAttempt) -> None:
        """Append an attempt, keeping the most recent ATTEMPTS_KEPT."""
        self.attempts = [*self.attempts, attempt][-ATTEMPTS_KEPT:]
        self.attempt_count = attempt.attempt


class DeliveryView(BaseModel):
    """A delivery as the listing shows it."""

    delivery_id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    last_status_code: int | None = None
    last_attempt: DeliveryAttempt | None = Field(None, description="The latest attempt (status, latency, excerpt).")
    next_attempt_at: datetime | None = None
    reason: str | None = None
    created_at: datetime
    updated_at: datetime


class DeliveryDetail(DeliveryView):
    """A delivery with its payload and attempts (oldest first)."""

    payload: dict[str, Any]
    attempts: list[DeliveryAttempt]


class DeliveryPage(BaseModel):
    """One page of an endpoint's deliveries, newest first."""

    items: list[DeliveryView]
    next_token: str | None = None


class RecoverRequest(BaseModel):
    """Resend every failed delivery created since a time."""

    model_config = ConfigDict(extra="forbid")

    since: datetime


class RecoverResult(BaseModel):
    """How many failed deliveries were queued again."""

    queued: int
    delivery_ids: list[str]


class DeliveryJob(QueueMessage):
    """The delivery queue's message: what the dispatcher sends and the deliverer reads and sends again.

    The dispatcher sends ``kind``, ``workspace_id``, ``webhook_id`` and ``event``; the deliverer's
    own follow-ups carry ``delivery_id`` and ``attempt`` (the attempt count they expect to find), and
    the payload is read from the Delivery record instead.
    """

    model_config = ConfigDict(extra="ignore")
    queue: ClassVar[str] = "delivery"

    kind: Literal["webhook"] = "webhook"
    workspace_id: str
    webhook_id: str
    event: EventEnvelope | None = None
    delivery_id: str | None = None
    attempt: int = 0
    not_before: datetime | None = None
    trigger: Trigger = "event"
    rate_slot: bool = Field(False, description="A rate-limit slot was already booked for this job.")


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again, and when an endpoint has failed for long enough to be disabled.

    ``scale`` compresses every wait (tests); ``disable_after`` is measured on the injected clock.
    """

    schedule_s: tuple[float, ...] = DEFAULT_SCHEDULE_S
    jitter: float = 0.1
    scale: float = 1.0
    max_retry_after_s: float = 24 * 3600
    disable_after: timedelta = timedelta(days=5)
    disable_min_failures: int = 8

    @property
    def attempts_per_round(self) -> int:
        return len(self.schedule_s)

    def delay_after(self, attempts_in_round: int, *, retry_after_s: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before the next attempt, or None when the round is exhausted.

        ``attempts_in_round`` counts the attempts made so far in this round (>= 1). The wait is the
        schedule's step with ±``jitter`` applied, and never shorter than the receiver's Retry-After.
        """
        if attempts_in_round >= len(self.schedule_s):
            return None
        base = self.schedule_s[attempts_in_round]
        delay = base * (1 + rng.uniform(-self.jitter, self.jitter)) if base else 0.0
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.max_retry_after_s))
        return max(0.0, delay * self.scale)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first ``limit`` characters of a response body."""
    return text if len(text) <= limit else text[:limit] + "…"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid_floor(at: datetime) -> str:
    """The smallest ULID of the millisecond ``at``: every id minted at or after ``at`` sorts >= it."""
    ms = max(0, int(at.timestamp() * 1000))
    chars = []
    for _ in range(10):
        ms, r = divmod(ms, 32)
        chars.append(_CROCKFORD[r])
    return "".join(reversed(chars)) + "0" * 16
