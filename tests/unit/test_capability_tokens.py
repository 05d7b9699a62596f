"""Capability tokens: bound to one installation, short-lived, unforgeable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.api.problems import status_of
from chalicelib.domain.capability_tokens import CapabilityClaims, CapabilityTokenSigner, InvalidCapabilityTokenError

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = b"k" * 32


def issue(signer: CapabilityTokenSigner, now: datetime = NOW) -> str:
    return signer.issue(
        installation_id="inst-1", workspace_id="ws-1", plugin_id="notes", version="1.0.0", invocation_id="inv", now=now
    )


def test_round_trip_carries_the_binding() -> None:
    signer = CapabilityTokenSigner(KEY)
    claims = signer.verify(issue(signer), now=NOW + timedelta(seconds=10))
    assert claims.installation_id == "inst-1" and claims.workspace_id == "ws-1" and claims.plugin_id == "notes"
    assert claims.exp == int((NOW + timedelta(minutes=5)).timestamp())


def test_expired_token_is_refused() -> None:
    signer = CapabilityTokenSigner(KEY, ttl=timedelta(seconds=30))
    token = issue(signer)
    with pytest.raises(InvalidCapabilityTokenError, match="expired"):
        signer.verify(token, now=NOW + timedelta(seconds=30))


def test_other_key_or_tampered_claims_are_refused() -> None:
    token = issue(CapabilityTokenSigner(KEY))
    with pytest.raises(InvalidCapabilityTokenError):
        CapabilityTokenSigner(b"x" * 32).verify(token, now=NOW)
    _kid, _body, mac = token.split(".")
    forged = CapabilityTokenSigner(b"x" * 32).sign(
        CapabilityClaims(
            installation_id="inst-2",
            workspace_id="ws-1",
            plugin_id="notes",
            version="1.0.0",
            invocation_id="i",
            exp=2**40,
        )
    )
    with pytest.raises(InvalidCapabilityTokenError):
        CapabilityTokenSigner(KEY).verify(forged.rsplit(".", 1)[0] + "." + mac, now=NOW)


@pytest.mark.parametrize("token", [None, "", "abc", "a.b.c", "e30.", ".", "e30.AAAA", "k1.e30.AAAA", "..", "k1.."])
def test_garbage_is_refused(token: str | None) -> None:
    with pytest.raises(InvalidCapabilityTokenError):
        CapabilityTokenSigner(KEY).verify(token, now=NOW)


def test_short_keys_are_rejected() -> None:
    with pytest.raises(ValueError):
        CapabilityTokenSigner(b"short")


def test_refusal_is_a_401() -> None:
    assert status_of(InvalidCapabilityTokenError("x")) == 401


def test_the_expiry_follows_the_invocation_not_the_default() -> None:
    signer = CapabilityTokenSigner(KEY)
    token = signer.issue(
        installation_id="i",
        workspace_id="w",
        plugin_id="p",
        version="1",
        invocation_id="inv",
        now=NOW,
        ttl=timedelta(seconds=45),
    )
    assert signer.verify(token, now=NOW + timedelta(seconds=44)).exp == int(NOW.timestamp()) + 45
    with pytest.raises(InvalidCapabilityTokenError, match="expired"):
        signer.verify(token, now=NOW + timedelta(seconds=45))


def test_the_key_id_lets_the_key_rotate() -> None:
    old = CapabilityTokenSigner(KEY, kid="2026-01")
    token = issue(old)
    assert token.startswith("2026-01.")
    rotated = CapabilityTokenSigner(b"n" * 32, kid="2026-02", previous={"2026-01": KEY})
    assert rotated.verify(token, now=NOW).invocation_id == "inv"  # tokens in flight survive the rotation
    assert issue(rotated).startswith("2026-02.")
    retired = CapabilityTokenSigner(b"n" * 32, kid="2026-02")
    with pytest.raises(InvalidCapabilityTokenError):
        retired.verify(token, now=NOW)  # once the old key is dropped, so are its tokens
    # A token cannot borrow another key's id: the id is part of what the MAC covers.
    _kid, body, mac = token.split(".")
    with pytest.raises(InvalidCapabilityTokenError):
        rotated.verify(f"2026-02.{body}.{mac}", now=NOW)


def test_key_ids_are_plain_names() -> None:
    with pytest.raises(ValueError):
        CapabilityTokenSigner(KEY, kid="a.b")
