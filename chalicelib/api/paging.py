"""The key that seals pagination tokens, derived once per process from the capability key."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading

from aws_lambda_powertools import Logger

from chalicelib.config import Settings
from chalicelib.domain.pagination import PageTokenSealer

__all__ = ["page_sealer"]

log = Logger(service="plugyard", child=True)

# A separate purpose label: a pagination MAC can never pass for a capability token, or the reverse.
_PURPOSE = b"plugyard pagination tokens v1"
_lock = threading.Lock()
_sealers: dict[int, PageTokenSealer] = {}


def page_sealer(settings: Settings) -> PageTokenSealer:
    """The sealer of this process (one per Settings object, so tests that rebuild services get their own)."""
    sealer = _sealers.get(id(settings))
    if sealer is None:
        with _lock:
            sealer = _sealers.setdefault(id(settings), PageTokenSealer(_derive(_root_key(settings))))
    return sealer


def _derive(root: bytes) -> bytes:
    return hmac.new(root, _PURPOSE, hashlib.sha256).digest()


def _root_key(settings: Settings) -> bytes:
    # Every API process of a stage shares the capability key (the stack's secret, or Settings), so a token
    # issued by one Lambda container opens in another.
    if settings.capability_key_secret:
        from chalicelib.adapters.aws import aws_client
        from chalicelib.adapters.capability_keys import read_capability_keys

        return read_capability_keys(aws_client(settings, "secretsmanager"), settings.capability_key_secret).current
    if settings.capability_key is not None:
        return settings.capability_key.get_secret_value().encode()
    if settings.executor == "lambda":
        log.warning("PLUGYARD_CAPABILITY_KEY is unset: next_token values open only in the process that issued them")
    return os.urandom(32)
