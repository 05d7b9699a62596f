"""SSRF guard: refuse URLs that resolve to private, loopback, link-local or metadata addresses.

An IPv6 address can carry an IPv4 address inside it, and a host that routes the IPv6 form (a NAT64
gateway, a 6to4 relay, a dual-stack kernel) delivers to that IPv4 address. So every form that embeds
one is judged by the address it embeds: v4-mapped ``::ffff:a.b.c.d``, v4-translated ``::ffff:0:a.b.c.d``,
v4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16`` and Teredo ``2001::/32`` (server
and client). Ranges whose embedding cannot be read from the address alone (NAT64 local-use
``64:ff9b:1::/48``) and deprecated site-local ``fec0::/10`` are refused outright.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.errors import HostUnresolvableError, UnsafeUrlError

__all__ = ["MAX_URL_LENGTH", "Resolver", "UnsafeUrlError", "check_public_url", "is_public_address"]

Resolver = Callable[[str, int], list[str]]

# Longer URLs are refused before they are parsed or resolved (browsers and CDNs cap near 2 KB too).
MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints that are not covered by the private/link-local ranges.
_METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}
# Prefixes whose last 32 bits are an IPv4 address.
_LOW32_EMBEDDING = (
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated), :: and ::1 included
    ipaddress.ip_network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.ip_network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64 well-known prefix
)
_REFUSED_V6 = (
    ipaddress.ip_network("64:ff9b:1::/48"),  # NAT64 local-use: the IPv4 part's position is site-defined
    ipaddress.ip_network("fec0::/10"),  # site-local (deprecated, still routed by some stacks)
)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host:port."""
    infos: list[Any] = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found: list[ipaddress.IPv4Address] = []
    if any(ip in net for net in _LOW32_EMBEDDING):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _is_public_ip(ip: IPAddress) -> bool:
    return ip.is_global and not ip.is_multicast and ip not in _METADATA


def is_public_address(addr: str) -> bool:
    """True when ``addr`` (and any IPv4 address embedded in it) is a public unicast address."""
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED_V6):
            return False
        embedded = _embedded_ipv4(ip)
        if embedded:
            return all(_is_public_ip(v4) for v4 in embedded)
    return _is_public_ip(ip)


def check_public_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> list[str]:
    """The addresses ``url`` resolves to; UnsafeUrlError if any is not public (unless allowed).

    HostUnresolvableError when the name does not resolve: that is a network condition, not a verdict
    on the target.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError(f"The URL is {len(url)} characters long; at most {MAX_URL_LENGTH} are accepted.")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:  # e.g. a port out of range or a malformed IPv6 literal
        raise UnsafeUrlError(f"The URL cannot be parsed: {exc}.", url=url) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrlError("Only http and https URLs with a host are allowed.", url=url)
    if parts.username or parts.password:
        raise UnsafeUrlError("URLs must not carry credentials.", url=url)
    try:
        addrs = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise HostUnresolvableError(f"The host '{parts.hostname}' does not resolve.", url=url) from exc
    if not addrs:
        raise HostUnresolvableError(f"The host '{parts.hostname}' does not resolve.", url=url)
    if not allow_private:
        bad = [a for a in addrs if not is_public_address(a)]
        if bad:
            raise UnsafeUrlError(
                f"'{parts.hostname}' resolves to a private, loopback, link-local or metadata address "
                f"({', '.join(bad)}); such targets are refused.",
                url=url,
            )
    return addrs
