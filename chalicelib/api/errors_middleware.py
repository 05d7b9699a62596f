"""Turns the errors Chalice itself produces (405, 415, its 500) into RFC 7807 problems."""

from __future__ import annotations

import json
from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib.api.problems import PROBLEM_TYPE, problem, request_id_of, request_instance

__all__ = ["problem_middleware"]

_CODES = {
    400: "invalid-request",
    404: "not-found",
    405: "method-not-allowed",
    415: "unsupported-media-type",
    500: "internal-error",
}


def problem_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Rewrite a non-problem error response from the framework into a problem."""
    response = get_response(request)
    if response.status_code < 400:
        return response
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    if headers.get("content-type") == PROBLEM_TYPE:
        return response
    try:
        body = json.loads(response.body) if isinstance(response.body, (str, bytes)) else response.body
        message = str(body.get("Message") or body.get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    status = response.status_code
    extra = {"Allow": headers["allow"]} if "allow" in headers else {}
    detail = message if status != 500 else "Something went wrong on our side."
    return problem(
        status,
        _CODES.get(status, "http-error"),
        message.split(":")[0] if message and status != 500 else "Error",
        detail or "The request failed.",
        instance=request_instance(request),
        request_id=request_id_of(request),
        headers=extra,
    )
