"""Every role is exactly what its function does: the functions' real code, each under its own role, on a
moto server that enforces IAM.

The packaged stack is created on a moto server of its own (tests/infra/function_stack.py explains how moto
checks policies and what this test checks itself). Each function of the template runs in a warm host
process (tests/infra/function_host.py) with the Environment CloudFormation gave it and credentials from
``sts:AssumeRole`` on its own role; the test walks the product through them: an operator seeds two
workspaces, the API takes a plugin from upload to review, approval, install (secret config), a webhook,
a task completed, an invocation, the audit log, a yank; the event source mappings are played by hand
(each queue's messages, and the outbox table's stream records, handed to their function as Lambda would;
the forwarder's PutEvents then go to the dispatch queue as the bus's rule would send them); the WebSocket
functions connect, talk and disconnect. Then:
  * no call was refused (AccessDenied) and every call's resource is one the role's real statement names;
  * the actions each role holds and never used are listed; each must be used by the Lambda service on
    the function's behalf (logs, X-Ray, its event source) or be argued by a comment in its statement.
Not walked: moto answers the deployer's Lambda calls after CreateFunction (GetFunctionConfiguration,
DeleteFunction) under an assumed role with SignatureDoesNotMatch, which is not a refusal, so no plugin
function becomes ready here and the invoker's lambda:InvokeFunction is argued, not exercised.
Stand-ins, the same for every function: the moto endpoint for AWS's, private webhook URLs allowed (the
receiver is on loopback), the WebSocket management endpoint on moto.
"""

from __future__ import annotations

import ast
import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chalicelib.local.receiver import Receiver

from .conftest import CODE_BUCKET, CODE_KEY
from .function_stack import (
    ROOT,
    Host,
    action_level,
    client,
    held_actions,
    iter_roles,
    matches,
    spawn,
    start_moto,
)
from .product_walk import Contract, handler_host, walk_the_product
from .support import REGION
from .test_infra_package import for_moto

STAGE = "iam"
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


def _role_statements(iam: Any, role_name: str) -> list[dict[str, Any]]:
    out = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        doc = ast.literal_eval(doc) if isinstance(doc, str) else doc  # moto returns CloudFormation's as a repr
        out += doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    return out


