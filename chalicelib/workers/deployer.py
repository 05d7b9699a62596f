"""The deployer: deploy queue → create (or remove) one plugin version's Lambda function and role.

Called by Lambda's SQS event source mapping on AWS (``app.deployer``) and by the local worker runner
(chalicelib/local/workers.py), which long-polls the same queue on moto. A failed attempt is retried
(the message returns after the queue's visibility timeout); the last attempt records the version's
deployment as ``failed`` with the reason instead of leaving it ``deploying`` forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.domain.deployments import DeployMessage
from chalicelib.workers.batch import MAX_RECEIVES, run_batch

if TYPE_CHECKING:
    from chalicelib.container import Services

__all__ = ["handle_deploy_batch"]

logger = Logger(service="plugyard", child=True)


def handle_deploy_batch(
    event: Mapping[str, Any], context: Any = None, services: Services | None = None
) -> dict[str, Any]:
    """Lambda handler of the deploy queue (partial batch failures)."""
    return run_batch(event, context, services, purpose="deploy", handle=_deploy)


def _deploy(svc: Services, record: SQSRecord) -> None:
    message = DeployMessage.from_body(record.body)
    receives = int(record.attributes.approximate_receive_count or 1)
    outcome = svc.deployments.handle(message, final_attempt=receives >= MAX_RECEIVES)
    logger.info(
        "deploy message handled",
        extra={"plugin_id": message.plugin_id, "version": message.version, "outcome": outcome},
    )
