"""A warm Lambda container for one function of the packaged template, driven over stdin/stdout.

``python -I -S function_host.py <handler> <task> <runtime>`` has only the unzipped package (Lambda's /var/task)
and the runtime folder (/var/runtime: awslambdaric) on ``sys.path`` besides the standard library, loads
``app.<name>`` as Lambda does, and answers one JSON line per JSON line read:
  {"event": {...}}                      -> the handler's result for that event (an SQS batch, a WebSocket
                                           event, an API Gateway proxy event, ...)
  {"http": {"method", "path", "headers", "body"}} -> the API's response to the proxy event API Gateway
                                           would hand it for that request (the API function only)
Every answer also carries the AWS calls the function made for it (``service:Operation`` as IAM names
them; a transaction as one call per item, each with the action AWS checks for it), and every AccessDenied
it was answered, so a test can compare a role with what the code does.
The function's environment (its template ``Environment``, its role's credentials) comes from the caller.
"""

from __future__ import annotations

import base64
import json
import sys
import traceback
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote

# Recorded per request: the IAM action and resources of every AWS call, and the calls refused.
CALLS: list[dict[str, Any]] = []
DENIED: list[str] = []
ANSWER = "@@host "  # marks the host's own lines on stdout
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
ACCOUNT = "123456789012"
GATEWAY_DOMAIN = "harness.execute-api.us-east-1.amazonaws.com"  # API Gateway's, in each request's context
# botocore operation -> the IAM action it needs, where the names differ
IAM_ACTION = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "s3:HeadObject": "s3:GetObject",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:ListObjectsV2": "s3:ListBucket",
    "execute-api:PostToConnection": "execute-api:ManageConnections",
    "execute-api:DeleteConnection": "execute-api:ManageConnections",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def _iam_prefix(client: Any) -> str:
    return str(client.meta.service_model.signing_name or client.meta.service_model.endpoint_prefix)


