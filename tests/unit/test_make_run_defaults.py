"""`make run` keeps the production guards unless the reader turns one off (as the README's walkthrough does)."""

from __future__ import annotations

import sys

import pytest

from chalicelib.config import Settings
from chalicelib.local.stack import MOTO_MODULE, LocalStack


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


def test_a_measured_run_traces_the_api_and_workers_but_not_the_moto_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # What coverage's subprocess patch sets in `make test`: every Python child would start the tracer.
    monkeypatch.setenv("COVERAGE_PROCESS_START", "pyproject.toml")
    monkeypatch.setenv("COVERAGE_PROCESS_CONFIG", "{}")
    stack = LocalStack(api_port=1, moto_port=2)
    try:
        moto = stack.child_env([sys.executable, "-m", MOTO_MODULE, "--port", "2"])
        api = stack.child_env([sys.executable, "-m", "chalicelib.local.gateway", "--port", "1"])
    finally:
        stack.stop()
    assert "COVERAGE_PROCESS_START" not in moto and "COVERAGE_PROCESS_CONFIG" not in moto
    assert api["COVERAGE_PROCESS_START"] == "pyproject.toml" and api["COVERAGE_PROCESS_CONFIG"] == "{}"
    assert moto["PLUGYARD_AWS_ENDPOINT_URL"] == api["PLUGYARD_AWS_ENDPOINT_URL"]  # otherwise the same environment
