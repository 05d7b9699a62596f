"""The webhook HTTP sender: httpx, pinned to a vetted IP address, bounded in time and size.

Every request is resolved and checked against the SSRF rules again at send time (DNS may have
changed since registration), then connected to the vetted address itself while the original Host
header and TLS SNI name are kept — so a second lookup by the HTTP stack cannot be rebound to an
internal address. Redirects are never followed; response bodies are read up to a cap.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx

from chalicelib.domain.deliveries import SendResult, excerpt, parse_retry_after
from chalicelib.domain.netguard import Resolver, UnsafeUrlError, check_public_url, system_resolver

__all__ = ["HttpxWebhookSender", "PinnedTransport"]

USER_AGENT = "Plugyard-Webhooks/1.0 (+https://plugyard.dev/docs/webhooks)"


class PinnedTransport(httpx.BaseTransport):
    """Resolves the URL's host once, refuses unsafe addresses, and connects to the address it vetted."""

    def __init__(
        self, *, allow_private: bool, resolve: Resolver = system_resolver, inner: httpx.BaseTransport | None = None
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        self._inner = inner or httpx.HTTPTransport(retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        addrs = check_public_url(str(request.url), allow_private=self._allow_private, resolve=self._resolve)
        # Prefer IPv4 when both families resolve: loopback receivers and most CI hosts listen there.
        address = next((a for a in addrs if ":" not in a), addrs[0])
        request.url = request.url.copy_with(host=address.split("%", 1)[0])
        # httpx set Host from the original URL when the request was built; keep it, and the SNI name.
        request.extensions = {**request.extensions, "sni_hostname": host, "plugyard_address": address}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class HttpxWebhookSender:
    """POSTs signed payloads; turns every transport problem into a SendResult, never an exception."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolve: Resolver = system_resolver,
        connect_timeout_s: float = 5.0,
        total_timeout_s: float = 15.0,
        max_body_bytes: int = 64 * 1024,
        inner: httpx.BaseTransport | None = None,
    ) -> None:
        self._total = total_timeout_s
        self._max_body = max_body_bytes
        self._client = httpx.Client(
            transport=PinnedTransport(allow_private=allow_private, resolve=resolve, inner=inner),
            follow_redirects=False,
            timeout=httpx.Timeout(total_timeout_s, connect=connect_timeout_s),
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        started = time.perf_counter()

        def elapsed_ms() -> float:
            return round((time.perf_counter() - started) * 1000, 2)

        try:
            with self._client.stream(
                "POST", url, content=body, headers={"Content-Type": "application/json", **headers}
            ) as resp:
                # A transport may hand over a body it already read (httpx.MockTransport does).
                raw = bytearray(resp.content) if resp.is_stream_consumed else bytearray()
                chunks = () if resp.is_stream_consumed else resp.iter_raw()
                for chunk in chunks:
                    raw += chunk
                    if len(raw) >= self._max_body:
                        break
                    if time.perf_counter() - started > self._total:
                        raise httpx.ReadTimeout("total time budget exceeded", request=resp.request)
                return SendResult(
                    status_code=resp.status_code,
                    latency_ms=elapsed_ms(),
                    response_excerpt=excerpt(bytes(raw[: self._max_body]).decode("utf-8", "replace")),
                    retry_after_s=parse_retry_after(resp.headers.get("retry-after"), datetime.now(UTC)),
                    address=str(resp.request.extensions.get("plugyard_address") or resp.request.url.host),
                )
        except UnsafeUrlError as exc:
            return SendResult(latency_ms=elapsed_ms(), error=f"refused: {exc.detail}")
        except httpx.TimeoutException as exc:
            return SendResult(latency_ms=elapsed_ms(), error=f"timeout ({type(exc).__name__}): {exc}".rstrip(": "))
        except httpx.HTTPError as exc:
            return SendResult(latency_ms=elapsed_ms(), error=f"{type(exc).__name__}: {exc}".rstrip(": "))

    def close(self) -> None:
        self._client.close()
