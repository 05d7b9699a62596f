"""IAM for plugin Lambda functions, generated from the permissions a version requests. Pure.

A plugin function may only ever:
  * write its own CloudWatch log group (always);
  * read / write PluginData items whose partition key starts with its own plugin id
    (``dynamodb:LeadingKeys``), only the actions its storage scopes allow;
  * ``events:PutEvents`` on the platform bus with ``events:source`` = ``plugyard.plugin.<id>``
    (only with ``events:emit``).
Nothing else: no ``*`` actions, no resource wildcards beyond the log streams and the key prefix.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LAMBDA_TRUST_POLICY",
    "PluginAwsContext",
    "function_name",
    "plugin_data_partition",
    "plugin_event_source",
    "plugin_policy",
]

LAMBDA_TRUST_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

_STORAGE_ACTIONS: dict[str, list[str]] = {
    "storage:read": ["dynamodb:GetItem", "dynamodb:Query"],
    "storage:write": ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
}
_MAX_NAME = 64  # Lambda function and IAM role names


@dataclass(frozen=True)
class PluginAwsContext:
    """Where a plugin function lives: stage, account, region and the shared resources it may touch."""

    stage: str
    region: str
    account_id: str
    plugin_data_table: str
    event_bus: str

    @property
    def table_arn(self) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{self.plugin_data_table}"

    @property
    def bus_arn(self) -> str:
        return f"arn:aws:events:{self.region}:{self.account_id}:event-bus/{self.event_bus}"


def function_name(stage: str, plugin_id: str, version: str) -> str:
    """``plugyard-<stage>-plg-<plugin>-<version, dots as dashes>``; over 64 chars it ends in a short hash."""
    version_part = re.sub(r"[^A-Za-z0-9-]", "-", version)
    name = f"plugyard-{stage}-plg-{plugin_id}-{version_part}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9]}-{digest}"


def plugin_data_partition(plugin_id: str, installation_id: str) -> str:
    """PluginData partition key of one installation: the plugin id leads, so IAM can fence it in."""
    return f"{plugin_id}#{installation_id}"


def plugin_event_source(plugin_id: str) -> str:
    """The only ``source`` a plugin's events may carry."""
    return f"plugyard.plugin.{plugin_id}"


def plugin_policy(ctx: PluginAwsContext, *, plugin_id: str, version: str, scopes: list[str]) -> dict[str, Any]:
    """The identity policy of one plugin version's Lambda role, from the scopes its manifest requests."""
    fn = function_name(ctx.stage, plugin_id, version)
    log_group = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:/aws/lambda/{fn}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup"],
            "Resource": [log_group],
        },
        {
            "Sid": "OwnLogStreams",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group}:log-stream:*"],
        },
    ]
    granted = set(scopes)
    storage_actions = sorted(
        action for scope in ("storage:read", "storage:write") if scope in granted for action in _STORAGE_ACTIONS[scope]
    )
    if storage_actions:
        statements.append(
            {
                "Sid": "OwnPluginData",
                "Effect": "Allow",
                "Action": storage_actions,
                "Resource": [ctx.table_arn],
                "Condition": {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [plugin_data_partition(plugin_id, "*")]}
                },
            }
        )
    if "events:emit" in granted:
        statements.append(
            {
                "Sid": "OwnEventSource",
                "Effect": "Allow",
                "Action": ["events:PutEvents"],
                "Resource": [ctx.bus_arn],
                "Condition": {"StringEquals": {"events:source": plugin_event_source(plugin_id)}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
