"""The console's files as the API serves them: types, the Content-Security-Policy, and nothing but its folder."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.test import Client

import app as app_module
from chalicelib.adapters.aws import S3ArtifactStore, aws_client
from chalicelib.adapters.memory.platform import InMemoryArtifactStore
from chalicelib.api.console import ASSETS, content_security_policy, live_origin
from chalicelib.config import Settings
from chalicelib.container import services, settings


@pytest.fixture(scope="module")
def client() -> Any:
    with Client(app_module.app) as c:
        yield c


def test_the_page_and_every_file_with_its_type_and_the_csp(client: Any) -> None:
    page = client.http.get("/console")
    assert page.status_code == 200 and page.body.decode() == (ASSETS / "index.html").read_text()
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = content_security_policy(settings().live_public_url, services().adapters.artifacts.upload_prefix())
    assert page.headers["Content-Security-Policy"] == csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    html = page.body.decode()
    assert "<script>" not in html and not re.search(r"\son\w+=", html)  # no inline script or handler
    types = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
    for path in ASSETS.iterdir():
        answer = client.http.get(f"/console/{path.name}")
        assert answer.status_code == 200, path.name
        assert answer.headers["Content-Type"].startswith(types[path.suffix]), path.name
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["missing.js", "..%2Fconsole.py", "%2E%2E%2Fapi%2Fconsole.py", ".hidden.js", "app.py"])
def test_anything_else_is_a_404_problem(client: Any, name: str) -> None:
    answer = client.http.get(f"/console/{name}")
    assert answer.status_code == 404
    assert json.loads(answer.body)["type"].endswith("/not-found")


def test_the_openapi_document_says_what_the_console_answers(client: Any) -> None:
    doc = json.loads(client.http.get("/api/openapi.json").body)
    page = doc["paths"]["/console"]["get"]
    assert "text/html" in page["responses"]["200"]["content"] and "security" not in page
    asset = doc["paths"]["/console/{asset}"]["get"]
    assert "text/*" in asset["responses"]["200"]["content"] and "404" in asset["responses"]


def test_the_csp_lets_the_console_connect_to_its_own_origin_and_the_live_socket_only() -> None:
    assert "connect-src 'self';" in content_security_policy(None)
    local = content_security_policy("ws://127.0.0.1:8123/")
    assert "connect-src 'self' ws://127.0.0.1:8123;" in local
    aws = content_security_policy("wss://abc123.execute-api.eu-west-1.amazonaws.com/api")
    assert "connect-src 'self' wss://abc123.execute-api.eu-west-1.amazonaws.com;" in aws
    # Nothing that is not a WebSocket URL widens the policy (an http origin, credentials, garbage).
    for odd in ["http://evil.example", "ws://user:pw@host:1/", "not a url", ""]:
        assert live_origin(odd) is None
        assert "connect-src 'self';" in content_security_policy(odd)


def test_the_policy_lets_the_browser_put_to_the_artifact_bucket_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """connect-src names the configured bucket (a path-prefix source) beside the live socket, nothing broader."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")  # presigning signs locally; no request is made
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    for config in (Settings(region="eu-west-1"), Settings(aws_endpoint_url="http://127.0.0.1:4566")):
        store = S3ArtifactStore(aws_client(config, "s3"), config.bucket)
        url, _ = store.presign_put("uploads/ws/01J0000000000000000000000.zip", expires_s=60)
        prefix = store.upload_prefix()
        assert url.startswith(prefix) and prefix.endswith(f"/{config.bucket}/")
        policy = content_security_policy("ws://127.0.0.1:8001/", prefix)
        assert f"connect-src 'self' ws://127.0.0.1:8001 {prefix};" in policy and "*" not in policy
    fake = InMemoryArtifactStore()
    assert fake.presign_put("uploads/x.zip", expires_s=1)[0].startswith(fake.upload_prefix())
    for bad in ("*", "https://*.amazonaws.com/", "https://s3.amazonaws.com/b/; script-src *", "memory://"):
        with pytest.raises(ValueError, match="exactly"):
            content_security_policy(None, bad)
