"""The product walk the IAM contract test drives through the functions' hosts, and the event source
mappings and bus rule it plays by hand (tests/infra/test_iam_contract.py explains the harness)."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib.domain.publisher_signing import sign_digest
from chalicelib.local.receiver import Receiver
from chalicelib.local.seed import public_key_b64

from .api_front import ApiFront
from .aws_front import AwsFront
from .function_stack import STAGE, Host, client, pump_queue, pump_stream
from .support import REGION


@dataclass
class Contract:
    url: str
    template: dict[str, Any]
    hosts: dict[str, Host]  # function logical id -> host
    roles: dict[str, str]  # function logical id -> role logical id
    real_policies: dict[str, list[dict[str, Any]]]  # role logical id -> its statements, as created
    queues: dict[str, str]  # function logical id -> the ARN of the queue its event source reads
    streams: dict[str, str]  # function logical id -> the ARN of the table stream its event source reads
    operator: dict[str, str]
    front: AwsFront  # the AWS endpoint of the functions that call Lambda; runs plugin functions
    api_front: ApiFront  # the API's public URL, as plugins reach the broker
    checkpoints: dict[str, str] = field(default_factory=dict)  # stream shard -> last sequence number accepted


@dataclass
class Walked:
    """What the walk saw, for the tests to judge."""

    receiver: Receiver
    plugin_id: str = ""
    workspace_id: str = ""
    webhook_secret: str = ""
    invoked: dict[str, dict[str, Any]] = field(default_factory=dict)  # entrypoint -> the API's answer
    invocations: list[dict[str, Any]] = field(default_factory=list)  # as the API lists them


# The probe plugin. main: a storage round trip through the broker; on_completed (task.completed): stores and
# emits its own event; hog: allocates far beyond its 128 MB.
PLUGIN_CODE = """
def main(event, ctx):
    ctx.storage.put('seen', 'yes')
    return {'ok': True, 'seen': ctx.storage.get('seen'), 'event': event}


def on_completed(event, ctx):
    ctx.storage.put('completed', event.get('id', ''))
    ctx.events.emit('plugin.PID.stored', {'after': event.get('type', '')})


def hog(event, ctx):
    hoard = bytearray(512 * 1024 * 1024)
    return {'size': len(hoard)}
"""


def handler_host(c: Contract, handler: str) -> Host:
    (host,) = [h for lid, h in c.hosts.items() if h.handler == handler and "#" not in lid]
    return host


def _deliver_bus_events(c: Contract, sqs: Any) -> int:
    """Play the bus's rule: every event a function put goes to the dispatch queue, as EventBridge sends it.

    moto's own rule delivery does not reach the queue while it enforces IAM, so the harness does it.
    """
    entries = [entry for host in c.hosts.values() for call in host.calls for entry in call.pop("entries", [])]
    return bus_rule(c, sqs, entries)


def bus_rule(c: Contract, sqs: Any, entries: list[dict[str, Any]]) -> int:
    """The rule of the platform bus: each PutEvents entry, as EventBridge wraps it, onto the dispatch queue."""
    dispatcher = next(lid for lid, h in c.hosts.items() if h.handler == "app.dispatcher")
    url = sqs.get_queue_url(QueueName=c.queues[dispatcher].rsplit(":", 1)[1])["QueueUrl"]
    for entry in entries:
        event = {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": entry["DetailType"],
            "source": entry["Source"], "account": "123456789012", "time": "2026-12-01T00:00:00Z",
            "region": REGION, "resources": [], "detail": json.loads(entry["Detail"]),
        }  # fmt: skip
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    return len(entries)


def pump(c: Contract) -> int:
    """Play the bus's rule and every event source mapping (queues, the outbox stream) until nothing moves."""
    sqs, streams = client(c.url, "sqs", c.operator), client(c.url, "dynamodbstreams", c.operator)
    total = 0
    for _ in range(20):
        moved = sum(pump_stream(streams, arn, c.hosts[lid], c.checkpoints) for lid, arn in sorted(c.streams.items()))
        moved += _deliver_bus_events(c, sqs)
        moved += sum(pump_queue(sqs, arn, c.hosts[lid]) for lid, arn in sorted(c.queues.items()))
        total += moved
        if not moved:
            return total
    raise AssertionError("the queues never drained")


def _ws_event(route: str, connection: str, **extra: Any) -> dict[str, Any]:
    kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    ctx = {"connectionId": connection, "requestId": uuid.uuid4().hex, "domainName": "ws.example", "stage": "api",
           "apiId": "harness", "eventType": kind, "routeKey": route}  # fmt: skip
    return {"requestContext": ctx, "isBase64Encoded": False, **extra}


