"""Every role is exactly what its function does: the functions' real code, each under its own role, on a
moto server that enforces IAM.

The session's packaged stack (tests/infra/contract_stack.py: created from the packaged template on a moto
server of its own, each function in a warm host process with the Environment CloudFormation gave it and
credentials from ``sts:AssumeRole`` on its own role) is walked once (tests/infra/product_walk.py): an
operator seeds two workspaces, the API takes a plugin from upload to review and approval; the deployer
creates the version's log group, role and function; install (secret config), a forged plugin event, a
webhook, a task completed, invocations (the API's and the invoker's, the plugin's code run by the harness's
Lambda and calling the broker over HTTP), deliveries, the audit log, a yank, after which the deployer deletes
the function and its role; the WebSocket functions connect, talk and disconnect. The event source mappings
are played by hand (each queue's messages, and the outbox table's stream records, handed to their function
as Lambda would; every PutEvents goes to the dispatch queue as the bus's rule would send it). Then:
  * no call was refused (AccessDenied) and every call's resource is one the role's real statement names;
  * the actions each role holds and never used are listed; each must be used by the Lambda service on
    the function's behalf (logs, X-Ray, its event source) or be argued by a comment in its statement.
moto's own signature check of requests without a body is worked around in tests/infra/moto_iam_server.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .contract_stack import STAGE
from .function_stack import ROOT, client, held_actions, iter_roles, matches
from .product_walk import Contract, Walked, handler_host

APP_YAML = ROOT / "infra" / "app.yaml"
# Used by the Lambda service for the function, never by its code: its logs, its traces, its event source.
SERVICE_USED = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
EVENT_SOURCE_SQS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"}
EVENT_SOURCE_STREAM = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}


# Found by this test and not fixed yet; the test fails on anything new, and an entry that is fixed simply
# stops appearing. Drive all three to empty.
KNOWN_DENIED: set[str] = set()
KNOWN_OUTSIDE: set[str] = set()
# Held, never used in this walk, and not argued in infra/app.yaml yet.
KNOWN_UNARGUED: set[str] = set()


def _argued(role_lid: str, action: str) -> bool:
    """The action's statement in the role (infra/app.yaml) carries a comment saying why it is held."""
    lines = APP_YAML.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line == f"  {role_lid}:")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^  \S", lines[i])), len(lines))
    statement: list[str] = []
    for line in [*lines[start:end], "              - Sid: end"]:
        if re.match(r"^\s+- Sid:", line):
            if any(re.search(rf"-\s+{re.escape(action)}\b", s) for s in statement):
                return any("#" in s for s in statement)
            statement = []
        statement.append(line)
    return False


def test_every_role_is_exactly_what_its_function_does(contract: Contract, walked: Walked) -> None:
    c = contract
    expected = {"app.app", "app.dispatcher", "app.invoker", "app.deliverer", "app.deployer", "app.live_connect",
                "app.live_message", "app.live_disconnect", "app.outbox_forwarder"}  # fmt: skip
    assert expected <= {h.handler for h in c.hosts.values()}
    for lid, h in c.hosts.items():
        print(f"{lid}: {sorted({x['action'] for x in h.calls})} (log: {h.log})")
    # the plugin-function path was walked: created, invoked, deleted with its role
    actions = {x["action"] for h in c.hosts.values() for x in h.calls}
    assert {"lambda:CreateFunction", "lambda:InvokeFunction", "lambda:DeleteFunction", "iam:DeleteRole"} <= actions

    denied = {f"{lid}: {d}" for lid, h in c.hosts.items() if lid != "operator" for d in h.denied}
    assert sorted(denied - KNOWN_DENIED) == [], "calls refused under the function's own role"

    # Every call's resource must be named by the role's real (resource-scoped) statement.
    outside: list[str] = []
    used: dict[str, set[str]] = {}
    for lid, host in c.hosts.items():
        if lid == "operator":
            continue
        role = c.roles[lid]
        for call in host.calls:
            used.setdefault(role, set()).add(call["action"])
            statements = [
                s for s in c.real_policies[role]
                if s["Effect"] == "Allow" and any(matches(a, call["action"]) for a in _list(s["Action"]))
            ]  # fmt: skip
            for arn in call["resources"]:
                if not any(matches(r, arn) for s in statements for r in _list(s["Resource"])):
                    outside.append(f"{role}: {call['action']} on {arn}")
    assert sorted(set(outside) - KNOWN_OUTSIDE) == [], "calls on resources the role's statements do not name"

    # Held but never used: each must be the Lambda service's, or argued in the template.
    report, unargued = [], []
    roles = dict(iter_roles(c.template))
    for role in sorted(set(c.roles.values())):
        consumer = any(c.roles[f] == role and f in c.queues for f in c.roles)
        reader = any(c.roles[f] == role and f in c.streams for f in c.roles)
        service = SERVICE_USED | (EVENT_SOURCE_SQS if consumer else set()) | (EVENT_SOURCE_STREAM if reader else set())
        for action in sorted(set(held_actions(roles[role])) - used.get(role, set()) - service):
            report.append(f"{role}: {action}")
            if not _argued(role, action):
                unargued.append(f"{role}: {action}")
    print("\nheld and not used by the code (argued in infra/app.yaml):\n  " + "\n  ".join(report))
    assert sorted(set(unargued) - KNOWN_UNARGUED) == [], f"held, never used, not argued in infra/app.yaml: {unargued}"


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_enforcement_is_on(contract: Contract) -> None:
    """The API's role cannot do what it was not given: the contract above proves something."""
    api = handler_host(contract, "app.app")
    denied_before = len(api.denied)
    sts = client(contract.url, "sts", contract.operator)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::123456789012:role/plugyard-{STAGE}-api", RoleSessionName="probe")
    c = creds["Credentials"]
    iam = client(
        contract.url,
        "iam",
        {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
         "aws_session_token": c["SessionToken"]},
    )  # fmt: skip
    with pytest.raises(Exception, match=r"AccessDenied|not authorized"):
        iam.list_users()
    assert len(api.denied) == denied_before
