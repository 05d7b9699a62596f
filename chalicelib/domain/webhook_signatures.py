"""Standard Webhooks signatures: symmetric ``v1`` (HMAC-SHA256) and asymmetric ``v1a`` (Ed25519).

The signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"`` over the raw body. ``v1`` uses
the ``standardwebhooks`` reference library; ``v1a`` (which that library does not implement) uses
``cryptography``. Several keys may sign at once (rotation overlap): the header then carries
several space-separated signatures and a receiver accepts any one it can verify.

Key formats: ``whsec_`` + base64(secret bytes); ``whsk_`` + base64(32-byte Ed25519 seed);
``whpk_`` + base64(32-byte raw Ed25519 public key).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime, timedelta
from math import floor
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from standardwebhooks.webhooks import Webhook as StandardWebhook

from chalicelib.domain.errors import SignatureVerificationError

__all__ = [
    "SignatureScheme",
    "SignatureVerificationError",
    "new_keypair",
    "new_secret",
    "public_key_of",
    "sign",
    "signature_header",
    "signed_headers",
    "verify_v1a",
]

SignatureScheme = Literal["v1", "v1a"]
TOLERANCE = timedelta(minutes=5)


def new_secret() -> str:
    """A symmetric secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_keypair() -> tuple[str, str]:
    """A fresh Ed25519 key pair as (``whsk_…`` secret key, ``whpk_…`` public key)."""
    secret_key = "whsk_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return secret_key, public_key_of(secret_key)


def _private_key(whsk: str) -> Ed25519PrivateKey:
    raw = base64.b64decode(whsk.removeprefix("whsk_"))
    # Some tools write seed + public key (64 bytes); the seed is the first half.
    return Ed25519PrivateKey.from_private_bytes(raw[:32])


def public_key_of(whsk: str) -> str:
    """The ``whpk_`` public key of a ``whsk_`` secret key."""
    raw = _private_key(whsk).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "whpk_" + base64.b64encode(raw).decode()


def _timestamp(at: datetime) -> str:
    return str(floor(at.astimezone(UTC).timestamp()))


def sign(key: str, msg_id: str, at: datetime, body: str) -> str:
    """One ``v1,…`` (for a ``whsec_`` key) or ``v1a,…`` (for a ``whsk_`` key) signature."""
    if key.startswith("whsk_"):
        content = f"{msg_id}.{_timestamp(at)}.{body}".encode()
        return "v1a," + base64.b64encode(_private_key(key).sign(content)).decode()
    # The reference library treats the timestamp as UTC wall time: hand it a UTC datetime.
    return str(StandardWebhook(key).sign(msg_id, at.astimezone(UTC), body))


def signature_header(keys: list[str], msg_id: str, at: datetime, body: str) -> str:
    """The ``webhook-signature`` value: every key's signature, space separated."""
    return " ".join(sign(k, msg_id, at, body) for k in keys)


def signed_headers(keys: list[str], msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one message."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": _timestamp(at),
        "webhook-signature": signature_header(keys, msg_id, at, body),
    }


def verify_v1a(public_key: str, body: bytes | str, headers: dict[str, str], *, now: datetime | None = None) -> None:
    """Verify a ``v1a`` signature with a ``whpk_`` key, as a receiver does; raise if it does not verify."""
    h = {k.lower(): v for k, v in headers.items()}
    msg_id, ts, sigs = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not (msg_id and ts and sigs):
        raise SignatureVerificationError("Missing required headers")
    try:
        at = datetime.fromtimestamp(int(ts), tz=UTC)
    except ValueError as exc:
        raise SignatureVerificationError("Invalid webhook-timestamp") from exc
    if abs((now or datetime.now(UTC)) - at) > TOLERANCE:
        raise SignatureVerificationError("Message timestamp outside the tolerance window")
    text = body.decode() if isinstance(body, bytes) else body
    content = f"{msg_id}.{ts}.{text}".encode()
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
    except (ValueError, binascii.Error) as exc:
        raise SignatureVerificationError("Invalid public key") from exc
    for versioned in sigs.split(" "):
        version, _, sig = versioned.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(base64.b64decode(sig), content)
            return
        except (InvalidSignature, ValueError, binascii.Error):
            continue
    raise SignatureVerificationError("No matching signature found")