def _resources(client: Any, prefix: str, op: str, p: dict[str, Any]) -> list[str]:
    """The ARNs a call touches, as a policy's Resource names them (best effort; [] when unknown)."""
    region = client.meta.region_name
    if prefix == "dynamodb":
        tables = [p["TableName"]] if "TableName" in p else list(p.get("RequestItems", {}))
        arns = [f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{t}" for t in tables]
        if p.get("IndexName"):
            arns = [f"{a}/index/{p['IndexName']}" for a in arns]
        return arns
    if prefix == "sqs":
        name = p.get("QueueName") or str(p.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
        return [f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"] if name else []
    if prefix == "s3" and "Bucket" in p:
        return [f"arn:aws:s3:::{p['Bucket']}" + (f"/{p['Key']}" if "Key" in p else "")]
    if prefix == "kms" and "KeyId" in p:
        key = str(p["KeyId"])
        return [key if key.startswith("arn:") else f"arn:aws:kms:{region}:{ACCOUNT}:key/{key}"]
    if prefix == "events":
        buses = {e.get("EventBusName", "default") for e in p.get("Entries", [])}
        return [b if b.startswith("arn:") else f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{b}" for b in buses]
    if prefix == "lambda" and "FunctionName" in p:
        fn = str(p["FunctionName"])
        return [fn if fn.startswith("arn:") else f"arn:aws:lambda:{region}:{ACCOUNT}:function:{fn}"]
    if prefix == "lambda" and "Resource" in p:
        return [str(p["Resource"])]
    if prefix == "iam" and "RoleName" in p and "Path" in p:
        return [f"arn:aws:iam::{ACCOUNT}:role{p['Path']}{p['RoleName']}"]  # other calls do not say the path
    return []


# A transaction is authorized item by item, each with its own action on its own table
TRANSACT_ITEM_ACTION = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


def _record(client: Any, operation: str, params: dict[str, Any]) -> str:
    prefix = _iam_prefix(client)
    action = f"{prefix}:{operation}"
    if operation in ("TransactWriteItems", "TransactGetItems"):
        region = client.meta.region_name
        for item in params.get("TransactItems", []):
            for kind, spec in item.items():
                arn = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{spec['TableName']}"
                CALLS.append({"action": TRANSACT_ITEM_ACTION[kind], "resources": [arn]})
        return action
    resources = _resources(client, prefix, operation, params)
    CALLS.append({"action": IAM_ACTION.get(action, action), "resources": resources})
    if action == "events:PutEvents":
        CALLS[-1]["entries"] = params.get("Entries", [])  # the harness delivers them as the bus's rule would
    if action == "lambda:CreateFunction" and params.get("Role"):
        # creating a function passes it a role: iam:PassRole on that role
        CALLS.append({"action": "iam:PassRole", "resources": [str(params["Role"])]})
    return action


def _record_calls() -> None:
    """Observe (never replace) botocore's calls: every client, PynamoDB's included, goes through these."""
    import botocore.signers
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    make_api_call = BaseClient._make_api_call
    presign = botocore.signers.generate_presigned_url

    def recording_call(self: Any, operation_name: str, api_params: Any) -> Any:
        action = _record(self, operation_name, dict(api_params or {}))
        try:
            return make_api_call(self, operation_name, api_params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in DENIED_CODES or "not authorized" in str(exc):
                DENIED.append(f"{action} on {CALLS[-1]['resources']}")
            raise

    def recording_presign(self: Any, ClientMethod: str, *args: Any, **kwargs: Any) -> Any:
        # A presigned URL carries this role's signature: the request made with it needs the role's permission.
        operation = self.meta.method_to_api_mapping.get(ClientMethod, ClientMethod)
        params = kwargs.get("Params") or (args[0] if args else {})
        _record(self, operation, dict(params or {}))
        return presign(self, ClientMethod, *args, **kwargs)

    BaseClient._make_api_call = recording_call  # type: ignore[method-assign]
    # botocore adds this function to each client class it creates: replace it before any client exists
    botocore.signers.generate_presigned_url = recording_presign


def main() -> None:
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # a stuck host shows where it is stuck, in its log
    handler_name, *paths = sys.argv[1:]
    sys.path[:0] = paths
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever the function prints (its loggers included) is its log, not an answer
    _record_calls()
    import importlib

    if handler_name == "operator":
        handler = _operator()
    else:
        module_name, attr = handler_name.rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), attr)
    out.write(ANSWER + json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        CALLS.clear()
        DENIED.clear()
        answer: dict[str, Any] = {}
        try:
            if "http" in request:
                response = handler(_gateway_event(handler, request["http"]), _context(handler_name))
                body = response.get("body") or ""
                if response.get("isBase64Encoded"):
                    body = base64.b64decode(body).decode(errors="replace")
                answer["result"] = {"status": response["statusCode"], "headers": response.get("headers") or {},
                                    "body": body}  # fmt: skip
            elif "seed" in request:
                answer["result"] = handler(request["seed"])
            else:
                context = _context(handler_name)
                answer["result"] = handler(request["event"], context)
        except Exception as exc:
            answer["error"] = "".join(traceback.format_exception(exc))[-3000:]
        answer["calls"] = list(CALLS)
        answer["denied"] = list(DENIED)
        out.write(ANSWER + json.dumps(answer, default=str) + "\n")
        out.flush()


def _operator() -> Any:
    """What an operator does outside the API: create a workspace and its API keys."""
    from chalicelib.config import Settings
    from chalicelib.container import aws_adapters, build_services
    from chalicelib.domain.permissions import Role

    settings = Settings()
    services = build_services(settings, aws_adapters(settings))

    def seed(spec: dict[str, Any]) -> dict[str, str]:
        ws = spec["workspace"]
        services.auth.create_workspace(ws, ws, publisher_id=spec.get("publisher"))
        return {r: services.auth.issue_key(ws, Role(r), f"{r} key", created_by="operator").key for r in spec["roles"]}

    return seed


def _gateway_event(app: Any, http: dict[str, Any]) -> dict[str, Any]:
    """The proxy event API Gateway (REST, stage ``api``) hands the API function for this request."""
    path, _, query = str(http["path"]).partition("?")
    route, captured = _route(app, path.rstrip("/") or "/")
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    headers = {str(k): str(v) for k, v in (http.get("headers") or {}).items()}
    headers.setdefault("Host", GATEWAY_DOMAIN)
    context = {
        "resourcePath": route,
        "httpMethod": http["method"],
        "path": f"/api{path}",
        "stage": "api",
        "domainName": GATEWAY_DOMAIN,
        "requestId": str(uuid.uuid4()),
        "identity": {"sourceIp": "127.0.0.1"},
    }
    return {
        "resource": route,
        "path": path,
        "httpMethod": http["method"],
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in params.items()} or None,
        "multiValueQueryStringParameters": params or None,
        "pathParameters": captured or None,
        "stageVariables": None,
        "requestContext": context,
        "body": http.get("body") or None,
        "isBase64Encoded": False,
    }


def _route(app: Any, path: str) -> tuple[str, dict[str, str]]:
    """The app's route template for ``path`` and its captured parameters; literal segments win over ``{name}``."""
    parts = path.split("/")
    best: tuple[int, str, dict[str, str]] | None = None
    for route in app.routes:
        segments = route.split("/")
        if len(segments) != len(parts):
            continue
        captured: dict[str, str] = {}
        for segment, part in zip(segments, parts, strict=True):
            if segment.startswith("{") and segment.endswith("}") and part:
                captured[segment[1:-1]] = unquote(part)
            elif segment != part:
                break
        else:
            if best is None or len(captured) < best[0]:
                best = (len(captured), route, captured)
    if best is None:
        return path, {}  # no such route: the app answers it (API Gateway would answer 403 itself)
    return best[1], best[2]


def _context(handler_name: str) -> Any:
    class Context:
        function_name = handler_name
        memory_limit_in_mb = 512
        aws_request_id = "host-request"
        invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{handler_name}"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 60_000

    return Context()


if __name__ == "__main__":
    main()
