"""A plugin function's role writes its own logs and nothing else; its name is readable and cannot collide."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.domain.iam import (
    PluginAwsContext,
    function_name,
    log_group_name,
    plugin_data_partition,
    plugin_policy,
    plugin_tags,
)

AWS = PluginAwsContext(stage="dev", region="us-east-1", account_id="123456789012")


def test_the_role_may_only_write_its_own_log_streams() -> None:
    name = function_name("dev", "notes", "1.2.0")
    policy = plugin_policy(AWS, plugin_id="notes", version="1.2.0")
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{name}:log-stream:*"],
            }
        ],
    }


def test_no_data_plane_permission_the_broker_mediates() -> None:
    """Storage and events go through the broker, which binds them to the installation: never via IAM."""
    text = json.dumps(plugin_policy(AWS, plugin_id="notes", version="1.2.0"))
    for service in ("dynamodb:", "events:", "s3:", "sqs:", "bedrock", "kms:", "iam:", "lambda:"):
        assert service not in text
    assert "logs:CreateLogGroup" not in text  # the deployer creates the group, with its retention
    assert '"*"' not in text


def test_function_names_fit_64_chars_and_read_as_the_convention() -> None:
    name = function_name("dev", "notes", "1.2.0")
    assert re.fullmatch(r"plugyard-dev-plg-notes-1-2-0-[0-9a-f]{10}", name)
    assert name == function_name("dev", "notes", "1.2.0")  # deterministic: deploy and invoke agree
    assert log_group_name("dev", "notes", "1.2.0") == f"/aws/lambda/{name}"
    long = function_name("prod", "a" * 64, "10.20.30-beta.1+build.7")
    assert len(long) <= 64 and long.startswith("plugyard-prod-plg-aaaa")
    assert re.fullmatch(r"[A-Za-z0-9-]{1,64}", long)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("foo", "1.2.3-4"), ("foo-1", "2.3.4")),  # the same readable part
        (("a" * 64, "1.0.0"), ("a" * 64, "1.0.1")),  # cut to the same prefix
        (("x", "1.0.0-rc.1"), ("x", "1.0.0-rc-1")),
    ],
)
def test_names_of_different_versions_never_collide(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert function_name("dev", *a) != function_name("dev", *b)


def test_a_stage_too_long_for_the_names_is_refused() -> None:
    with pytest.raises(ValueError):
        function_name("s" * 60, "notes", "1.0.0")


def test_tags_name_stage_plugin_and_version() -> None:
    assert plugin_tags("dev", "notes", "1.2.0") == {
        "plugyard:stage": "dev",
        "plugyard:plugin": "notes",
        "plugyard:version": "1.2.0",
    }


def test_plugin_data_partition_leads_with_the_plugin() -> None:
    assert plugin_data_partition("notes", "01ABC") == "notes#01ABC"
