"""The httpx webhook sender: SSRF check at send time, the pinned address with Host and SNI kept, no redirects."""

from __future__ import annotations

import httpx
import pytest

from chalicelib.adapters.webhook_http import HttpxWebhookSender
from unit.conftest import FAKE_DNS, fake_resolver


def sender_seeing(
    seen: list[httpx.Request], response: httpx.Response | None = None, **kw: object
) -> HttpxWebhookSender:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response or httpx.Response(204)

    return HttpxWebhookSender(
        allow_private=bool(kw.get("allow_private", False)), resolve=fake_resolver, inner=httpx.MockTransport(handler)
    )


def test_connects_to_the_vetted_address_keeping_host_and_sni() -> None:
    seen: list[httpx.Request] = []
    result = sender_seeing(seen).send("https://hooks.example.test/in?x=1", b"{}", {"webhook-id": "m1"})
    assert result.status_code == 204 and result.error is None and result.address == "93.184.216.34"
    [req] = seen
    assert req.url.host == "93.184.216.34" and req.url.path == "/in" and req.url.query == b"x=1"
    assert req.headers["host"] == "hooks.example.test" and req.extensions["sni_hostname"] == "hooks.example.test"
    assert req.headers["webhook-id"] == "m1" and req.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "url",
    [
        "https://internal.example.test/x",
        "https://dual.example.test/x",  # one public and one private address: refused
        "https://metadata.example.test/latest",
        "http://localhost:8080/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/",
        "https://nowhere.example.test/",
    ],
)
def test_unsafe_or_unresolvable_targets_are_refused_at_send_time(url: str) -> None:
    seen: list[httpx.Request] = []
    result = sender_seeing(seen).send(url, b"{}", {})
    assert result.status_code is None and result.error and result.error.startswith("refused")
    assert seen == []


def test_private_targets_only_when_allowed_and_ipv6_is_pinned_too() -> None:
    seen: list[httpx.Request] = []
    FAKE_DNS["v6only.example.test"] = ["::1"]
    try:
        assert sender_seeing(seen, allow_private=True).send("http://v6only.example.test:81/", b"{}", {}).ok
    finally:
        del FAKE_DNS["v6only.example.test"]
    assert seen[0].url.host == "::1" and seen[0].url.port == 81 and seen[0].headers["host"] == "v6only.example.test:81"


def test_redirects_are_not_followed_and_bodies_are_capped() -> None:
    seen: list[httpx.Request] = []
    redirect = httpx.Response(302, headers={"Location": "http://169.254.169.254/"})
    result = sender_seeing(seen, redirect).send("https://hooks.example.test/", b"{}", {})
    assert result.status_code == 302 and not result.ok and len(seen) == 1
    big = httpx.Response(500, content=b"e" * 200_000, headers={"Retry-After": "7"})
    result = sender_seeing([], big).send("https://hooks.example.test/", b"{}", {})
    assert result.retry_after_s == 7 and len(result.response_excerpt) <= 1025


def test_connection_errors_become_results() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    s = HttpxWebhookSender(allow_private=False, resolve=fake_resolver, inner=httpx.MockTransport(boom))
    result = s.send("https://hooks.example.test/", b"{}", {})
    assert result.status_code is None and "ConnectError" in (result.error or "")
