"""Static checks of infra/template.yaml: cfn-lint, the table layout, names and tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint, lint_file
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from chalicelib.local.provision import template_path

# (name suffix, hash, range, {GSI name: (hash, range)}, TTL attribute) -- the agreed layout
TABLES: dict[str, tuple[str, str, str | None, dict[str, tuple[str, str | None]], str | None]] = {
    "PluginsTable": ("plugins", "plugin_id", None, {}, None),
    "PluginVersionsTable": (
        "plugin-versions",
        "plugin_id",
        "version",
        {"by-digest": ("artifact_sha256", None), "by-state": ("state", None)},
        None,
    ),
    "InstallationsTable": (
        "installations",
        "workspace_id",
        "plugin_id",
        {"by-installation-id": ("installation_id", None), "by-plugin-version": ("plugin_id", "version")},
        None,
    ),
    "PluginPermissionsTable": (
        "plugin-permissions",
        "installation_id",
        "scope",
        {},
        None,
    ),
    "SubscriptionsTable": ("subscriptions", "pk", "target", {}, None),
    "WebhooksTable": ("webhooks", "workspace_id", "webhook_id", {}, None),
    "DeliveriesTable": ("deliveries", "webhook_id", "delivery_id", {}, "expires_at"),
    "InvocationsTable": (
        "invocations",
        "installation_id",
        "invocation_id",
        {},
        "expires_at",
    ),
    "PluginDataTable": ("plugin-data", "installation_id", "key", {}, None),
    "AuditLogTable": ("audit-log", "workspace_id", "seq", {}, None),
    "WorkspacesTable": ("workspaces", "workspace_id", None, {}, None),
    "ApiKeysTable": (
        "api-keys",
        "key_hash",
        None,
        {"by-workspace": ("workspace_id", "key_id")},
        None,
    ),
    "TasksTable": ("tasks", "workspace_id", "task_id", {}, None),
    "IdempotencyTable": ("idempotency", "id", None, {}, "expiration"),
    "MetaTable": ("meta", "pk", "sk", {}, "expires_at"),
    "OutboxTable": ("outbox", "event_id", None, {}, "expires_at"),
}

# Property holding each named resource's name, and the name it must have.
NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::KMS::Alias": "AliasName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Logs::LogGroup": "LogGroupName",
}

# Every resource type in the template, and what moto 5.2.5's CloudFormation does with it
# (infra/README.md explains each). A new type must be looked at, and added here.
MOTO_SUPPORT = {
    "AWS::DynamoDB::Table": "created; TTL and PITR applied by provision()",
    "AWS::S3::Bucket": "created; versioning, public access block, ownership applied by provision()",
    "AWS::S3::BucketPolicy": "skipped by moto (warning); not enforced locally",
    "AWS::KMS::Key": "created; tags need provision()'s TagKey/TagValue rewrite",
    "AWS::KMS::Alias": "created",
    "AWS::SQS::Queue": "created",
    "AWS::SQS::QueuePolicy": "skipped by moto (warning); not enforced locally",
    "AWS::Events::EventBus": "created; tags applied by provision()",
    "AWS::Events::Rule": "created; SQS target delivers",
}


def test_cfn_lint_has_no_findings() -> None:
    matches = lint_file(template_path(), config=ManualArgs(include_checks=["I"]))
    assert [str(m) for m in matches] == []


def test_cfn_lint_does_find_problems() -> None:
    """The lint test above is not vacuous: a broken table is reported."""
    broken = template_path().read_text().replace("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE")
    assert any("FREE" in str(m) for m in lint(broken, config=ManualArgs(regions=["us-east-1"])))


def test_only_long_form_intrinsics(template: dict[str, Any]) -> None:
    """safe_load read it (conftest), so there are no !Ref / !Sub tags: check nothing was lost."""
    text = template_path().read_text()
    assert "!" not in "".join(line.split("#")[0] for line in text.splitlines())
    assert template["Resources"]


def test_every_resource_type_is_known_to_the_moto_notes(
    template: dict[str, Any],
) -> None:
    types = {r["Type"] for r in template["Resources"].values()}
    assert types <= set(MOTO_SUPPORT), types - set(MOTO_SUPPORT)


def _attribute_types(props: dict[str, Any]) -> dict[str, str]:
    return {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}


def _key(schema: list[dict[str, str]]) -> tuple[str, str | None]:
    kinds = {k["KeyType"]: k["AttributeName"] for k in schema}
    return kinds["HASH"], kinds.get("RANGE")


@pytest.mark.parametrize("logical_id", sorted(TABLES))
def test_table_layout(template: dict[str, Any], logical_id: str) -> None:
    suffix, hash_key, range_key, gsis, ttl = TABLES[logical_id]
    res = template["Resources"][logical_id]
    props = res["Properties"]
    assert res["Type"] == "AWS::DynamoDB::Table"
    assert props["TableName"] == {"Fn::Sub": f"plugyard-${{Stage}}-{suffix}"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # kept when the stack is deleted or the table replaced, but removed when the stack's first create
    # rolls back, so that create can simply be run again (named resources would collide otherwise)
    assert (res["DeletionPolicy"], res["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert _key(props["KeySchema"]) == (hash_key, range_key)
    got_gsis = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
    assert {n: _key(g["KeySchema"]) for n, g in got_gsis.items()} == gsis
    # Keys-only where the reader fetches the items anyway and the table's items are rewritten often.
    keys_only = {"by-plugin-version"}
    assert all(
        g["Projection"] == {"ProjectionType": "KEYS_ONLY" if n in keys_only else "ALL"} for n, g in got_gsis.items()
    )
    keys = {hash_key, range_key} | {a for k in gsis.values() for a in k}
    assert _attribute_types(props) == dict.fromkeys(keys - {None}, "S")
    if ttl:
        assert props["TimeToLiveSpecification"] == {
            "AttributeName": ttl,
            "Enabled": True,
        }
    else:
        assert "TimeToLiveSpecification" not in props


def test_no_tables_beyond_the_agreed_layout(template: dict[str, Any]) -> None:
    tables = {k for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert tables == set(TABLES)


def test_names_follow_plugyard_stage_purpose(template: dict[str, Any]) -> None:
    for logical_id, res in template["Resources"].items():
        prop = NAME_PROPERTY.get(res["Type"])
        if prop is None:
            continue
        name = res["Properties"].get(prop)
        assert isinstance(name, dict) and set(name) == {"Fn::Sub"}, (logical_id, name)
        prefix = "alias/plugyard-${Stage}-" if res["Type"] == "AWS::KMS::Alias" else "plugyard-${Stage}"
        assert name["Fn::Sub"].startswith(prefix), (logical_id, name)


def test_every_taggable_resource_has_the_stage_tag(template: dict[str, Any]) -> None:
    stage_tag = {"Key": "plugyard:stage", "Value": {"Ref": "Stage"}}
    for logical_id, res in template["Resources"].items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", res["Type"]).schema
        if "Tags" not in schema.get("properties", {}):
            continue
        assert stage_tag in res["Properties"].get("Tags", []), logical_id


def test_queues_have_dlqs_and_sizing(template: dict[str, Any]) -> None:
    res = template["Resources"]
    for name, visibility in {"Dispatch": 60, "Invoke": 900, "Delivery": 120, "Deploy": 900}.items():
        queue, dlq = res[f"{name}Queue"]["Properties"], res[f"{name}Dlq"]["Properties"]
        assert queue["QueueName"] == {"Fn::Sub": f"plugyard-${{Stage}}-{name.lower()}"}
        assert dlq["QueueName"] == {"Fn::Sub": f"plugyard-${{Stage}}-{name.lower()}-dlq"}
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [f"{name}Dlq", "Arn"]},
            "maxReceiveCount": 5,
        }
        assert queue["VisibilityTimeout"] == visibility
        assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert queue["SqsManagedSseEnabled"] is dlq["SqsManagedSseEnabled"] is True


def test_rule_feeds_dispatch_from_the_stage_bus(template: dict[str, Any]) -> None:
    rule = template["Resources"]["DispatchRule"]["Properties"]
    # Ref would be right on AWS, but moto 5.2.5 cannot resolve it (FACTS.md)
    assert rule["EventBusName"] == {"Fn::GetAtt": ["EventBus", "Name"]}
    assert rule["EventPattern"] == {"source": [{"prefix": "plugyard."}]}
    assert [t["Arn"] for t in rule["Targets"]] == [{"Fn::GetAtt": ["DispatchQueue", "Arn"]}]
    policy = template["Resources"]["DispatchQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "DispatchQueue"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["DispatchRule", "Arn"]}}}


def test_template_path_is_the_repo_file() -> None:
    assert template_path() == Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
