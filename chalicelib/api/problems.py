"""RFC 7807 problem responses: the one place errors become HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from chalice.app import Request, Response

from chalicelib.domain.errors import PlugyardError

__all__ = ["PROBLEM_BASE", "PROBLEM_TYPE", "problem", "problem_from_error", "request_id_of", "request_instance"]

PROBLEM_BASE = "https://plugyard.dev/problems/"
PROBLEM_TYPE = "application/problem+json"


def request_id_of(request: Request | None) -> str:
    """API Gateway's request id (the local gateway sets one too); minted when there is none."""
    ctx = (request.context if request is not None else None) or {}
    return str(ctx.get("requestId") or ctx.get("extendedRequestId") or uuid.uuid4())


def request_instance(request: Request | None, default: str = "/") -> str:
    """The problem's ``instance``: the path the caller asked for."""
    ctx = (request.context if request is not None else None) or {}
    return str(ctx.get("path") or default)


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    request_id: str | None = None,
    headers: Mapping[str, str | list[str]] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response with a stable ``type`` URI derived from ``code``."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    out_headers: dict[str, str | list[str]] = {"Content-Type": PROBLEM_TYPE, **(headers or {})}
    if request_id:
        out_headers["X-Request-Id"] = request_id
    return Response(body=json.dumps(body, default=str), status_code=status, headers=out_headers)


def problem_from_error(exc: PlugyardError, *, instance: str | None, request_id: str | None) -> Response:
    """The problem response of a domain error."""
    headers: dict[str, str | list[str]] = {}
    retry = exc.extensions.get("retry_after_s")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return problem(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        instance=instance,
        request_id=request_id,
        headers=headers,
        **exc.extensions,
    )
