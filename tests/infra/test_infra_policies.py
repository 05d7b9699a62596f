"""Least privilege: no wildcard actions and no unscoped resources in any policy of the template.

Every policy document is found by shape (a dict with a `Statement` list), wherever it sits: IAM
role inline policies and trust policies, IAM (managed) policies, KMS key policies, SQS queue
policies, S3 bucket policies, and whatever is added later.

Rules for `Effect: Allow` statements (Deny statements may use wildcards: they only take away):
  * no `NotAction`, `NotResource` or `NotPrincipal`;
  * no `*` anywhere in an action (`*`, `s3:*`, `s3:Get*` all fail);
  * no `*` principal;
  * a resource is a reference to a resource of this template (`Ref`, `Fn::GetAtt`, or an
    `Fn::Sub` naming one), or an ARN/pattern that pins this stage's names
    (`...plugyard-${Stage}-<something>...`); a `*` is allowed only after such an anchor
    (e.g. `${ArtifactsBucket.Arn}/artifacts/*`, `...:function:plugyard-${Stage}-plg-*`).
Documented exceptions are listed in EXCEPTIONS with their justification.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

_XRAY = (
    "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (the "
    "Service Authorization Reference lists no resource type for them): '*' is the only valid Resource. "
    "Write-only; what AWS's own AWSXrayWriteOnlyAccess grants, which SAM would attach for Tracing: Active."
)
# (logical id, Sid) -> why a wildcard is acceptable there
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("SecretsKey", "EnableIamPoliciesOfThisAccount"): (
        "AWS default key policy: in a key policy Resource '*' means this key, and kms:* to "
        "the account root only delegates access control to IAM policies of this account."
    ),
    **{
        (role, "XRayTraces"): _XRAY
        for role in ("ApiRole", "DispatcherRole", "InvokerRole", "DelivererRole", "DeployerRole", "OutboxForwarderRole")
    },
    ("AlarmsKey", "EnableIamPoliciesOfThisAccount"): (
        "AWS default key policy (as SecretsKey): Resource '*' in a key policy means this key; kms:* to the "
        "account root only delegates access control to IAM policies of this account."
    ),
    ("AlarmsKey", "CloudWatchPublishesAlarms"): (
        "In a key policy Resource '*' means this key: CloudWatch (of this account only, aws:SourceAccount) "
        "may Decrypt and GenerateDataKey to publish alarms to the encrypted alarm topic."
    ),
    ("ApiRole", "AiComplete"): (
        "A Bedrock foundation model belongs to AWS, not to this stack: the ARN pins exactly the one model "
        "the AiModel parameter names, in the stack's region, with no wildcard."
    ),
}


def policy_documents(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if isinstance(node.get("Statement"), list | dict):
            yield path, node
            return
        for key, value in node.items():
            yield from policy_documents(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from policy_documents(value, f"{path}[{i}]")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _sub_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return None


def _resource_problem(resource: Any, logical_ids: set[str]) -> str | None:
    if isinstance(resource, dict) and set(resource) == {"Ref"}:
        return None if resource["Ref"] in logical_ids else f"Ref to non-resource {resource}"
    if isinstance(resource, dict) and set(resource) == {"Fn::GetAtt"}:
        target = _as_list(resource["Fn::GetAtt"])[0]
        return None if str(target).split(".")[0] in logical_ids else f"GetAtt of {target}"
    text = _sub_text(resource)
    if text is None:
        return f"unrecognised resource expression {resource!r}"
    anchors = [m.start() for m in re.finditer(r"\$\{(\w+)(\.\w+)?\}", text) if m[1] in logical_ids]
    named = re.search(r"plugyard-\$\{Stage\}-[\w-]", text)
    if named:
        anchors.append(named.end())
    if not anchors:
        return f"{text!r} names no resource of this template nor plugyard-${{Stage}}-<name>"
    star = text.find("*")
    if star != -1 and star < min(anchors):
        return f"{text!r} has a wildcard before it names a resource"
    return None


def statement_problems(statement: dict[str, Any], logical_ids: set[str]) -> list[str]:
    if statement.get("Effect") == "Deny":
        return []
    problems = [f"Allow with {k}" for k in ("NotAction", "NotResource", "NotPrincipal") if k in statement]
    for action in _as_list(statement.get("Action", [])):
        if not isinstance(action, str) or "*" in action:
            problems.append(f"wildcard or computed action {action!r}")
    principal = statement.get("Principal")
    if principal == "*" or (isinstance(principal, dict) and any("*" in _as_list(v) for v in principal.values())):
        problems.append(f"wildcard principal {principal!r}")
    if "Resource" in statement:
        for resource in _as_list(statement["Resource"]):
            problem = _resource_problem(resource, logical_ids)
            if problem:
                problems.append(problem)
    elif not ("Principal" in statement and _is_trust(statement)):
        # only trust policies (a principal may sts:AssumeRole*) have no Resource
        problems.append("Allow without Resource")
    return problems


def _is_trust(statement: dict[str, Any]) -> bool:
    actions = _as_list(statement.get("Action", []))
    return bool(actions) and all(str(a).startswith("sts:AssumeRole") for a in actions)


def template_problems(template: dict[str, Any]) -> list[str]:
    logical_ids = set(template["Resources"])
    found = []
    for logical_id, res in template["Resources"].items():
        for path, doc in policy_documents(res.get("Properties", {})):
            for i, statement in enumerate(_as_list(doc["Statement"])):
                sid = statement.get("Sid", f"#{i}")
                if (logical_id, sid) in EXCEPTIONS:
                    continue
                found += [f"{logical_id}.{path} {sid}: {p}" for p in statement_problems(statement, logical_ids)]
    return found


# ------------------------------------------------------------------------------------ the template


def test_template_policies_are_least_privilege(template: dict[str, Any]) -> None:
    assert template_problems(template) == []


def test_the_walker_sees_every_policy_document(template: dict[str, Any]) -> None:
    seen = {
        logical_id
        for logical_id, res in template["Resources"].items()
        for _ in policy_documents(res.get("Properties", {}))
    }
    policy_types = {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::KMS::Key",
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
    }
    expected = {k for k, v in template["Resources"].items() if v["Type"] in policy_types}
    assert expected <= seen
    assert {
        "SecretsKey",
        "DispatchQueuePolicy",
        "DispatchDlqPolicy",
        "ArtifactsBucketPolicy",
    } <= seen


def test_exceptions_are_still_needed(template: dict[str, Any]) -> None:
    """An exception whose statement no longer exists must be removed from the list."""
    from .support import load_deploy

    merged = load_deploy().merged_template()  # template.yaml + app.yaml (the functions' roles)
    present = {
        (logical_id, s.get("Sid"))
        for logical_id, res in {**template["Resources"], **merged["Resources"]}.items()
        for _, doc in policy_documents(res.get("Properties", {}))
        for s in _as_list(doc["Statement"])
    }
    assert set(EXCEPTIONS) <= present


# ------------------------------------------------------------------------- the checker's own tests

IDS = {"PluginDataTable", "ArtifactsBucket", "DispatchQueue"}


@pytest.mark.parametrize(
    "statement",
    [
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": {"Fn::GetAtt": ["DispatchQueue", "Arn"]},
        },
        {
            "Effect": "Allow",
            "Action": "sqs:*",
            "Resource": {"Fn::GetAtt": ["DispatchQueue", "Arn"]},
        },
        {
            "Effect": "Allow",
            "Action": "s3:Get*",
            "Resource": {"Fn::Sub": "${ArtifactsBucket.Arn}/*"},
        },
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": {"Fn::Sub": "arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"},
        },
        {
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": {"Fn::Sub": "arn:aws:dynamodb:*:${AWS::AccountId}:table/plugyard-${Stage}-x"},
        },
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::Sub": "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:*"},
        },
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": {"Ref": "DispatchQueue"}},
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "NotResource": {"Ref": "ArtifactsBucket"},
        },
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${ArtifactsBucket.Arn}/artifacts/*"},
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["DispatchQueue", "Arn"]},
        },
        {"Effect": "Allow", "Action": "sqs:SendMessage"},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Ref": "Stage"}},
    ],
)
def test_checker_rejects(statement: dict[str, Any]) -> None:
    assert statement_problems(statement, IDS)


@pytest.mark.parametrize(
    "statement",
    [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": [
                {"Fn::GetAtt": ["PluginDataTable", "Arn"]},
                {"Fn::Sub": "${PluginDataTable.Arn}/index/*"},
            ],
        },
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${ArtifactsBucket.Arn}/artifacts/sha256/*"},
        },
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}"
                ":function:plugyard-${Stage}-plg-*"
            },
        },
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        },
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"},
    ],
)
def test_checker_accepts(statement: dict[str, Any]) -> None:
    assert statement_problems(statement, IDS) == []
