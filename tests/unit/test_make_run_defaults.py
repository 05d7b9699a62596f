"""`make run` keeps the production guards unless the reader turns one off (as the README's walkthrough does)."""

from __future__ import annotations

import pytest

from chalicelib.config import Settings
from chalicelib.local.stack import LocalStack


def test_make_run_refuses_private_webhook_urls_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGYARD_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("PLUGYARD_HTTP_FETCH_ALLOW_PRIVATE", raising=False)
    stack = LocalStack(api_port=1, moto_port=2)  # as `make run` (chalicelib.local.stack.main) builds it
    try:
        env = stack.env()
    finally:
        stack.stop()
    # The API reads its Settings from this environment: nothing turns the SSRF guards off.
    assert "PLUGYARD_WEBHOOKS_ALLOW_PRIVATE" not in env and "PLUGYARD_HTTP_FETCH_ALLOW_PRIVATE" not in env
    settings = Settings()
    assert settings.webhooks_allow_private is False and settings.http_fetch_allow_private is False
