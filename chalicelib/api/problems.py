"""RFC 7807 problem responses: the one place errors become HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError
from chalice.app import Request, Response

from chalicelib.domain.errors import (
    ConflictError,
    DependencyUnavailableError,
    ForbiddenError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    PlugyardError,
    TooManyRequestsError,
    UnauthenticatedError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)

__all__ = [
    "HTTP_STATUS",
    "PROBLEM_BASE",
    "PROBLEM_TYPE",
    "problem",
    "problem_from_error",
    "request_id_of",
    "request_instance",
    "status_of",
    "transient_aws_failure",
]

PROBLEM_BASE = "https://plugyard.dev/problems/"
PROBLEM_TYPE = "application/problem+json"


# The one table from the error tree (domain/errors/) to HTTP: an error answers with the status of
# its nearest ancestor listed here. Caller mistakes are 4xx; only a failing dependency is a 5xx.
HTTP_STATUS: dict[type[PlugyardError], int] = {
    PlugyardError: 500,
    InvalidRequestError: 400,
    UnauthenticatedError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    PayloadTooLargeError: 413,
    UnsupportedMediaTypeError: 415,
    ValidationFailedError: 422,
    TooManyRequestsError: 429,
    NetworkError: 502,
    DependencyUnavailableError: 503,
}


# Error codes AWS answers when a service is throttling or briefly failing: worth a retry by the caller.
_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "KMSInternalException",
        "KeyUnavailableException",
        "DependencyTimeoutException",
        "TransactionInProgressException",
    }
)


def transient_aws_failure(exc: BaseException) -> bool:
    """Whether an exception (or the one it was raised from) is an AWS service throttling, failing briefly or
    unreachable: a 503 the caller may retry, not a 500. An AccessDenied or a validation error is not."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, (ConnectionError, ReadTimeoutError)):
            return True
        if isinstance(seen, ClientError):
            error = seen.response.get("Error", {})
            status = seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return error.get("Code") in _TRANSIENT_CODES or status >= 500
        if isinstance(seen, BotoCoreError):
            return False
        seen = seen.__cause__ or seen.__context__
    return False


def status_of(exc: PlugyardError | type[PlugyardError]) -> int:
    """The HTTP status of a domain error, from HTTP_STATUS."""
    cls = exc if isinstance(exc, type) else type(exc)
    return next(HTTP_STATUS[c] for c in cls.__mro__ if c in HTTP_STATUS)


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
    return Response(body=json.dumps(body, default=str, separators=(",", ":")), status_code=status, headers=out_headers)


def problem_from_error(exc: PlugyardError, *, instance: str | None, request_id: str | None) -> Response:
    """The problem response of a domain error."""
    headers: dict[str, str | list[str]] = {}
    retry = exc.extensions.get("retry_after_s")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return problem(
        status_of(exc),
        exc.code,
        exc.title,
        exc.detail,
        instance=instance,
        request_id=request_id,
        headers=headers,
        **exc.extensions,
    )
