"""SSRF guard: refuse URLs that resolve to private, loopback, link-local or metadata addresses."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.errors import ValidationFailedError

__all__ = ["Resolver", "UnsafeUrlError", "check_public_url"]

Resolver = Callable[[str, int], list[str]]

# Cloud metadata endpoints that are not covered by the private/link-local ranges.
_METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


class UnsafeUrlError(ValidationFailedError):
    """The URL points at an address the platform will not call."""

    code, title = "unsafe-url", "The URL is not allowed"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host:port."""
    infos: list[Any] = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def _is_public(addr: str) -> bool:
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast and ip not in _METADATA


def check_public_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> list[str]:
    """The addresses ``url`` resolves to; UnsafeUrlError if any is not public (unless allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrlError("Only http and https URLs with a host are allowed.", url=url)
    if parts.username or parts.password:
        raise UnsafeUrlError("URLs must not carry credentials.", url=url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addrs = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrlError(f"The host '{parts.hostname}' does not resolve.", url=url) from exc
    if not addrs:
        raise UnsafeUrlError(f"The host '{parts.hostname}' does not resolve.", url=url)
    if not allow_private:
        bad = [a for a in addrs if not _is_public(a)]
        if bad:
            raise UnsafeUrlError(
                f"'{parts.hostname}' resolves to a private, loopback, link-local or metadata address "
                f"({', '.join(bad)}); such targets are refused.",
                url=url,
            )
    return addrs
