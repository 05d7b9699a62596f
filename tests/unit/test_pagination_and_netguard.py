"""Pagination tokens and the webhook SSRF guard: pure domain rules."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.api.problems import status_of
from chalicelib.domain.errors import InvalidRequestError
from chalicelib.domain.netguard import UnsafeUrlError, check_public_url
from chalicelib.domain.pagination import decode_token, encode_token
from unit.conftest import fake_resolver


def test_token_round_trips_and_is_url_safe() -> None:
    pos = {"workspace_id": "ws/1+2", "seq": "01J0000000000000000000000"}
    token = encode_token(pos)
    assert token and "=" not in token and "+" not in token and "/" not in token
    assert decode_token(token) == pos


def test_end_of_listing_has_no_token() -> None:
    assert encode_token(None) is None and encode_token({}) is None
    assert decode_token(None) is None and decode_token("") is None


@pytest.mark.parametrize(
    "token",
    [
        "!!!",
        "bm90IGpzb24",  # "not json"
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"plugin_id": 5}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"k": {"S": "x"}}).encode()).decode(),
    ],
)
def test_tampered_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        decode_token(token)
    assert status_of(exc.value) == 400


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/hook",
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://10.0.0.1/hook",
        "http://192.168.1.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.100.100.200/",  # Alibaba metadata
        "http://[fd00:ec2::254]/",  # AWS IPv6 metadata
        "http://[::ffff:127.0.0.1]/",  # v4-mapped loopback
        "http://internal.example.test/hook",
        "http://dual.example.test/hook",  # one private address is enough to refuse
        "http://metadata.example.test/",
        "http://224.0.0.1/",  # multicast
    ],
)
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrlError) as exc:
        check_public_url(url, allow_private=False, resolve=fake_resolver_or_literal)
    assert status_of(exc.value) == 422 and exc.value.code == "unsafe-url"


def fake_resolver_or_literal(host: str, port: int) -> list[str]:
    """IP literals resolve to themselves (as getaddrinfo does), names through the fake DNS."""
    import ipaddress

    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return fake_resolver(host, port)


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.test/x", "file:///etc/passwd", "https:///nohost", "https://user:pw@hooks.example.test/"],
)
def test_non_http_or_credentialed_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_public_url(url, allow_private=True, resolve=fake_resolver_or_literal)


def test_unresolvable_hosts_are_refused_even_when_private_is_allowed() -> None:
    with pytest.raises(UnsafeUrlError, match="does not resolve"):
        check_public_url("https://nowhere.example.test/", allow_private=True, resolve=fake_resolver)
    with pytest.raises(UnsafeUrlError, match="does not resolve"):
        check_public_url("https://empty.example.test/", allow_private=True, resolve=lambda h, p: [])


def test_public_targets_pass_and_report_addresses() -> None:
    assert check_public_url("https://hooks.example.test/x", allow_private=False, resolve=fake_resolver) == [
        "93.184.216.34"
    ]


def test_the_resolver_is_asked_for_the_right_port() -> None:
    seen: list[tuple[str, int]] = []

    def spy(host: str, port: int) -> list[str]:
        seen.append((host, port))
        return ["93.184.216.34"]

    check_public_url("https://a.example.test/", allow_private=False, resolve=spy)
    check_public_url("http://b.example.test/", allow_private=False, resolve=spy)
    check_public_url("http://c.example.test:8443/", allow_private=False, resolve=spy)
    assert seen == [("a.example.test", 443), ("b.example.test", 80), ("c.example.test", 8443)]


def test_allow_private_lets_loopback_through_for_local_development() -> None:
    assert check_public_url("http://localhost:9/", allow_private=True, resolve=fake_resolver) == ["127.0.0.1", "::1"]


def test_every_item_reads_page_after_page_only_as_far_as_it_is_consumed() -> None:
    from chalicelib.domain.pagination import every_item

    pages = {None: ([1, 2], "b"), "b": ([], "c"), "c": ([3], None)}  # an empty page in the middle is no end
    asked: list[str | None] = []

    def read(token: str | None) -> tuple[list[int], str | None]:
        asked.append(token)
        return pages[token]

    items = every_item(read)
    assert next(items) == 1 and asked == [None]
    assert list(items) == [2, 3] and asked == [None, "b", "c"]
