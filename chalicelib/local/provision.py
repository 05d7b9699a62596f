"""Create Plugyard's CloudFormation stack (infra/template.yaml) on a moto server.

The local stack (`make run`) and the test suites create their AWS resources with
this, from the template that is deployed, so local and cloud cannot drift apart.
Local use only: the deployed app never imports this module.

moto 5.2.5 gaps handled here, and nothing else (infra/README.md has the list):
  * `AWS::KMS::Key` Tags: moto wants the KMS API shape (TagKey/TagValue) and
    answers HTTP 500 to CloudFormation's (Key/Value); rewritten for moto only.
  * Properties moto's CloudFormation accepts but does not apply (DynamoDB TTL and
    point-in-time recovery; S3 versioning, public access block, ownership
    controls) are applied afterwards through the service APIs, with the values
    the template declares.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from chalicelib.domain.errors import ProvisionError

__all__ = ["ProvisionError", "provision", "stack_name", "template_path"]

_TIMEOUT_S = 60.0
_POLL_S = 0.05
_TEMPLATE_HASH_TAG = "plugyard:template-sha256"
_DONE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
_IN_PROGRESS = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"})


def template_path() -> Path:
    """The CloudFormation template: <repo>/infra/template.yaml."""
    return Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


def stack_name(stage: str) -> str:
    return f"plugyard-{stage}"


def load_template() -> dict[str, Any]:
    """The template as a dict (long-form intrinsics only: safe_load reads it)."""
    with template_path().open(encoding="utf-8") as f:
        return cast(dict[str, Any], yaml.safe_load(f))


def provision(
    *, endpoint_url: str, region: str = "us-east-1", stage: str = "dev", console_origins: Sequence[str] = ()
) -> dict[str, str]:
    """Create the stack `plugyard-<stage>` on moto and return its outputs.

    ``console_origins`` (the local API's origins, where the web console is served) join the origins the
    artifact bucket's CORS rule allows, so the console's browser upload works locally as on API Gateway.

    If the stack exists, its outputs are returned (once it is complete, should
    another process be creating it). Raises ProvisionError with the failed
    resources' reasons otherwise, or if the existing stack was created from
    another version of the template.
    """
    template = load_template()
    _check_stage(template, stage)
    body = json.dumps(_for_moto(template), sort_keys=True)
    digest = hashlib.sha256(body.encode()).hexdigest()
    cfn = _client("cloudformation", endpoint_url, region)
    name = stack_name(stage)

    stack = _describe(cfn, name)
    if stack is None:
        try:
            cfn.create_stack(
                StackName=name,
                TemplateBody=body,
                Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
                OnFailure="DO_NOTHING",
                Tags=[
                    {"Key": "plugyard:stage", "Value": stage},
                    {"Key": _TEMPLATE_HASH_TAG, "Value": digest},
                ],
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "AlreadyExistsException":
                raise ProvisionError(f"create_stack {name} failed: {e}") from e
            # another process won the race: wait for its stack below
        except (BotoCoreError, ResponseParserError) as e:
            # moto answers HTTP 500 (HTML, not XML) when a resource handler crashes
            msg = f"create_stack {name} failed inside moto ({e}); see the moto log"
            raise ProvisionError(msg) from e
        stack = _wait(cfn, name)
        _apply_what_moto_ignores(template, cfn, name, endpoint_url, region, stage, console_origins)
    else:
        stack = _wait(cfn, name)
        tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
        if tags.get(_TEMPLATE_HASH_TAG) not in (None, digest):
            raise ProvisionError(
                f"stack {name} on {endpoint_url} was created from another version"
                f" of {template_path().name}; restart the moto server (or use"
                " another stage) to recreate it"
            )
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


# -----------------------------------------------------------------------------


def _client(service: str, endpoint_url: str, region: str) -> Any:
    # One attempt: a retried create_stack hides the real error behind AlreadyExists.
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
    )
    return cast(
        Any,
        boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="testing",  # moto's dummy credentials
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            config=config,
        ),
    )


def _check_stage(template: dict[str, Any], stage: str) -> None:
    pattern = str(template["Parameters"]["Stage"]["AllowedPattern"])
    if not re.fullmatch(pattern, stage):
        raise ProvisionError(f"stage {stage!r} does not match the template's AllowedPattern {pattern}")


def _describe(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise
    return cast(dict[str, Any], stacks[0]) if stacks else None


def _wait(cfn: Any, name: str) -> dict[str, Any]:
    # Not the boto3 waiter: it sleeps 30 s between polls; moto is done in the call.
    deadline = time.monotonic() + _TIMEOUT_S
    while True:
        stack = _describe(cfn, name)
        if stack is None:
            raise ProvisionError(f"stack {name} disappeared while waiting for it")
        status = str(stack["StackStatus"])
        if status in _DONE:
            return stack
        if status not in _IN_PROGRESS:
            raise ProvisionError(f"stack {name} is {status}: {_failure_reasons(cfn, name, stack)}")
        if time.monotonic() > deadline:
            raise ProvisionError(f"stack {name} still {status} after {_TIMEOUT_S:.0f} s")
        time.sleep(_POLL_S)


def _failure_reasons(cfn: Any, name: str, stack: dict[str, Any]) -> str:
    reasons = [str(stack["StackStatusReason"])] if stack.get("StackStatusReason") else []
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except (ClientError, BotoCoreError) as e:
        events, reasons = [], [*reasons, f"(describe_stack_events failed: {e})"]
    for ev in reversed(events):
        if str(ev.get("ResourceStatus", "")).endswith("FAILED"):
            reasons.append(
                f"{ev['LogicalResourceId']} ({ev.get('ResourceType')}) "
                f"{ev['ResourceStatus']}: "
                f"{ev.get('ResourceStatusReason', 'no reason given')}"
            )
    return "; ".join(reasons) or "no reason given"


def _for_moto(template: dict[str, Any]) -> dict[str, Any]:
    """The template with moto's KMS tag shape (TagKey/TagValue); nothing else."""
    patched = copy.deepcopy(template)
    for res in patched["Resources"].values():
        if res["Type"] == "AWS::KMS::Key" and "Tags" in res.get("Properties", {}):
            res["Properties"]["Tags"] = [
                {"TagKey": t["Key"], "TagValue": t["Value"]} for t in res["Properties"]["Tags"]
            ]
    return patched


# What moto 5.2.5's CloudFormation accepts but does not apply, by resource type.
_APPLIED_BY_US: dict[str, frozenset[str]] = {
    "AWS::DynamoDB::Table": frozenset({"TimeToLiveSpecification", "PointInTimeRecoverySpecification"}),
    "AWS::S3::Bucket": frozenset(
        {
            "VersioningConfiguration",
            "PublicAccessBlockConfiguration",
            "OwnershipControls",
            "CorsConfiguration",
        }
    ),
    "AWS::Events::EventBus": frozenset({"Name", "Tags"}),
}


def _apply_what_moto_ignores(
    template: dict[str, Any],
    cfn: Any,
    name: str,
    endpoint_url: str,
    region: str,
    stage: str,
    console_origins: Sequence[str],
) -> None:
    resources = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    params = {"Stage": stage, "AWS::Region": region, "AWS::Partition": "aws"}
    for logical_id, res in template["Resources"].items():
        wanted = _APPLIED_BY_US.get(res["Type"], frozenset())
        props = {
            k: _resolve(v, params, f"{logical_id}.{k}") for k, v in res.get("Properties", {}).items() if k in wanted
        }
        if res["Type"] == "AWS::DynamoDB::Table":
            ddb = _client("dynamodb", endpoint_url, region)
            _apply_table(ddb, physical[logical_id], props)
        elif res["Type"] == "AWS::S3::Bucket":
            _apply_bucket(_client("s3", endpoint_url, region), physical[logical_id], props, console_origins)
        elif res["Type"] == "AWS::Events::EventBus" and props.get("Tags"):
            events = _client("events", endpoint_url, region)
            arn = events.describe_event_bus(Name=props["Name"])["Arn"]
            events.tag_resource(ResourceARN=arn, Tags=props["Tags"])


def _resolve(value: Any, params: dict[str, str], where: str) -> Any:
    """Resolve `Ref` to a parameter and `Fn::Sub` over parameters; refuse the rest."""
    if isinstance(value, list):
        return [_resolve(v, params, where) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in params:
        return params[value["Ref"]]
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text = re.sub(r"\$\{([\w:]+)\}", lambda m: params.get(m[1], m[0]), value["Fn::Sub"])
        if "${" not in text:
            return text
    if any(k == "Ref" or k.startswith("Fn::") for k in value):
        msg = f"{where}: provision() cannot resolve {json.dumps(value)} for moto"
        raise ProvisionError(msg)
    return {k: _resolve(v, params, where) for k, v in value.items()}


def _apply_table(ddb: Any, table: str, props: dict[str, Any]) -> None:
    if "TimeToLiveSpecification" in props:
        ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    pitr = props.get("PointInTimeRecoverySpecification", {})
    if pitr.get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(
            TableName=table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def _apply_bucket(s3: Any, bucket: str, props: dict[str, Any], console_origins: Sequence[str]) -> None:
    if "VersioningConfiguration" in props:
        status = props["VersioningConfiguration"]["Status"]
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
        )
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=props["OwnershipControls"])
    if "CorsConfiguration" in props:
        rules = [
            {
                "ID": rule["Id"],
                "AllowedMethods": rule["AllowedMethods"],
                "AllowedOrigins": [*rule["AllowedOrigins"], *console_origins],
                "AllowedHeaders": rule.get("AllowedHeaders", []),
                "MaxAgeSeconds": rule.get("MaxAge", 0),
            }
            for rule in props["CorsConfiguration"]["CorsRules"]
        ]
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
