"""The packaged stack on a moto server of its own, each function run as a warm host process with its own role.

Used by the IAM contract test: the stack is created from the packaged template (SAM expanded), an
operator user is made, then moto starts enforcing IAM (``/moto-api/reset-auth`` with 0: every later
request is checked against its caller). Each function's host gets the Environment CloudFormation gave
the function and credentials from ``sts:AssumeRole`` on the function's own role.

moto 5.2.5 evaluates IAM policies by action only: a statement with a Resource other than "*" never
matches (moto checks most services against the resource "*"), and a statement with a Condition it cannot
evaluate denies. So moto is given each role with its actions unchanged, Resource "*" and no Condition;
the resources each call touched are compared with the template's real statements by the test. moto also
names some calls' actions after the call (HeadBucket, SQS batches) where AWS checks another permission
(s3:ListBucket, the single-message action): those names are added beside it (MOTO_NAMES). It cannot authorize a
presigned URL while enforcing (it fails without an Authorization header): the harness uploads what a
publisher would PUT with the operator's credentials, and the API role's presign is checked as s3:PutObject.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx

from chalicelib.local.stack import free_port
from chalicelib.local.workers import lambda_event

from .support import REGION

ROOT = Path(__file__).resolve().parents[2]
HOST = Path(__file__).with_name("function_host.py")
MOTO_SERVER = Path(__file__).with_name("moto_iam_server.py")
ANSWER = "@@host "
STAGE = "iam"  # the stage of the harness's stack


def client(url: str, service: str, creds: dict[str, str] | None = None) -> Any:
    c = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=url, region_name=REGION, **c)


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """A moto server process of its own: its IAM switch must not touch other tests' servers.

    The harness's server (tests/infra/moto_iam_server.py) verifies the signature of a request without a
    body as AWS does, which moto itself gets wrong while it enforces IAM.
    """
    port = free_port()
    # Untraced by coverage (nothing of ours to measure there; its tracer halves moto's speed).
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")} | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(MOTO_SERVER), "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("moto did not start")
    httpx.post(f"{url}/moto-api/config", json={"lambda": {"use_docker": False}})
    return proc, url


def action_level(template: dict[str, Any]) -> dict[str, Any]:
    """The template with every role's statements widened to Resource "*" and without Condition (see above)."""
    t = copy.deepcopy(template)
    for res in t["Resources"].values():
        if res["Type"] != "AWS::IAM::Role":
            continue
        for policy in res["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                statement["Resource"] = "*"
                statement.pop("Condition", None)
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                # AWS authorizes a few calls with another action's permission; moto asks for the call's name
                statement["Action"] = [*actions, *(MOTO_NAMES[a] for a in actions if a in MOTO_NAMES)]
    return t


# The permission AWS checks -> the name moto checks for the same call
MOTO_NAMES = {
    "s3:ListBucket": "s3:HeadBucket",
    "sqs:SendMessage": "sqs:SendMessageBatch",
    "sqs:DeleteMessage": "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
    "execute-api:ManageConnections": "execute-api:PostToConnection",
    "dynamodb:PutItem": "dynamodb:TransactWriteItems",  # AWS checks each item's own action instead
    "dynamodb:GetItem": "dynamodb:TransactGetItems",
    "lambda:InvokeFunction": "lambda:Invoke",
}


@dataclass
class Host:
    """One function's warm process."""

    name: str
    handler: str
    proc: subprocess.Popen[str]
    log: Path
    calls: list[dict[str, Any]] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def send(self, request: dict[str, Any]) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        while line and not line.startswith(ANSWER):
            line = self.proc.stdout.readline()  # something else wrote to stdout: not an answer
        if not line:
            raise RuntimeError(f"{self.name} exited: {self.proc.poll()}\n{self.log_tail()}")
        answer = json.loads(line[len(ANSWER) :])
        self.calls += answer["calls"]
        self.denied += answer["denied"]
        if "error" in answer:
            self.errors.append(answer["error"])
            raise RuntimeError(f"{self.name} failed:\n{answer['error']}")
        return answer["result"]

    def ready(self) -> Host:
        """Wait for the host's ready line (its handler is loaded)."""
        assert self.proc.stdout is not None
        if not self.proc.stdout.readline():
            raise RuntimeError(f"{self.name} ({self.handler}) did not start:\n{self.log_tail()}")
        return self

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def event(self, event: dict[str, Any]) -> Any:
        return self.send({"event": event})

    def http(self, method: str, path: str, key: str | None = None, body: Any = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        req = {"method": method, "path": path, "headers": headers, "body": json.dumps(body) if body is not None else ""}
        resp: dict[str, Any] = self.send({"http": req})
        if resp["body"] and resp["headers"].get("Content-Type", "").endswith("json"):
            resp["json"] = json.loads(resp["body"])
        return resp

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def spawn(name: str, handler: str, env: dict[str, str], paths: list[str], log: Path, *, wait: bool = True) -> Host:
    """Start a function's host in a clean interpreter with only ``paths`` added; its log (stderr) goes to ``log``.

    ``wait=False`` returns at once (start several, then ``ready()`` each): their imports overlap.
    """
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(HOST), handler, *paths],
            env=env,
            cwd=paths[0],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    host = Host(name, handler, proc, log)
    return host.ready() if wait else host


def pump_queue(sqs: Any, queue_arn: str, host: Host) -> int:
    """One event source mapping poll: receive a batch, run the function, delete what it did not fail."""
    name = queue_arn.rsplit(":", 1)[1]
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    got = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    if not got:
        return 0
    result = host.event(lambda_event(got, queue_arn, REGION)) or {}
    failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    for m in got:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return len(got)


def held_actions(role: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each action a role's inline policies allow, with the statements that allow it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for policy in role["Properties"].get("Policies", []):
        for s in policy["PolicyDocument"]["Statement"]:
            if s["Effect"] != "Allow":
                continue
            for action in s["Action"] if isinstance(s["Action"], list) else [s["Action"]]:
                out.setdefault(action, []).append(s)
    return out


def matches(pattern: str, value: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value) is not None


def iter_roles(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::IAM::Role":
            yield lid, res


def pump_stream(streams: Any, stream_arn: str, host: Host, after: dict[str, str]) -> int:
    """One poll of a DynamoDB stream event source mapping: every shard's new records, in order, to ``host``.

    ``after`` keeps, per shard, the last sequence number the function accepted (Lambda's checkpoint); a
    record the function names in ``batchItemFailures`` is read again on the next poll.
    """
    moved = 0
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        sid = shard["ShardId"]
        position: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if sid in after:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after[sid]}
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=sid, **position)["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator, Limit=100).get("Records", [])
        if not records:
            continue
        for r in records:  # as Lambda hands them: the time as epoch seconds, the stream's ARN
            created = r["dynamodb"].get("ApproximateCreationDateTime")
            if created is not None and hasattr(created, "timestamp"):
                r["dynamodb"]["ApproximateCreationDateTime"] = created.timestamp()
            r["eventSourceARN"] = stream_arn
        result = host.event({"Records": records}) or {}
        failed = [str(f["itemIdentifier"]) for f in result.get("batchItemFailures", [])]
        accepted = [r for r in records if not failed or int(r["dynamodb"]["SequenceNumber"]) < int(failed[0])]
        if accepted:
            after[sid] = accepted[-1]["dynamodb"]["SequenceNumber"]
        moved += len(records)
    return moved
