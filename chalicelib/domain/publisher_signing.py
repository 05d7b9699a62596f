"""Publisher signatures: Ed25519 over the artifact's sha256 digest (hex, ASCII)."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chalicelib.domain.errors import InvalidSignatureError

__all__ = ["InvalidSignatureError", "key_fingerprint", "load_public_key", "sign_digest", "verify_digest"]


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignatureError(f"The {what} is not valid base64.") from exc


def load_public_key(public_key_b64: str) -> Ed25519PublicKey:
    """A raw 32-byte Ed25519 public key from base64; InvalidSignatureError otherwise."""
    raw = _b64(public_key_b64, "public key")
    if len(raw) != 32:
        raise InvalidSignatureError("An Ed25519 public key is 32 bytes (base64 of the raw key).")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_fingerprint(public_key_b64: str) -> str:
    """A short, stable id for a public key: the first 16 hex chars of sha256 of its raw bytes."""
    return hashlib.sha256(_b64(public_key_b64, "public key")).hexdigest()[:16]


def sign_digest(private_key: Ed25519PrivateKey, sha256_hex: str) -> str:
    """What a publisher's tooling does: base64 Ed25519 signature over the hex digest."""
    return base64.b64encode(private_key.sign(sha256_hex.encode("ascii"))).decode()


def verify_digest(public_key_b64: str, sha256_hex: str, signature_b64: str) -> bool:
    """True when ``signature_b64`` is the key's signature over ``sha256_hex``."""
    key = load_public_key(public_key_b64)
    sig = _b64(signature_b64, "signature")
    try:
        key.verify(sig, sha256_hex.encode("ascii"))
    except InvalidSignature:
        return False
    return True
