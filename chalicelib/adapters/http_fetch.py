"""Outbound HTTP for ``ctx.http.fetch``: httpx, connected to the one address the broker checked."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from chalicelib.domain.errors import NetworkError

__all__ = ["HttpxFetcher"]

_DROP_HEADERS = {"host", "connection", "transfer-encoding", "content-length", "proxy-authorization"}


class HttpxFetcher:
    """Requests go to ``pinned_ip`` (no second DNS lookup a rebinding attack could answer differently),
    with the original Host header and TLS server name; no redirects are followed, bodies are capped."""

    def __init__(self, *, timeout_s: float = 10.0, max_body_bytes: int = 1024 * 1024) -> None:
        self._timeout = timeout_s
        self._max_body = max_body_bytes

    def fetch(
        self, *, url: str, pinned_ip: str, method: str, headers: dict[str, str], body: str | None
    ) -> dict[str, Any]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        ip_host = f"[{pinned_ip}]" if ":" in pinned_ip else pinned_ip
        netloc = f"{ip_host}:{parts.port}" if parts.port else ip_host
        pinned_url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        out_headers = {k: v for k, v in headers.items() if k.lower() not in _DROP_HEADERS}
        out_headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
        try:
            return self._send(method, pinned_url, out_headers, body, host)
        except httpx.TransportError as exc:
            # Connect refused, TLS failure, timeout: the plugin learns the network failed, nothing more.
            raise NetworkError(f"{parts.hostname} could not be reached ({type(exc).__name__}).") from exc

    def _send(
        self, method: str, pinned_url: str, out_headers: dict[str, str], body: str | None, host: str
    ) -> dict[str, Any]:
        with (
            httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as client,
            client.stream(
                method.upper(),
                pinned_url,
                headers=out_headers,
                content=body.encode() if body is not None else None,
                extensions={"sni_hostname": host},
            ) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            truncated = False
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self._max_body:
                    truncated = True
                    break
                chunks.append(chunk)
            return {
                "status": response.status_code,
                "headers": dict(response.headers),
                "body": b"".join(chunks).decode(response.encoding or "utf-8", errors="replace"),
                "truncated": truncated,
            }
