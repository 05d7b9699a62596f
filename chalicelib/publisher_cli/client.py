"""The CLI's one HTTP client: every API refusal becomes one clear line and a stable exit code.

The API answers errors as RFC 7807 problems (``title``, ``detail``, ``type``, sometimes ``errors``); a 4xx
is the caller's to fix (exit 1), a 5xx or a connection that fails is the platform's (exit 3).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from chalicelib.publisher_cli.exits import ApiError, CliError, ExitCode
from chalicelib.publisher_cli.profiles import Connection

__all__ = ["ApiClient", "ApiError", "problem_error"]

_CHUNK = 64 * 1024


def _pointer(loc: str) -> str:
    """A problem's ``loc`` (``resources.memory_mb``) as a JSON pointer (``/resources/memory_mb``)."""
    if loc.startswith("/"):
        return loc
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in loc.split(".")) if loc else "/"


def problem_error(status: int, body: Any) -> ApiError:
    """The ApiError for an error answer: its problem fields, or its status and the start of its text."""
    if isinstance(body, dict) and ("title" in body or "type" in body):
        details = []
        for err in body.get("errors") or []:
            if isinstance(err, dict):
                details.append(f"{_pointer(str(err.get('loc', '')))}: {err.get('msg', '')}")
        return ApiError(
            status,
            str(body.get("title") or f"HTTP {status}"),
            str(body.get("detail") or ""),
            str(body.get("type") or "about:blank"),
            details,
        )
    text = body if isinstance(body, str) else ""
    return ApiError(status, f"HTTP {status}", " ".join(text.split())[:200], "about:blank", [])


class ApiClient:
    """Authenticated calls to one Plugyard API; answers are parsed JSON (None for 204)."""

    def __init__(self, conn: Connection, *, timeout: float = 30.0) -> None:
        self.conn = conn
        self._http = httpx.Client(
            base_url=conn.api_url,
            headers={"Authorization": f"Bearer {conn.api_key}", "User-Agent": "plugyard-cli"},
            timeout=timeout,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool = False,
    ) -> Any:
        """One call; raises ApiError for an error answer and CliError(UNREACHABLE) when there is no answer."""
        headers = {"Idempotency-Key": str(uuid.uuid4())} if idempotent else {}
        try:
            resp = self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise unreachable(self.conn.api_url, exc) from exc
        return _answer(resp)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None} or None)

    def post(self, path: str, body: Any = None, *, idempotent: bool = False) -> Any:
        return self.request("POST", path, json=body, idempotent=idempotent)

    def put(self, path: str, body: Any = None) -> Any:
        return self.request("PUT", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def upload(
        self, url: str, data: bytes, headers: dict[str, str], progress: Callable[[int], None] | None = None
    ) -> None:
        """PUT bytes to a presigned URL (no API key: the URL is the credential), reporting bytes sent."""

        def chunks() -> Iterator[bytes]:
            for at in range(0, len(data), _CHUNK):
                piece = data[at : at + _CHUNK]
                yield piece
                if progress is not None:
                    progress(len(piece))

        try:
            resp = httpx.put(url, content=chunks(), headers={**headers, "Content-Length": str(len(data))}, timeout=120)
        except httpx.HTTPError as exc:
            raise unreachable(url.split("?", 1)[0], exc) from exc
        if resp.status_code >= 300:
            raise CliError(
                f"the upload was refused: HTTP {resp.status_code} {' '.join(resp.text.split())[:200]}",
                ExitCode.API_REFUSED if resp.status_code < 500 else ExitCode.UNREACHABLE,
            )


def unreachable(url: str, exc: httpx.HTTPError) -> CliError:
    """No answer at all: name the URL and what went wrong."""
    reason = str(exc) or type(exc).__name__
    return CliError(
        f"cannot reach {url}: {reason} (is the stack running? `make run`, or check PLUGYARD_API_URL)",
        ExitCode.UNREACHABLE,
    )


def _answer(resp: httpx.Response) -> Any:
    body: Any
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = resp.text
    if resp.status_code >= 400:
        raise problem_error(resp.status_code, body)
    return body
