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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib.domain.publisher_signing import sign_digest
from chalicelib.local.receiver import Receiver
from chalicelib.local.seed import public_key_b64

from .function_stack import Host, client, pump_queue, pump_stream
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
    checkpoints: dict[str, str] = field(default_factory=dict)  # stream shard -> last sequence number accepted


def handler_host(c: Contract, handler: str) -> Host:
    (host,) = [h for h in c.hosts.values() if h.handler == handler]
    return host


def _deliver_bus_events(c: Contract, sqs: Any) -> int:
    """Play the bus's rule: every event a function put goes to the dispatch queue, as EventBridge sends it.

    moto's own rule delivery does not reach the queue while it enforces IAM, so the harness does it.
    """
    dispatcher = next(lid for lid, h in c.hosts.items() if h.handler == "app.dispatcher")
    url = sqs.get_queue_url(QueueName=c.queues[dispatcher].rsplit(":", 1)[1])["QueueUrl"]
    sent = 0
    for host in c.hosts.values():
        for call in host.calls:
            for entry in call.pop("entries", []):
                event = {
                    "version": "0", "id": str(uuid.uuid4()), "detail-type": entry["DetailType"],
                    "source": entry["Source"], "account": "123456789012", "time": "2026-12-01T00:00:00Z",
                    "region": REGION, "resources": [], "detail": json.loads(entry["Detail"]),
                }  # fmt: skip
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
                sent += 1
    return sent


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


def walk_the_product(c: Contract, receiver: Receiver) -> None:
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
        "entrypoints": {"main": "handler:main", "on_completed": "handler:main"}, "events": ["task.completed"],
        "permissions": ["storage:read", "storage:write"], "resources": {"memory_mb": 128, "timeout_s": 5},
        "config_schema": {"type": "object", "properties": {"token": {"type": "string", "writeOnly": True}}},
    }  # fmt: skip
    code = "def main(event, ctx):\n    ctx.storage.put('seen', 'yes')\n    return {'ok': True}\n"
    data = _zip({"plugyard.json": json.dumps(manifest), "handler.py": code})
    ticket = ok(api.http("POST", "/api/plugins/uploads", pub))
    # What the publisher's PUT to the presigned URL stores (see function_stack: moto cannot take the URL itself).
    bucket, key = urlsplit(ticket["url"]).path.lstrip("/").split("/", 1)
    client(c.url, "s3", c.operator).put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/zip")
    signature = sign_digest(signing, hashlib.sha256(data).hexdigest())
    ok(api.http("POST", "/api/plugins/versions", pub, {"upload_id": ticket["upload_id"], "signature": signature}))
    assert any(i["plugin_id"] == pid for i in ok(api.http("GET", "/api/review/queue", reviewer))["items"])
    ok(api.http("POST", f"/api/review/{pid}/1.0.0/approve", reviewer, {"reason": "fine"}))
    pump(c)  # a deploy queue, when there is one
    ok(api.http("GET", f"/api/plugins/list?query={pid}", admin))
    ok(api.http("GET", f"/api/plugins/{pid}", admin))
    inst = ok(
        api.http(
            "POST", "/api/plugins/install", admin,
            {"plugin_id": pid, "grant": ["storage:read", "storage:write"], "config": {"token": "s3cr3t"}},
        )
    )  # fmt: skip
    iid = inst["installation_id"]
    hook = ok(
        api.http("POST", "/api/webhooks/register", admin,
                 {"url": receiver.url + "/hook", "event_types": ["task.completed", "plugin.installed"]})
    )  # fmt: skip
    task = ok(api.http("POST", "/api/tasks", admin, {"title": "probe"}))
    ok(api.http("POST", f"/api/tasks/{task['task_id']}/run", admin))
    ok(api.http("POST", f"/api/tasks/{task['task_id']}/complete", admin, {}))
    # 409 while the deployer has not made the version's function yet (its queue is played just below)
    ok(
        api.http("POST", f"/api/installations/{iid}/invoke", admin, {"entrypoint": "main", "payload": {}}),
        200,
        202,
        409,
    )
    pump(c)
    ok(api.http("GET", f"/api/installations/{iid}/invocations", admin))
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
    pump(c)

    connect, message, disconnect = (handler_host(c, f"app.live_{n}") for n in ("connect", "message", "disconnect"))
    conn = f"conn-{suffix}"
    assert connect.event(_ws_event("$connect", conn, queryStringParameters={"token": admin}))["statusCode"] == 200
    message.event(_ws_event("$default", conn, body=json.dumps({"action": "ping"})))
    ok(api.http("POST", "/api/tasks", admin, {"title": "seen live"}))
    pump(c)
    disconnect.event(_ws_event("$disconnect", conn))


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()
