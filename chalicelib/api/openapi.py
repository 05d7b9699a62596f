"""The OpenAPI 3.1 document, generated from the route registry and the pydantic models."""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.problems import PROBLEM_BASE, PROBLEM_TYPE

__all__ = ["openapi_document"]

_STATUS_TEXT = {
    400: "Malformed request: bad JSON, a bad query parameter or header, a next_token of another listing",
    401: "Missing or unknown API key",
    403: "The caller's role does not allow this",
    404: "Not found in the caller's workspace",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "The body is not sent as application/json",
    422: "Valid JSON, invalid content",
    429: "Rate limited",
    503: "A dependency is unavailable",
}


class Problem(BaseModel):
    """An RFC 7807 problem; ``type`` is stable per error kind."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None


@functools.cache
def openapi_document() -> dict[str, Any]:
    """Build once per process (routes are registered at import time)."""
    from chalicelib.api.routing import REGISTRY

    models: set[type[BaseModel]] = {Problem}
    for spec in REGISTRY:
        models.update(m for m in (spec.body, spec.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    refs, defs = models_json_schema(
        [(m, "validation" if _is_body(m) else "serialization") for m in ordered],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for spec in REGISTRY:
        op: dict[str, Any] = {
            "summary": spec.summary,
            "tags": [spec.tag],
            "operationId": _operation_id(spec.method, spec.path),
            "responses": {},
        }
        path_params = re.findall(r"{(\w+)}", spec.path)
        params: list[dict[str, Any]] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for p in path_params
        ]
        params += [
            {
                "name": q.name,
                "in": "query",
                "required": False,
                "description": q.description,
                "schema": {"type": q.type, **q.schema},
            }
            for q in spec.query
        ]
        params += [
            {"name": h, "in": "header", "required": False, "schema": _HEADER_SCHEMAS.get(h, {"type": "string"})}
            for h in spec.headers
        ]
        if params:
            op["parameters"] = params
        if spec.body is not None:
            op["requestBody"] = {
                "required": not spec.optional_body,
                "content": {"application/json": {"schema": refs[(spec.body, "validation")]}},
            }
        if spec.upload is not None:
            op["requestBody"] = {
                "required": True,
                # The same bytes are accepted as application/octet-stream (what generic clients send).
                "content": {
                    media: {"schema": {"type": "string", "contentMediaType": spec.upload}}
                    for media in (spec.upload, "application/octet-stream")
                },
            }
        ok: dict[str, Any] = {"description": "Success"}
        if spec.response is not None:
            ok["content"] = {"application/json": {"schema": refs[(spec.response, "serialization")]}}
        elif spec.media_type != "application/json":
            ok["content"] = {spec.media_type: {"schema": {"type": "string"}}}
        op["responses"][str(spec.status)] = ok
        problem_ref = {PROBLEM_TYPE: {"schema": refs[(Problem, "serialization")]}}
        for code in sorted({*spec.errors, *_implied_errors(spec, path_params)}):
            op["responses"][str(code)] = {"description": _STATUS_TEXT.get(code, "Error"), "content": problem_ref}
        op["responses"]["5XX"] = {
            "description": "Our side or a backing AWS service failed (never the caller's input); a 503 carries "
            "Retry-After and may be retried",
            "content": problem_ref,
        }
        if spec.auth:
            op["security"] = [{"apiKey": []}]
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Plugyard API",
            "version": "1.0.0",
            "description": "Publish, install and run plugins; register signed webhooks. "
            f"Errors are RFC 7807 problems whose type starts with {PROBLEM_BASE}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "Plugyard API key"}},
        },
    }


# Headers with a shape the routes check.
_HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _implied_errors(spec: Any, path_params: list[str]) -> set[int]:
    """Statuses every route of this shape can answer, whatever its service does.

    The route layer answers 401 without a valid key and 403 for a role without the action; 404 when a
    path parameter names nothing in the caller's workspace (or is empty); 400 for a bad query parameter,
    header or body; 413/415/422 for a body too large, not JSON, or not matching its schema.
    """
    codes: set[int] = set()
    if spec.auth:
        codes |= {401, 403}
    if path_params:
        codes.add(404)
    if spec.query or spec.headers:
        codes.add(400)
    if spec.body is not None or spec.upload is not None:
        codes |= {400, 413, 415, 422}
    return codes


def _is_body(model: type[BaseModel]) -> bool:
    from chalicelib.api.routing import REGISTRY

    return any(spec.body is model for spec in REGISTRY)


def _operation_id(method: str, path: str) -> str:
    words = [w.strip("{}") for w in path.split("/") if w and w != "api"]
    return method.lower() + "_" + "_".join(words).replace("-", "_").replace(".", "_")