@pytest.fixture(scope="module")
def contract(
    packaged: dict[str, Any], expanded: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Contract]:
    logs = tmp_path_factory.mktemp("function-logs")
    moto, url = start_moto()
    hosts: dict[str, Host] = {}
    try:
        admin = lambda service: client(url, service)  # noqa: E731 — before enforcement: any key will do
        admin("s3").create_bucket(Bucket=CODE_BUCKET)
        admin("s3").put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=packaged["zip"].read_bytes())
        cfn = admin("cloudformation")
        template = for_moto(expanded)
        # Without docker, moto's stand-in Lambda consumes a mapped queue itself: the test plays the
        # event source mappings instead, so they are not created.
        mapped: dict[str, str] = {}  # function logical id -> queue logical id
        for lid in [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::EventSourceMapping"]:
            props = template["Resources"].pop(lid)["Properties"]
            source = json.dumps(props["EventSourceArn"])
            queue = re.search(r'"Fn::GetAtt": \["(\w+)"|\$\{(\w+)\.Arn\}', source)
            assert queue, source
            mapped[props["FunctionName"]["Ref"]] = queue.group(1) or queue.group(2)
        cfn.create_stack(
            StackName=f"plugyard-{STAGE}",
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": STAGE}],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        stack = cfn.describe_stacks(StackName=f"plugyard-{STAGE}")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        iam = admin("iam")
        role_names = {
            lid: res["Properties"]["RoleName"]["Fn::Sub"].replace("${Stage}", STAGE)
            for lid, res in iter_roles(template)
        }
        # The statements as CloudFormation created them (resources resolved); moto is then given the
        # action-level form it can evaluate (see function_stack).
        real = {lid: _role_statements(iam, name) for lid, name in role_names.items()}
        widened = dict(iter_roles(action_level(template)))
        for lid, name in role_names.items():
            for policy in widened[lid]["Properties"].get("Policies", []):
                iam.put_role_policy(
                    RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
                )
        iam.create_user(UserName="operator")
        iam.put_user_policy(
            UserName="operator",
            PolicyName="all",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        operator_arn = iam.get_user(UserName="operator")["User"]["Arn"]
        for name in role_names.values():
            # The operator stands in for the Lambda service, which assumes the role on AWS.
            trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"Service": "lambda.amazonaws.com", "AWS": operator_arn}}]}  # fmt: skip
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        key = iam.create_access_key(UserName="operator")["AccessKey"]
        operator = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        lam = admin("lambda")
        functions = [f for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith(f"plugyard-{STAGE}-")]
        by_role_name = {v: k for k, v in role_names.items()}
        roles, queues, streams = {}, {}, {}
        by_name = {
            r["Properties"]["FunctionName"]["Fn::Sub"].replace("${Stage}", STAGE): lid
            for lid, r in template["Resources"].items()
            if r["Type"] == "AWS::Lambda::Function"
        }
        for fn_lid, queue_lid in mapped.items():
            if template["Resources"][queue_lid]["Type"] == "AWS::DynamoDB::Table":
                table = template["Resources"][queue_lid]["Properties"]["TableName"]["Fn::Sub"]
                table = table.replace("${Stage}", STAGE)
                streams[fn_lid] = admin("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
                continue
            queue_name = template["Resources"][queue_lid]["Properties"]["QueueName"]["Fn::Sub"].replace(
                "${Stage}", STAGE
            )
            queues[fn_lid] = f"arn:aws:sqs:{REGION}:123456789012:{queue_name}"
        assert len(queues) >= 4 and streams, (queues, streams)
        # moto's CloudFormation drops a Ref to a Secrets Manager secret from a function's Environment (and may
        # not create the secret): the harness makes the secret, with a random value, and fills the Ref in.
        secrets = {}
        sm = admin("secretsmanager")
        for lid, res in template["Resources"].items():
            if res["Type"] == "AWS::SecretsManager::Secret":
                name = res["Properties"]["Name"]["Fn::Sub"].replace("${Stage}", STAGE)
                try:
                    secrets[lid] = sm.describe_secret(SecretId=name)["ARN"]
                except sm.exceptions.ResourceNotFoundException:
                    secrets[lid] = sm.create_secret(Name=name, SecretString=uuid.uuid4().hex * 2)["ARN"]
        httpx.post(f"{url}/moto-api/reset-auth", content=b"0").raise_for_status()  # IAM enforced from here
        sts = client(url, "sts", operator)
        base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "PLUGYARD_AWS_ENDPOINT_URL": url,
            "PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "true",
        }
        paths = [str(ROOT), str(ROOT / "plugin-runtime")]
        api_env: dict[str, str] = {}
        for fn in functions:
            lid = by_name[fn["FunctionName"]]
            role_lid = by_role_name[fn["Role"].rsplit("/", 1)[1]]
            roles[lid] = role_lid
            creds = sts.assume_role(RoleArn=fn["Role"], RoleSessionName=lid)["Credentials"]
            env = {**fn.get("Environment", {}).get("Variables", {}), **base_env}
            declared = template["Resources"][lid]["Properties"].get("Environment", {}).get("Variables", {})
            for var, value in declared.items():
                if var not in env and isinstance(value, dict) and value.get("Ref") in secrets:
                    env[var] = secrets[value["Ref"]]
            if "PLUGYARD_LIVE_EVENTS_URL" in env:
                env["PLUGYARD_LIVE_EVENTS_URL"] = url
            if fn["Handler"] == "app.app":
                api_env = dict(env)
            env |= {
                "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                "AWS_SESSION_TOKEN": creds["SessionToken"],
                "AWS_LAMBDA_FUNCTION_NAME": fn["FunctionName"],
            }
            hosts[lid] = spawn(lid, fn["Handler"], env, paths, logs / f"{lid}.log")
        op_env = {
            **api_env,
            "AWS_ACCESS_KEY_ID": operator["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": operator["aws_secret_access_key"],
        }
        hosts["operator"] = spawn("operator", "operator", op_env, paths, logs / "operator.log")
        yield Contract(url, template, hosts, roles, real, queues, streams, operator)
    finally:
        for h in hosts.values():
            h.stop()
        moto.kill()
        moto.wait()


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


@pytest.mark.timeout(600)
def test_every_role_is_exactly_what_its_function_does(contract: Contract) -> None:
    c = contract
    expected = {"app.app", "app.dispatcher", "app.invoker", "app.deliverer", "app.live_connect", "app.live_message",
                "app.live_disconnect", "app.outbox_forwarder"}  # fmt: skip
    assert expected <= {h.handler for h in c.hosts.values()}
    with Receiver() as receiver:
        try:
            walk_the_product(c, receiver)
        finally:
            for lid, h in c.hosts.items():
                print(f"{lid}: {sorted({x['action'] for x in h.calls})} (log: {h.log})")

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
