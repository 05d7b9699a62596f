"""The IAM policy of a plugin function is generated from its permissions, and nothing else."""

from __future__ import annotations

import json

from chalicelib.domain.iam import PluginAwsContext, function_name, plugin_data_partition, plugin_policy

AWS = PluginAwsContext(
    stage="dev",
    region="us-east-1",
    account_id="123456789012",
    plugin_data_table="plugyard-dev-plugin-data",
    event_bus="plugyard-dev",
)
LOGS = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/plugyard-dev-plg-notes-1-2-0"


def _actions(policy: dict) -> list[str]:
    return [a for s in policy["Statement"] for a in s["Action"]]


def test_no_permissions_means_logs_only() -> None:
    policy = plugin_policy(AWS, plugin_id="notes", version="1.2.0", scopes=[])
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": [LOGS]},
            {
                "Sid": "OwnLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{LOGS}:log-stream:*"],
            },
        ],
    }


def test_storage_is_fenced_to_the_plugins_key_prefix() -> None:
    policy = plugin_policy(AWS, plugin_id="notes", version="1.2.0", scopes=["storage:read", "storage:write"])
    data = next(s for s in policy["Statement"] if s["Sid"] == "OwnPluginData")
    assert data == {
        "Sid": "OwnPluginData",
        "Effect": "Allow",
        "Action": [
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
        "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/plugyard-dev-plugin-data"],
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["notes#*"]}},
    }
    assert plugin_data_partition("notes", "01ABC") == "notes#01ABC"


def test_read_only_storage_gets_no_write_actions() -> None:
    policy = plugin_policy(AWS, plugin_id="notes", version="1.2.0", scopes=["storage:read"])
    assert set(_actions(policy)) - {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"} == {
        "dynamodb:GetItem",
        "dynamodb:Query",
    }


def test_events_only_with_its_own_source() -> None:
    policy = plugin_policy(AWS, plugin_id="notes", version="1.2.0", scopes=["events:emit"])
    events = next(s for s in policy["Statement"] if s["Sid"] == "OwnEventSource")
    assert events == {
        "Sid": "OwnEventSource",
        "Effect": "Allow",
        "Action": ["events:PutEvents"],
        "Resource": ["arn:aws:events:us-east-1:123456789012:event-bus/plugyard-dev"],
        "Condition": {"StringEquals": {"events:source": "plugyard.plugin.notes"}},
    }


def test_scopes_served_by_the_broker_add_nothing() -> None:
    """tasks, http and ai go through the broker: the function itself gets no AWS access for them."""
    base = plugin_policy(AWS, plugin_id="notes", version="1.2.0", scopes=[])
    more = plugin_policy(
        AWS, plugin_id="notes", version="1.2.0", scopes=["tasks:read", "tasks:write", "http:fetch", "ai:complete"]
    )
    assert more == base


def test_never_a_wildcard_action_or_resource() -> None:
    every = ["storage:read", "storage:write", "events:emit", "tasks:read", "tasks:write", "http:fetch", "ai:complete"]
    policy = plugin_policy(AWS, plugin_id="notes", version="1.2.0", scopes=every)
    text = json.dumps(policy)
    assert '"*"' not in text
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all("*" not in a for a in statement["Action"])
        assert all(r != "*" and not r.endswith(":*:*") for r in statement["Resource"])


def test_function_names_follow_the_convention_and_fit_64_chars() -> None:
    assert function_name("dev", "notes", "1.2.0") == "plugyard-dev-plg-notes-1-2-0"
    long = function_name("prod", "a" * 60, "10.20.30-beta.1")
    assert len(long) <= 64 and long.startswith("plugyard-prod-plg-aaaa")
    assert long == function_name("prod", "a" * 60, "10.20.30-beta.1")
