"""Hostile input at the domain edge: JSON depth, sealed pagination tokens, IPv6 SSRF forms, URL length, DNS."""

from __future__ import annotations

import ipaddress
import json
import socket

import pytest

from chalicelib.adapters.http_fetch import HttpxFetcher
from chalicelib.api.problems import status_of
from chalicelib.domain.errors import HostUnresolvableError, InvalidRequestError, NetworkError, UnsafeUrlError
from chalicelib.domain.json_input import MAX_JSON_DEPTH, json_depth, parse_json
from chalicelib.domain.netguard import MAX_URL_LENGTH, check_public_url, is_public_address, system_resolver
from chalicelib.domain.pagination import PageTokenSealer, encode_token
from unit.test_broker import ALL, World

# --- JSON ------------------------------------------------------------------------------------


def test_depth_counts_arrays_and_objects_but_not_brackets_inside_strings() -> None:
    assert json_depth('{"a": [1, {"b": "[[[\\"{{{"}]}') == 3
    assert json_depth("7") == 0 and json_depth("[[], [[]]]") == 3


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deep_json_is_a_400_not_a_recursion_error(opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    bomb = opener * 100_000 + "1" + closer * 100_000
    with pytest.raises(InvalidRequestError) as exc:
        parse_json(bomb.encode())
    assert status_of(exc.value) == 400 and exc.value.extensions["max_depth"] == MAX_JSON_DEPTH


def test_json_at_the_depth_limit_parses() -> None:
    text = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json.dumps(parse_json(text)) == text.replace("][", "], [")


@pytest.mark.parametrize("raw", [b"\xff\xfe{}", b"{oops", b'{"a": 1'])
def test_undecodable_or_broken_json_is_400(raw: bytes) -> None:
    with pytest.raises(InvalidRequestError):
        parse_json(raw)


# --- pagination tokens -----------------------------------------------------------------------

SEALER = PageTokenSealer(b"k" * 32)
INNER = encode_token({"workspace_id": "ws-a", "seq": "0001"})


def test_a_sealed_token_opens_only_for_the_listing_that_issued_it() -> None:
    token = SEALER.seal(INNER, '["GET /api/audit","ws-a"]')
    assert token is not None and SEALER.open(token, '["GET /api/audit","ws-a"]') == INNER
    for scope in ('["GET /api/audit","ws-b"]', '["GET /api/tasks","ws-a"]'):
        with pytest.raises(InvalidRequestError, match="does not belong"):
            SEALER.open(token, scope)


@pytest.mark.parametrize("forged", [INNER, f"{INNER}.AAAA", "x.y.z", ".", "!!!", "a" * 500])
def test_forged_tokens_are_400(forged: str) -> None:
    with pytest.raises(InvalidRequestError):
        SEALER.open(forged, "scope")


def test_another_key_cannot_open_a_token_and_the_end_has_none() -> None:
    token = SEALER.seal(INNER, "s")
    with pytest.raises(InvalidRequestError):
        PageTokenSealer(b"o" * 32).open(token, "s")
    assert SEALER.seal(None, "s") is None and SEALER.open(None, "s") is None and SEALER.open("", "s") is None


# --- SSRF: IPv4 hidden in IPv6 -----------------------------------------------------------------


@pytest.mark.parametrize(
    "addr",
    [
        "::127.0.0.1",  # IPv4-compatible loopback
        "::a9fe:a9fe",  # IPv4-compatible metadata 169.254.169.254
        "::ffff:127.0.0.1",  # v4-mapped
        "::ffff:0:7f00:1",  # v4-translated (SIIT)
        "64:ff9b::7f00:1",  # NAT64 well-known prefix → 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 → metadata
        "64:ff9b:1::a00:1",  # NAT64 local-use
        "64:ff9b:1::5db8:d822",  # NAT64 local-use, even with a public-looking suffix
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "fec0::1",  # site-local
        "::",
        "::1",
        "fe80::1%eth0",
        "fd00:ec2::254",
    ],
)
def test_every_ipv6_form_of_a_private_address_is_refused(addr: str) -> None:
    assert not is_public_address(addr)
    host = f"[{addr.split('%')[0]}]"
    with pytest.raises(UnsafeUrlError):
        check_public_url(f"http://{host}/x", allow_private=False, resolve=lambda h, p: [str(ipaddress.ip_address(h))])


@pytest.mark.parametrize("addr", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "64:ff9b::5db8:d822"])
def test_public_addresses_pass(addr: str) -> None:
    assert is_public_address(addr)


def test_over_long_urls_are_refused_before_resolving() -> None:
    resolved: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["93.184.216.34"]

    url = "https://hooks.example.test/" + "a" * MAX_URL_LENGTH
    with pytest.raises(UnsafeUrlError, match="characters long"):
        check_public_url(url, allow_private=False, resolve=resolve)
    assert resolved == []


@pytest.mark.parametrize("url", ["http://hooks.example.test:99999/", "http://[::1/"])
def test_unparsable_urls_are_refused_not_crashes(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_public_url(url, allow_private=False, resolve=lambda h, p: ["93.184.216.34"])


# --- http.fetch: a DNS failure is a network error, not a permission verdict -------------------


def test_offline_dns_failure_in_http_fetch_is_a_network_error() -> None:
    world = World()
    # The real system resolver: ``.test`` names never resolve (RFC 6761), online or off.
    world.service.resolve = system_resolver
    broker = world.broker(ALL)
    with pytest.raises(NetworkError, match="does not resolve") as exc:
        broker("http.fetch", {"url": "https://api.example.test/x"})
    assert type(exc.value).__name__ == "NetworkError"  # the error type the plugin's CapabilityError carries
    assert world.denials() == [] and world.http.calls == []


def test_unresolvable_hosts_stay_a_422_refusal_for_webhooks() -> None:
    with pytest.raises(HostUnresolvableError) as exc:
        check_public_url("https://nowhere.invalid/", allow_private=False)
    assert status_of(exc.value) == 422


def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError, match="could not be reached"):
        HttpxFetcher(timeout_s=2).fetch(
            url=f"http://localhost:{port}/", pinned_ip="127.0.0.1", method="GET", headers={}, body=None
        )
