"""Standard Webhooks signing (v1 through the reference library, v1a with Ed25519) and the retry policy."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from chalicelib.domain.deliveries import DEFAULT_SCHEDULE_S, RetryPolicy, parse_retry_after, ulid_floor
from chalicelib.domain.webhook_signatures import (
    SignatureVerificationError,
    new_keypair,
    new_secret,
    public_key_of,
    signed_headers,
    verify_v1a,
)

BODY = '{"id":"01J","type":"task.completed","data":{"ü":1}}'


def test_v1_headers_verify_with_the_reference_library_and_tampering_fails() -> None:
    secret = new_secret()
    now = datetime.now(UTC)
    headers = signed_headers([secret], "msg_1", now, BODY)
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert StandardWebhook(secret).verify(BODY, headers)["data"] == {"ü": 1}
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(secret).verify(BODY.replace("1", "2"), headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(new_secret()).verify(BODY, headers)


def test_old_timestamps_are_refused_by_receivers() -> None:
    secret = new_secret()
    headers = signed_headers([secret], "msg_1", datetime.now(UTC) - timedelta(minutes=6), BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        StandardWebhook(secret).verify(BODY, headers)


def test_two_keys_give_two_space_separated_signatures_each_verifies() -> None:
    old, new = new_secret(), new_secret()
    headers = signed_headers([new, old], "msg_1", datetime.now(UTC), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    StandardWebhook(old).verify(BODY, headers)
    StandardWebhook(new).verify(BODY, headers)


def test_v1a_verifies_with_the_public_key_only() -> None:
    sk, pk = new_keypair()
    assert sk.startswith("whsk_") and pk.startswith("whpk_") and public_key_of(sk) == pk
    headers = signed_headers([sk], "msg_1", datetime.now(UTC), BODY)
    verify_v1a(pk, BODY.encode(), headers)
    _, other = new_keypair()
    with pytest.raises(SignatureVerificationError):
        verify_v1a(other, BODY, headers)
    with pytest.raises(SignatureVerificationError, match="tolerance"):
        verify_v1a(pk, BODY, headers, now=datetime.now(UTC) + timedelta(minutes=10))
    with pytest.raises(SignatureVerificationError, match="Missing"):
        verify_v1a(pk, BODY, {})


def test_schedule_is_svix_like_with_bounded_jitter() -> None:
    policy = RetryPolicy()
    assert DEFAULT_SCHEDULE_S == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    rng = random.Random(1)
    for made in range(1, 8):
        d = policy.delay_after(made, retry_after_s=None, rng=rng)
        base = DEFAULT_SCHEDULE_S[made]
        assert d is not None and base * 0.9 <= d <= base * 1.1
    assert policy.delay_after(8, retry_after_s=None, rng=rng) is None
    assert policy.delay_after(1, retry_after_s=120, rng=rng) == pytest.approx(120)
    assert policy.delay_after(1, retry_after_s=10**9, rng=rng) == pytest.approx(24 * 3600)
    assert RetryPolicy(scale=0.001).delay_after(2, retry_after_s=None, rng=rng) == pytest.approx(0.3, rel=0.11)


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


def test_ulid_floor_sorts_before_every_id_of_that_moment() -> None:
    from ulid import ULID

    u = ULID()
    assert ulid_floor(u.datetime) <= str(u) and ulid_floor(u.datetime + timedelta(milliseconds=1)) > str(u)
