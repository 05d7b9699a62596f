"""IAM for plugin Lambda functions: names and the role policy of one version. Pure.

A plugin function may only ever write log streams of its own log group (which the deployer creates,
with a retention, before the function). Every capability a plugin has (storage, events, tasks, HTTP, AI)
is served by the host's broker, which checks the installation's granted scopes and binds storage
partitions and event sources to the installation: a role that could reach PluginData or the bus
directly would let a plugin bypass those checks (another installation's data, another workspace's
events), so the role holds no AWS data-plane permission at all.
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
    "log_group_name",
    "plugin_data_partition",
    "plugin_event_source",
    "plugin_policy",
    "plugin_tags",
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

_MAX_NAME = 64  # Lambda function and IAM role names
_HASH_CHARS = 10  # 40 bits of sha256: a collision among one stage's versions is not a practical concern


@dataclass(frozen=True)
class PluginAwsContext:
    """Where a plugin function lives: stage, account and region."""

    stage: str
    region: str
    account_id: str


def function_name(stage: str, plugin_id: str, version: str) -> str:
    """``plugyard-<stage>-plg-<plugin>-<version>-<hash>``, at most 64 characters; also the role's name.

    The readable part alone is not injective (``foo@1.2.3-4`` and ``foo-1@2.3.4`` both read
    ``foo-1-2-3-4``, and long ids are cut), so it always ends in a hash of ``<plugin>@<version>``.
    """
    digest = hashlib.sha256(f"{plugin_id}@{version}".encode()).hexdigest()[:_HASH_CHARS]
    head = f"plugyard-{stage}-plg-"
    room = _MAX_NAME - len(head) - 1 - _HASH_CHARS
    if room < 1:
        raise ValueError(f"stage '{stage}' is too long for plugin function names")
    readable = re.sub(r"[^A-Za-z0-9-]", "-", f"{plugin_id}-{version}")[:room].rstrip("-")
    return f"{head}{readable}-{digest}"


def log_group_name(stage: str, plugin_id: str, version: str) -> str:
    """The log group Lambda writes the version's function logs to."""
    return f"/aws/lambda/{function_name(stage, plugin_id, version)}"


def plugin_tags(stage: str, plugin_id: str, version: str) -> dict[str, str]:
    """Tags of everything one plugin version owns (function, role, log group), for the console and cleanup."""
    return {"plugyard:stage": stage, "plugyard:plugin": plugin_id, "plugyard:version": version}


def plugin_data_partition(plugin_id: str, installation_id: str) -> str:
    """PluginData partition key of one installation: the plugin id leads, so IAM can fence it in."""
    return f"{plugin_id}#{installation_id}"


def plugin_event_source(plugin_id: str) -> str:
    """The only ``source`` a plugin's events may carry."""
    return f"plugyard.plugin.{plugin_id}"


def plugin_policy(ctx: PluginAwsContext, *, plugin_id: str, version: str) -> dict[str, Any]:
    """The identity policy of one plugin version's Lambda role: its own log streams, nothing else."""
    group = log_group_name(ctx.stage, plugin_id, version)
    log_group = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{group}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{log_group}:log-stream:*"],
            }
        ],
    }
