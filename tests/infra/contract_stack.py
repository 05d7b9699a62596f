"""The packaged stack created on a moto server that enforces IAM, every function in a warm host under its
own role, and the two fronts that stand in for what moto cannot be here (one session's worth, shared by
the IAM contract test and the packaged flow test).

  * moto (tests/infra/moto_iam_server.py) holds the stack: CloudFormation creates it from the packaged,
    SAM-expanded template; then IAM is enforced for every request (function_stack explains how moto
    evaluates policies and what the tests check themselves).
  * Each function of the template runs in a host process (function_host.py: ``python -I -S`` with only the
    unzipped package and awslambdaric on its path) with the Environment CloudFormation gave it and
    credentials from ``sts:AssumeRole`` on its own role.
  * The AWS front (aws_front.py) is the AWS endpoint of the functions that call Lambda (the API, the invoker,
    the deployer): it forwards everything to moto and runs a plugin function's code when it is invoked.
  * The API front (api_front.py) is the API's public URL (API Gateway's part) for plugins calling the broker
    over HTTP, served by a second warm API host; the invoker passes that URL to each plugin.
Stand-ins, the same for every function: the moto endpoint (or the AWS front) for AWS's, private webhook
URLs allowed (the receiver is on loopback), the WebSocket management endpoint on moto, the API's public URL.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from . import aws_front
from .api_front import ApiFront
from .conftest import CODE_BUCKET, CODE_KEY
from .function_stack import STAGE, Host, action_level, client, iter_roles, spawn, start_moto
from .product_walk import Contract
from .support import REGION
from .test_infra_package import for_moto

# Call Lambda: their AWS endpoint is the AWS front
FRONTED = {"app.app", "app.invoker", "app.deployer"}
API_FRONT_HOST = "APIHandler#front"  # the API's second warm instance, serving the API front


def role_statements(iam: Any, role_name: str) -> list[dict[str, Any]]:
    import ast

    out = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        doc = ast.literal_eval(doc) if isinstance(doc, str) else doc  # moto returns CloudFormation's as a repr
        out += doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    return out


def _sub(value: Any) -> str:
    return str(value["Fn::Sub"]).replace("${Stage}", STAGE)


@contextmanager
def open_contract(
    packaged: dict[str, Any], expanded: dict[str, Any], lambda_dirs: tuple[Path, Path], work: Path
) -> Iterator[Contract]:
    """Create the stack, start every host (from the unzipped package) and both fronts; all stop with the block."""
    logs = work / "function-logs"
    logs.mkdir(parents=True, exist_ok=True)
    moto, url = start_moto()
    hosts: dict[str, Host] = {}
    with ExitStack() as stack:
        stack.callback(lambda: (moto.kill(), moto.wait()))
        stack.callback(lambda: [h.stop() for h in hosts.values()])
        admin = lambda service: client(url, service)  # noqa: E731 — before enforcement: any key will do
        admin("s3").create_bucket(Bucket=CODE_BUCKET)
        admin("s3").put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=packaged["zip"].read_bytes())
        template = for_moto(expanded)
        # Without docker, moto's stand-in Lambda consumes a mapped queue itself: the test plays the
        # event source mappings instead, so they are not created.
        mapped: dict[str, str] = {}  # function logical id -> queue (or table) logical id
        for lid in [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::EventSourceMapping"]:
            props = template["Resources"].pop(lid)["Properties"]
            source = json.dumps(props["EventSourceArn"])
            queue = re.search(r'"Fn::GetAtt": \["(\w+)"|\$\{(\w+)\.Arn\}', source)
            assert queue, source
            mapped[props["FunctionName"]["Ref"]] = queue.group(1) or queue.group(2)
        cfn = admin("cloudformation")
        cfn.create_stack(
            StackName=f"plugyard-{STAGE}",
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": STAGE}],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        created = cfn.describe_stacks(StackName=f"plugyard-{STAGE}")["Stacks"][0]
        assert created["StackStatus"] == "CREATE_COMPLETE", created.get("StackStatusReason")
        iam = admin("iam")
        role_names = {lid: _sub(res["Properties"]["RoleName"]) for lid, res in iter_roles(template)}
        # The statements as CloudFormation created them (resources resolved); moto is then given the
        # action-level form it can evaluate (see function_stack).
        real = {lid: role_statements(iam, name) for lid, name in role_names.items()}
        widened = dict(iter_roles(action_level(template)))
        for lid, name in role_names.items():
            for policy in widened[lid]["Properties"].get("Policies", []):
                iam.put_role_policy(
                    RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
                )
        iam.create_user(UserName="operator")
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="operator", PolicyName="all", PolicyDocument=json.dumps(everything))
        operator_arn = iam.get_user(UserName="operator")["User"]["Arn"]
        for name in role_names.values():
            # The operator stands in for the Lambda service, which assumes the role on AWS.
            trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"Service": "lambda.amazonaws.com", "AWS": operator_arn}}]}  # fmt: skip
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        key = iam.create_access_key(UserName="operator")["AccessKey"]
        operator = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        queues, streams = {}, {}
        for fn_lid, queue_lid in mapped.items():
            props = template["Resources"][queue_lid]["Properties"]
            if template["Resources"][queue_lid]["Type"] == "AWS::DynamoDB::Table":
                table = admin("dynamodb").describe_table(TableName=_sub(props["TableName"]))["Table"]
                streams[fn_lid] = table["LatestStreamArn"]
            else:
                queues[fn_lid] = f"arn:aws:sqs:{REGION}:123456789012:{_sub(props['QueueName'])}"
        assert len(queues) >= 4 and streams, (queues, streams)
        secrets = _stack_secrets(template, admin("secretsmanager"))
        httpx.post(f"{url}/moto-api/reset-auth", content=b"0").raise_for_status()  # IAM enforced from here

        task, runtime = lambda_dirs
        front = stack.enter_context(aws_front.serve(url, operator, work / "aws-front", runtime))
        api_front = ApiFront()
        stack.callback(api_front.stop)
        sts = client(url, "sts", operator)
        paths = [str(task), str(runtime)]  # what Lambda's Python runtime has on sys.path, nothing else
        by_role_name = {v: k for k, v in role_names.items()}
        by_name = {_sub(r["Properties"]["FunctionName"]): lid for lid, r in template["Resources"].items()
                   if r["Type"] == "AWS::Lambda::Function"}  # fmt: skip
        roles: dict[str, str] = {}
        api_env: dict[str, str] = {}
        functions = client(url, "lambda", operator).list_functions()["Functions"]
        for fn in [f for f in functions if f["FunctionName"] in by_name]:
            lid = by_name[fn["FunctionName"]]
            roles[lid] = by_role_name[fn["Role"].rsplit("/", 1)[1]]
            env = {**fn.get("Environment", {}).get("Variables", {})}
            declared = template["Resources"][lid]["Properties"].get("Environment", {}).get("Variables", {})
            for var, value in declared.items():
                # moto's CloudFormation drops a Ref to a Secrets Manager secret from a function's Environment
                if var not in env and isinstance(value, dict) and value.get("Ref") in secrets:
                    env[var] = secrets[value["Ref"]]
            env |= {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "PLUGYARD_AWS_ENDPOINT_URL": front.url if fn["Handler"] in FRONTED else url,
                "PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "true",
                "AWS_LAMBDA_FUNCTION_NAME": fn["FunctionName"],
            }
            if "PLUGYARD_LIVE_EVENTS_URL" in env:
                env["PLUGYARD_LIVE_EVENTS_URL"] = url
            if fn["Handler"] in ("app.app", "app.invoker"):
                # The invoker's template value names the REST API on AWS; the API learns its own URL from
                # API Gateway's request context, which the harness's gateway does not give it.
                env["PLUGYARD_BROKER_URL"] = api_front.url
            if fn["Handler"] == "app.app":
                api_env = dict(env)
            creds = sts.assume_role(RoleArn=fn["Role"], RoleSessionName=lid)["Credentials"]
            env |= {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": creds["SessionToken"]}  # fmt: skip
            hosts[lid] = spawn(lid, fn["Handler"], env, paths, logs / f"{lid}.log", wait=False)
            if fn["Handler"] == "app.app":
                log = logs / "APIHandler-front.log"
                hosts[API_FRONT_HOST] = spawn(API_FRONT_HOST, "app.app", env, paths, log, wait=False)
                roles[API_FRONT_HOST] = roles[lid]
        op_env = {**api_env, "PLUGYARD_AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": operator["aws_access_key_id"],
                  "AWS_SECRET_ACCESS_KEY": operator["aws_secret_access_key"]}  # fmt: skip
        hosts["operator"] = spawn("operator", "operator", op_env, paths, logs / "operator.log", wait=False)
        for host in hosts.values():
            host.ready()
        api_front.start(hosts[API_FRONT_HOST])
        # A warm instance, as a busy API's would be (its first request builds the services), warmed while the
        # walk begins elsewhere: the first plugin to call the broker waits for it through the front's lock.
        warm = threading.Thread(target=api_front.warm, daemon=True)
        warm.start()
        stack.callback(warm.join)
        yield Contract(url, template, hosts, roles, real, queues, streams, operator, front, api_front)


def _stack_secrets(template: dict[str, Any], sm: Any) -> dict[str, str]:
    """moto's CloudFormation may not create a Secrets Manager secret: the harness makes each, randomly."""
    secrets = {}
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::SecretsManager::Secret":
            name = _sub(res["Properties"]["Name"])
            try:
                secrets[lid] = sm.describe_secret(SecretId=name)["ARN"]
            except sm.exceptions.ResourceNotFoundException:
                secrets[lid] = sm.create_secret(Name=name, SecretString=uuid.uuid4().hex * 2)["ARN"]
    return secrets