def walk_the_product(c: Contract, receiver: Receiver) -> Walked:
    walked = Walked(receiver)
    api, operator = handler_host(c, "app.app"), c.hosts["operator"]
    suffix = uuid.uuid4().hex[:8]
    pub_keys = operator.send({"seed": {"workspace": f"ws-pub-{suffix}", "publisher": f"pub-{suffix}",
                                       "roles": ["admin", "reviewer"]}})  # fmt: skip
    user_keys = operator.send({"seed": {"workspace": f"ws-use-{suffix}", "roles": ["admin", "member"]}})
    pub, reviewer, admin = pub_keys["admin"], pub_keys["reviewer"], user_keys["admin"]

    def ok(resp: dict[str, Any], *codes: int) -> dict[str, Any]:
        assert resp["status"] in (codes or (200, 201, 202, 204)), resp["body"]
        return resp.get("json") or {}

    ok(api.http("GET", "/health/ready"))
    signing = Ed25519PrivateKey.generate()
    ok(api.http("POST", "/api/publisher/keys", pub, {"public_key": public_key_b64(signing)}))
    pid = f"iam-{suffix}"
    manifest = {
        "id": pid, "name": "IAM probe", "version": "1.0.0", "publisher": f"pub-{suffix}",
        "description": "Stores a value when called and when a task completes.", "categories": ["developer-tools"],
        "entrypoints": {"main": "handler:main", "on_completed": "handler:on_completed", "hog": "handler:hog"},
        "events": ["task.completed"], "permissions": ["storage:read", "storage:write", "events:emit"],
        "resources": {"memory_mb": 128, "timeout_s": 30},
        "config_schema": {"type": "object", "properties": {"token": {"type": "string", "writeOnly": True}}},
    }  # fmt: skip
    code = PLUGIN_CODE.replace("PID", pid)
    data = _zip({"plugyard.json": json.dumps(manifest), "handler.py": code})
    ticket = ok(api.http("POST", "/api/plugins/uploads", pub))
    # What the publisher's PUT to the presigned URL stores (see function_stack: moto cannot take the URL itself).
    bucket, key = urlsplit(ticket["url"]).path.lstrip("/").split("/", 1)
    client(c.url, "s3", c.operator).put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/zip")
    signature = sign_digest(signing, hashlib.sha256(data).hexdigest())
    ok(api.http("POST", "/api/plugins/versions", pub, {"upload_id": ticket["upload_id"], "signature": signature}))
    assert any(i["plugin_id"] == pid for i in ok(api.http("GET", "/api/review/queue", reviewer))["items"])
    ok(api.http("POST", f"/api/review/{pid}/1.0.0/approve", reviewer, {"reason": "fine"}))
    pump(c)  # the deploy queue: the deployer makes the version's log group, role and function
    fn = _plugin_function(c, pid)
    assert fn is not None, "the deployer made no function for the approved version"
    assert (fn["MemorySize"], fn["Timeout"], fn["Handler"]) == (128, 30, "plugyard_runtime.lambda_handler"), fn
    role = client(c.url, "iam", c.operator).get_role(RoleName=fn["Role"].rsplit("/", 1)[1])["Role"]
    assert role["Path"] == "/plugyard/" and role.get("PermissionsBoundary"), role
    version = ok(api.http("GET", f"/api/plugins/{pid}", admin))
    assert "ready" in json.dumps(version), version
    ok(api.http("GET", f"/api/plugins/list?query={pid}", admin))
    ok(api.http("GET", f"/api/plugins/{pid}", admin))
    inst = ok(
        api.http(
            "POST", "/api/plugins/install", admin,
            {"plugin_id": pid, "grant": ["storage:read", "storage:write", "events:emit"],
             "config": {"token": "s3cr3t"}},
        )
    )  # fmt: skip
    iid = inst["installation_id"]
    # A plugin event claiming a workspace the plugin is not installed in (a direct PutEvents could say so):
    # the dispatcher drops it and audits the attempt in the workspace it claimed.
    forged = {"id": "01" + uuid.uuid4().hex[:24].upper(), "source": f"plugyard.plugin.{pid}",
              "type": f"plugin.{pid}.forged", "workspace_id": f"ws-pub-{suffix}", "time": "2026-12-01T00:00:00Z",
              "data": {}}  # fmt: skip
    # The same into a workspace nobody has used: the dispatcher's append is the first of that chain.
    fresh = {**forged, "id": "01" + uuid.uuid4().hex[:24].upper(), "workspace_id": f"ws-none-{suffix}"}
    entries = [{"DetailType": e["type"], "Source": e["source"], "Detail": json.dumps(e)} for e in (forged, fresh)]
    bus_rule(c, client(c.url, "sqs", c.operator), entries)
    pump(c)
    denied = ok(api.http("GET", "/api/audit?action=event.dispatch", pub))["items"]
    assert any(r["target"] == forged["id"] and r["outcome"] == "denied" for r in denied), denied
    audit_table = c.template["Resources"]["AuditLogTable"]["Properties"]["TableName"]["Fn::Sub"]
    first = client(c.url, "dynamodb", c.operator).query(
        TableName=audit_table.replace("${Stage}", STAGE),
        KeyConditionExpression="workspace_id = :w",
        ExpressionAttributeValues={":w": {"S": fresh["workspace_id"]}},
    )["Items"]
    assert [i["target"]["S"] for i in first] == [fresh["id"]], first
    hook = ok(
        api.http("POST", "/api/webhooks/register", admin,
                 {"url": receiver.url + "/hook", "event_types": ["task.completed", "plugin.installed",
                                                                  f"plugin.{pid}.stored"]})
    )  # fmt: skip
    walked.plugin_id, walked.webhook_secret, walked.workspace_id = pid, hook["secret"], f"ws-use-{suffix}"
    task = ok(api.http("POST", "/api/tasks", admin, {"title": "probe"}))
    ok(api.http("POST", f"/api/tasks/{task['task_id']}/run", admin))
    ok(api.http("POST", f"/api/tasks/{task['task_id']}/complete", admin, {}))
    # The API runs the plugin's function synchronously (lambda:InvokeFunction under the API's role); the
    # plugin's code calls the broker over HTTP. Then one that outgrows its memory: a recorded failure.
    for entrypoint in ("main", "hog"):
        body = {"entrypoint": entrypoint, "payload": {"n": 1}}
        walked.invoked[entrypoint] = ok(api.http("POST", f"/api/installations/{iid}/invoke", admin, body))
    pump(c)  # task.completed -> dispatcher -> invoker -> on_completed, whose event -> dispatcher -> deliverer
    walked.invocations = ok(api.http("GET", f"/api/installations/{iid}/invocations", admin))["items"]
    deliveries = ok(api.http("GET", f"/api/webhooks/{hook['webhook_id']}/deliveries", admin))["items"]
    assert deliveries, "no delivery was recorded"
    ok(api.http("POST", f"/api/webhooks/{hook['webhook_id']}/deliveries/{deliveries[0]['delivery_id']}/redeliver",
                admin), 200, 202)  # fmt: skip
    ok(api.http("POST", f"/api/webhooks/{hook['webhook_id']}/test", admin), 200, 202)
    pump(c)
    assert receiver.requests_to("/hook"), "the webhook receiver got nothing"
    ok(api.http("GET", "/api/audit?limit=5", admin))
    assert ok(api.http("GET", "/api/audit/verify", admin))["ok"] is True
    ok(api.http("GET", "/api/installations", admin))
    ok(api.http("POST", f"/api/review/{pid}/1.0.0/yank", reviewer, {"reason": "probe over"}))
    ok(api.http("DELETE", f"/api/installations/{iid}", admin))
    pump(c)  # the yank queued the version's removal: its function and role are given back
    assert _plugin_function(c, pid) is None, "the yanked version's function is still there"
    with pytest.raises(ClientError, match="NoSuchEntity"):
        client(c.url, "iam", c.operator).get_role(RoleName=fn["FunctionName"])

    connect, message, disconnect = (handler_host(c, f"app.live_{n}") for n in ("connect", "message", "disconnect"))
    conn = f"conn-{suffix}"
    # As the console opens it: a single-use ticket from the API function, redeemed by the connect function.
    ticket = ok(api.http("POST", "/api/live/tickets", admin))["ticket"]
    assert connect.event(_ws_event("$connect", conn, queryStringParameters={"ticket": ticket}))["statusCode"] == 200
    message.event(_ws_event("$default", conn, body=json.dumps({"action": "ping"})))
    ok(api.http("POST", "/api/tasks", admin, {"title": "seen live"}))
    pump(c)
    disconnect.event(_ws_event("$disconnect", conn))
    return walked


def _plugin_function(c: Contract, plugin_id: str) -> dict[str, Any] | None:
    """The configuration of the one Lambda function of the plugin's versions, None when there is none."""
    found = [
        f
        for f in client(c.url, "lambda", c.operator).list_functions()["Functions"]
        if "-plg-" in f["FunctionName"] and plugin_id in f["FunctionName"]
    ]
    assert len(found) <= 1, found
    return found[0] if found else None


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()
