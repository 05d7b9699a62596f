"""Route declaration: auth, body parsing, error mapping and the OpenAPI registry in one decorator."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from chalice.app import Blueprint, Request, Response
from pydantic import BaseModel, ValidationError

from chalicelib.api.paging import page_sealer
from chalicelib.api.problems import (
    PROBLEM_TYPE,
    problem,
    problem_from_error,
    request_id_of,
    request_instance,
    status_of,
    transient_aws_failure,
)
from chalicelib.container import services
from chalicelib.domain.errors import (
    DependencyUnavailableError,
    InvalidRequestError,
    PathParameterEmptyError,
    PayloadTooLargeError,
    PlugyardError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)
from chalicelib.domain.json_input import parse_json
from chalicelib.domain.manifest import validation_errors
from chalicelib.domain.models import Caller
from chalicelib.domain.pagination import PageTokenSealer

__all__ = ["PAGING", "REGISTRY", "QueryParam", "RequestContext", "RouteSpec", "logger", "route"]

logger = Logger(service="plugyard")
B = TypeVar("B", bound=BaseModel)


@dataclass(frozen=True)
class QueryParam:
    """A documented query parameter."""

    name: str
    description: str
    type: str = "string"
    schema: dict[str, Any] = field(default_factory=dict)  # further JSON Schema keywords (bounds, format, enum)


@dataclass
class RouteSpec:
    """What the OpenAPI document says about one route."""

    path: str
    method: str
    summary: str
    tag: str
    status: int
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    auth: bool
    query: list[QueryParam] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    optional_body: bool = False
    upload: str | None = None  # a raw body of this media type (a plugin zip), up to max_artifact_bytes
    media_type: str = "application/json"  # what a success answers (the console's assets are text/html, …)


REGISTRY: list[RouteSpec] = []

PAGING = [
    QueryParam("limit", "Page size, 1–100 (default 50)", "integer", {"minimum": 1, "maximum": 100}),
    QueryParam("next_token", "The next_token of the previous page (bound to this listing and workspace)"),
]


# RFC 3339 date-time; the offset may be left out (UTC is assumed).
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$")

# Query parameters that page through a listing rather than choose it.
_PAGING_PARAMS = frozenset({"limit", "next_token"})


def _is_json(content_type: str | None) -> bool:
    """application/json or a structured ``+json`` type, parameters (charset) ignored."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class RequestContext:
    """The parts of a request a route needs, parsed once."""

    def __init__(
        self, request: Request, caller: Caller | None, *, listing: str = "", sealer: PageTokenSealer | None = None
    ) -> None:
        self._request = request
        self._caller = caller
        self._listing = listing
        self._sealer = sealer

    @property
    def caller(self) -> Caller:
        if self._caller is None:
            raise RuntimeError("this route is declared auth=False and has no caller")
        return self._caller

    def header(self, name: str) -> str | None:
        value = self._request.headers.get(name)
        return str(value) if value is not None else None

    def query(self, name: str) -> str | None:
        params = self._request.query_params
        value = params.get(name) if params else None
        return str(value) if value is not None else None

    def query_int(self, name: str, default: int) -> int:
        raw = self.query(name)
        if raw is None:
            return default
        try:  # an empty value is not an integer either (`?wait=`): refused, not read as the default
            return int(raw)
        except ValueError as exc:
            raise InvalidRequestError(f"Query parameter '{name}' must be an integer, got '{raw}'.") from exc

    def query_time(self, name: str) -> datetime | None:
        """An RFC 3339 date-time query parameter (UTC assumed when no offset is given)."""
        raw = self.query(name)
        if raw is None:
            return None
        try:
            if not _DATE_TIME.match(raw):
                raise ValueError(raw)
            value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise InvalidRequestError(
                f"Query parameter '{name}' must be a date-time like 2026-12-01T10:00:00Z, got '{raw[:64]}'."
            ) from exc
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def limit(self, default: int = 50, maximum: int = 100) -> int:
        """The ``limit`` query parameter, checked against 1..maximum."""
        limit = self.query_int("limit", default)
        if not 1 <= limit <= maximum:
            raise InvalidRequestError(f"limit must be between 1 and {maximum}.", limit=limit)
        return limit

    def page_scope(self) -> str:
        """What a next_token is bound to: the listing (route, path parameters, filters) and the workspace."""
        params: dict[str, Any] = dict(self._request.query_params or {})
        filters = sorted((k, str(v)) for k, v in params.items() if k not in _PAGING_PARAMS)
        workspace = self._caller.workspace_id if self._caller else "-"
        return json.dumps([self._listing, workspace, filters], separators=(",", ":"))

    def page_token(self) -> str | None:
        """The storage position inside the ``next_token`` query parameter; 400 unless this listing issued it."""
        if self._sealer is None:
            raise RuntimeError("this route is not declared with a next_token query parameter")
        return self._sealer.open(self.query("next_token"), self.page_scope())

    def raw_body(self) -> bytes:
        """The request body exactly as received (for signature checks and free-form JSON)."""
        raw = self._request.raw_body or b""
        return raw.encode() if isinstance(raw, str) else bytes(raw)

    def raw_body_present(self) -> bool:
        """True when the request carries a non-empty body (optional bodies)."""
        return bool((self._request.raw_body or b"").strip())

    def body(self, model: type[B]) -> B:
        """The JSON body validated against ``model``; 415 unless sent as JSON, 400 for bad JSON, 422 for bad content."""
        raw = self._request.raw_body or b""
        if not raw.strip():
            raise InvalidRequestError("This route needs a JSON body.")
        content_type = self.header("content-type")
        if not _is_json(content_type):
            raise UnsupportedMediaTypeError(
                f"The body must be sent as application/json, not '{content_type or 'no Content-Type'}'.",
                accepted=["application/json"],
            )
        data = parse_json(raw)
        if not isinstance(data, dict):
            raise ValidationFailedError("The body must be a JSON object.")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailedError(
                "The body does not match the request schema.", errors=validation_errors(exc)
            ) from exc


