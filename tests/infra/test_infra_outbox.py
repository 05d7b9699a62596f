"""The outbox forwarder on AWS: a stream-triggered function with a least-privilege role and a DLQ."""

from __future__ import annotations

import json
import zipfile
from typing import Any


def test_the_outbox_table_streams_new_images(template: dict[str, Any]) -> None:
    props = template["Resources"]["OutboxTable"]["Properties"]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    dlq = template["Resources"]["OutboxDlq"]["Properties"]
    assert dlq["QueueName"] == {"Fn::Sub": "plugyard-${Stage}-outbox-dlq"}


def test_the_forwarder_reads_the_outbox_stream_until_the_bus_takes_the_events(packaged: dict[str, Any]) -> None:
    res = packaged["template"]["Resources"]
    props = res["OutboxForwarder"]["Properties"]
    assert props["Handler"] == "app.outbox_forwarder"
    assert props["FunctionName"] == {"Fn::Sub": "plugyard-${Stage}-outbox-forwarder"}
    assert props["Role"] == {"Fn::GetAtt": ["OutboxForwarderRole", "Arn"]}
    (event,) = props["Events"].values()
    assert event["Type"] == "DynamoDB"
    mapping = event["Properties"]
    assert mapping["Stream"] == {"Fn::GetAtt": ["OutboxTable", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # retried for as long as the stream keeps the records; then reported, never dropped silently
    assert mapping["MaximumRetryAttempts"] == -1 and mapping["MaximumRecordAgeInSeconds"] == -1
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["OutboxDlq", "Arn"]}
    # the handler the function names is in the package
    with zipfile.ZipFile(packaged["zip"]) as z:
        assert "outbox_forwarder = handle_outbox_stream" in z.read("app.py").decode()


def test_the_forwarder_role_reads_the_stream_and_publishes_nothing_else(packaged: dict[str, Any]) -> None:
    res = packaged["template"]["Resources"]
    (policy,) = res["OutboxForwarderRole"]["Properties"]["Policies"]
    grants: dict[str, set[str]] = {}
    for s in policy["PolicyDocument"]["Statement"]:
        for action in s["Action"]:
            grants.setdefault(action, set()).update(json.dumps(r) for r in s["Resource"])
    stream = json.dumps({"Fn::GetAtt": ["OutboxTable", "StreamArn"]})
    assert {a for a, r in grants.items() if a.startswith("dynamodb:")} == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    assert all(r == {stream} for a, r in grants.items() if a.startswith("dynamodb:"))
    assert grants["events:PutEvents"] == {json.dumps({"Fn::GetAtt": ["EventBus", "Arn"]})}
    assert grants["sqs:SendMessage"] == {json.dumps({"Fn::GetAtt": ["OutboxDlq", "Arn"]})}
    # the API and the workers no longer publish to the bus themselves
    for role in ("ApiRole", "DispatcherRole", "InvokerRole", "DelivererRole"):
        (p,) = res[role]["Properties"]["Policies"]
        assert not [s for s in p["PolicyDocument"]["Statement"] if "events:PutEvents" in s["Action"]], role
