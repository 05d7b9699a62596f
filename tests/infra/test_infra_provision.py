"""provision() on a moto server, then a smoke test of every resource it created."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from chalicelib.local.provision import ProvisionError, provision

from .support import REGION, STAGE, Stack, make_client

TABLES = [
    "Plugins",
    "PluginVersions",
    "Installations",
    "PluginPermissions",
    "Subscriptions",
    "Webhooks",
    "Deliveries",
    "Invocations",
    "PluginData",
    "AuditLog",
    "Workspaces",
    "ApiKeys",
    "Tasks",
    "Idempotency",
    "Meta",
    "Outbox",
]
QUEUES = ["Dispatch", "Invoke", "Delivery", "Deploy"]
EXPECTED_OUTPUTS = {
    "Stage",
    *(f"{t}TableName" for t in TABLES),
    "ArtifactsBucketName",
    "ArtifactsBucketArn",
    "SecretsKeyId",
    "SecretsKeyArn",
    "SecretsKeyAlias",
    "EventBusName",
    "EventBusArn",
    "DispatchRuleArn",
    *(f"{q}{kind}{attr}" for q in QUEUES for kind in ("Queue", "Dlq") for attr in ("Url", "Arn")),
    "OutboxStreamArn",
    "OutboxDlqArn",
}


def test_outputs(stack: Stack) -> None:
    assert set(stack.outputs) == EXPECTED_OUTPUTS
    out = stack.outputs
    assert out["Stage"] == STAGE
    assert out["PluginsTableName"] == "plugyard-dev-plugins"
    assert out["ArtifactsBucketName"] == "plugyard-dev-artifacts-123456789012"
    assert out["EventBusName"] == "plugyard-dev"
    assert out["SecretsKeyAlias"] == "alias/plugyard-dev-secrets"
    assert out["DispatchQueueUrl"].endswith("/plugyard-dev-dispatch")
    assert out["InvokeDlqArn"].endswith(":plugyard-dev-invoke-dlq")


def test_provision_again_returns_the_same_outputs(stack: Stack) -> None:
    assert provision(endpoint_url=stack.endpoint_url, region=REGION, stage=STAGE) == stack.outputs


def test_refuses_a_bad_stage(stack: Stack) -> None:
    with pytest.raises(ProvisionError, match="AllowedPattern"):
        provision(endpoint_url=stack.endpoint_url, stage="Prod_1")


def test_refuses_a_stack_from_another_template(stack: Stack) -> None:
    stack.client("cloudformation").create_stack(
        StackName="plugyard-stale",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Q": {
                        "Type": "AWS::SQS::Queue",
                        "Properties": {"QueueName": "stale"},
                    }
                }
            }
        ),
        Tags=[{"Key": "plugyard:template-sha256", "Value": "0" * 64}],
    )
    with pytest.raises(ProvisionError, match="another version"):
        provision(endpoint_url=stack.endpoint_url, stage="stale")


def test_fails_loudly_when_moto_cannot_create(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto crashes (HTTP 500) on a KMS key with CloudFormation-shaped tags: that must surface."""
    from chalicelib.local import provision as module

    monkeypatch.setattr(module, "_for_moto", lambda t: t)  # skip the KMS tag workaround
    with pytest.raises(ProvisionError, match="failed inside moto"):
        provision(endpoint_url=moto_endpoint, stage="broken")


# ---------------------------------------------------------------- smoke test of every resource


def _key_attributes(props: dict[str, Any]) -> list[str]:
    names = [k["AttributeName"] for k in props["KeySchema"]]
    for gsi in props.get("GlobalSecondaryIndexes", []):
        names += [k["AttributeName"] for k in gsi["KeySchema"]]
    return list(dict.fromkeys(names))


def test_every_table_stores_and_indexes_items(stack: Stack, template: dict[str, Any]) -> None:
    ddb = stack.client("dynamodb")
    tables = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert sorted(tables) == sorted(f"{t}Table" for t in TABLES)
    for logical_id, res in tables.items():
        name = stack.outputs[f"{logical_id}Name"]
        props = res["Properties"]
        item = {a: {"S": f"{a}-1"} for a in _key_attributes(props)} | {"body": {"S": "x"}}
        ddb.put_item(TableName=name, Item=item)
        key = {k["AttributeName"]: item[k["AttributeName"]] for k in props["KeySchema"]}
        assert ddb.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"] == item
        for gsi in props.get("GlobalSecondaryIndexes", []):
            hash_key = gsi["KeySchema"][0]["AttributeName"]
            got = ddb.query(
                TableName=name,
                IndexName=gsi["IndexName"],
                KeyConditionExpression="#h = :v",
                ExpressionAttributeNames={"#h": hash_key},
                ExpressionAttributeValues={":v": item[hash_key]},
            )["Items"]
            if gsi["Projection"]["ProjectionType"] == "KEYS_ONLY":
                index_keys = key | {k["AttributeName"]: item[k["AttributeName"]] for k in gsi["KeySchema"]}
                assert got == [index_keys], (name, gsi["IndexName"])
            else:
                assert got == [item], (name, gsi["IndexName"])
        desc = ddb.describe_table(TableName=name)["Table"]
        assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        tags = ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"]
        assert {"Key": "plugyard:stage", "Value": STAGE} in tags, name
        # applied by provision() because moto's CloudFormation ignores them
        pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in props:
            assert ttl["TimeToLiveStatus"] == "ENABLED"
            assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_artifacts_bucket(stack: Stack) -> None:
    s3 = stack.client("s3")
    bucket = stack.outputs["ArtifactsBucketName"]
    put = s3.put_object(Bucket=bucket, Key="artifacts/sha256/abc.zip", Body=b"PK\x05\x06")
    assert put["VersionId"]  # versioned
    got = s3.get_object(Bucket=bucket, Key="artifacts/sha256/abc.zip")
    assert got["Body"].read() == b"PK\x05\x06"
    assert got["ServerSideEncryption"] == "AES256"
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values()) and len(pab) == 4
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert {"Key": "plugyard:stage", "Value": STAGE} in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]