def _render(result: Any, status: int, request_id: str, instance: str) -> Response:
    headers: dict[str, str | list[str]] = {"X-Request-Id": request_id}
    if isinstance(result, Response):
        result.headers = {**headers, **(result.headers or {})}
        _complete_problem(result, request_id, instance)
        return result
    if result is None:
        return Response(body="", status_code=204 if status in (200, 204) else status, headers=headers)
    body = result.model_dump_json() if isinstance(result, BaseModel) else json.dumps(result, default=str)
    return Response(body=body, status_code=status, headers={**headers, "Content-Type": "application/json"})


def _complete_problem(response: Response, request_id: str, instance: str) -> None:
    """A problem a view built itself (e.g. the broker's refusals) gets the request's instance and id too."""
    content_type = next((str(v) for k, v in (response.headers or {}).items() if k.lower() == "content-type"), "")
    if not content_type.startswith(PROBLEM_TYPE) or not isinstance(response.body, str):
        return
    try:
        body = json.loads(response.body)
    except ValueError:
        return
    if isinstance(body, dict):
        body.setdefault("instance", instance)
        body.setdefault("request_id", request_id)
        response.body = json.dumps(body, default=str)


def route(
    bp: Blueprint,
    path: str,
    method: str,
    *,
    summary: str,
    tag: str,
    status: int = 200,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    auth: bool = True,
    query: list[QueryParam] | None = None,
    headers: list[str] | None = None,
    errors: list[int] | None = None,
    optional_body: bool = False,
    upload: str | None = None,
    media_type: str = "application/json",
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Declare a route: the view gets a RequestContext and the path parameters."""
    spec = RouteSpec(
        path,
        method,
        summary,
        tag,
        status,
        body,
        response,
        auth,
        query or [],
        headers or [],
        errors or [],
        optional_body,
        upload,
        media_type,
    )
    REGISTRY.append(spec)
    paged = any(q.name == "next_token" for q in spec.query)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def view(**path_params: str) -> Response:
            request = bp.current_request
            request_id = request_id_of(request)
            instance = request_instance(request, path)
            logger.thread_safe_append_keys(request_id=request_id)
            try:
                svc = services()
                raw = request.raw_body or b""
                max_body = svc.settings.max_artifact_bytes if upload else svc.settings.max_body_bytes
                if len(raw) > max_body:
                    raise PayloadTooLargeError(
                        f"The body is {len(raw)} bytes; the limit is {max_body}.", limit=max_body
                    )
                empty = sorted(name for name, value in path_params.items() if not value)
                if empty:
                    raise PathParameterEmptyError(f"The path parameter '{empty[0]}' is empty.", parameter=empty[0])
                caller = svc.auth.authenticate(request.headers.get("authorization")) if auth else None
                if caller is not None:
                    logger.thread_safe_append_keys(workspace_id=caller.workspace_id)
                sealer = page_sealer(svc.settings) if paged else None
                listing = json.dumps([method, path, sorted(path_params.items())], separators=(",", ":"))
                ctx = RequestContext(request, caller, listing=listing, sealer=sealer)
                result = fn(ctx, **path_params)
                inner = getattr(result, "next_token", None) if isinstance(result, BaseModel) else None
                if sealer is not None and isinstance(result, BaseModel) and isinstance(inner, str):
                    result = result.model_copy(update={"next_token": sealer.seal(inner, ctx.page_scope())})
                return _render(result, status, request_id, instance)
            except PlugyardError as exc:
                if status_of(exc) >= 500:
                    logger.exception("dependency failure", extra={"code": exc.code})
                return problem_from_error(exc, instance=instance, request_id=request_id)
            except Exception as exc:
                if transient_aws_failure(exc):
                    logger.exception("dependency failure", extra={"code": "dependency-unavailable"})
                    return problem_from_error(
                        DependencyUnavailableError(
                            "A backing service is busy or failing; retry shortly.", retry_after_s=1
                        ),
                        instance=instance,
                        request_id=request_id,
                    )
                logger.exception("unhandled error")
                return problem(
                    500,
                    "internal-error",
                    "Internal error",
                    "Something went wrong on our side; the request id identifies it in our logs.",
                    instance=instance,
                    request_id=request_id,
                )
            finally:
                logger.thread_safe_remove_keys(["request_id", "workspace_id"])

        bp.route(path, methods=[method], content_types=["*/*"])(view)
        return view

    return decorate