def test_artifacts_bucket_cors_lets_api_gateway_origins_put_uploads_and_no_one_else(stack: Stack) -> None:
    """The template's CORS rule as applied on moto, and moto's answer to a browser's preflight by it."""
    bucket = stack.outputs["ArtifactsBucketName"]
    [rule] = stack.client("s3").get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rule["AllowedMethods"] == ["PUT"] and rule["AllowedHeaders"] == ["content-type"]
    assert rule["AllowedOrigins"] == [f"https://*.execute-api.{REGION}.amazonaws.com"]
    url = f"{stack.endpoint_url}/{bucket}/uploads/ws/upload.zip"
    asks = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}
    api = f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com"
    allowed = httpx.options(url, headers={**asks, "Origin": api})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == api
    assert allowed.headers["Access-Control-Allow-Methods"] == "PUT"
    assert httpx.options(url, headers={**asks, "Origin": "https://evil.example"}).status_code == 403


def test_secrets_key_through_its_alias(stack: Stack) -> None:
    kms = stack.client("kms")
    alias = stack.outputs["SecretsKeyAlias"]
    blob = kms.encrypt(KeyId=alias, Plaintext=b"whsec_test")["CiphertextBlob"]
    plain = kms.decrypt(CiphertextBlob=blob)
    assert plain["Plaintext"] == b"whsec_test"
    assert plain["KeyId"] == stack.outputs["SecretsKeyArn"]
    key_id = stack.outputs["SecretsKeyId"]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    tags = kms.list_resource_tags(KeyId=key_id)["Tags"]
    assert {"TagKey": "plugyard:stage", "TagValue": STAGE} in tags


@pytest.mark.parametrize("queue", QUEUES)
def test_queue_and_its_dlq(stack: Stack, queue: str) -> None:
    sqs = stack.client("sqs")
    url, dlq_url = stack.outputs[f"{queue}QueueUrl"], stack.outputs[f"{queue}DlqUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.outputs[f"{queue}DlqArn"],
        "maxReceiveCount": 5,
    }
    assert attrs["SqsManagedSseEnabled"] == "true"
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert dlq_attrs["MessageRetentionPeriod"] == "1209600"
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"plugyard:stage": STAGE}

    # a message nobody deletes moves to the DLQ after 5 receives
    sqs.send_message(QueueUrl=url, MessageBody=f"poison-{queue}")
    for _ in range(5):
        msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, VisibilityTimeout=0)["Messages"]
        assert msgs[0]["Body"] == f"poison-{queue}"
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    dead = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=0)["Messages"]
    assert [m["Body"] for m in dead] == [f"poison-{queue}"]
    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=dead[0]["ReceiptHandle"])


def test_bus_rule_delivers_plugyard_events_to_dispatch(stack: Stack) -> None:
    events, sqs = stack.client("events"), stack.client("sqs")
    bus, url = stack.outputs["EventBusName"], stack.outputs["DispatchQueueUrl"]
    sent = events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "plugyard.host",
                "DetailType": "task.completed",
                "Detail": json.dumps({"workspace_id": "ws-1"}),
            },
            {
                "EventBusName": bus,
                "Source": "acme.other",
                "DetailType": "task.completed",
                "Detail": "{}",
            },
        ]
    )
    assert sent["FailedEntryCount"] == 0
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    bodies = [json.loads(m["Body"]) for m in msgs]
    assert [(b["source"], b["detail-type"], b["detail"]) for b in bodies] == [
        ("plugyard.host", "task.completed", {"workspace_id": "ws-1"})
    ]
    for m in msgs:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    rule = events.describe_rule(Name=f"plugyard-{STAGE}-dispatch", EventBusName=bus)
    assert rule["Arn"] == stack.outputs["DispatchRuleArn"]
    rule_tags = events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
    assert rule_tags == [{"Key": "plugyard:stage", "Value": STAGE}]
    assert events.list_tags_for_resource(ResourceARN=stack.outputs["EventBusArn"])["Tags"] == [
        {"Key": "plugyard:stage", "Value": STAGE}
    ]


def test_queue_urls_from_outputs_work_with_the_local_endpoint(stack: Stack) -> None:
    """Outputs carry AWS-style queue URLs (https://sqs.<region>.amazonaws.com/...); a client
    pointed at moto accepts them, so the app can use the outputs as they are."""
    sqs = make_client(stack.endpoint_url)("sqs")
    url = stack.outputs["InvokeQueueUrl"]
    assert url.startswith("https://sqs.")
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    msg = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"][0]
    assert msg["Body"] == "hello"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
