"""The deployer: deploy queue → create (or remove) one plugin version's Lambda function and role.

Called by Lambda's SQS event source mapping on AWS (``app.deployer``) and by the local worker runner
(chalicelib/local/workers.py), which long-polls the same queue on moto. A failed attempt is retried
(the message returns after the queue's visibility timeout); the last attempt records the version's
deployment as ``failed`` with the reason instead of leaving it ``deploying`` forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from chalicelib.domain.deployments import DeployMessage
from chalicelib.domain.messages import PoisonMessageError
from chalicelib.workers.batch import MAX_RECEIVES, run_batch

__all__ = ["handle_deploy_batch", "parse_deploy_body"]

logger = Logger(service="plugyard", child=True)


def parse_deploy_body(body: str) -> DeployMessage:
    """The deploy message in a record body; PoisonMessageError when it is not one."""
    try:
        return DeployMessage.model_validate_json(body)
    except ValidationError as exc:
        raise PoisonMessageError(f"not a deploy message: {exc.error_count()} validation errors") from exc


def handle_deploy_batch(event: Mapping[str, Any], context: Any = None, services: Any = None) -> dict[str, Any]:
    """Lambda handler of the deploy queue (partial batch failures)."""
    from chalicelib.container import services as current

    svc = services or current()

    def handle(record: SQSRecord) -> None:
        message = parse_deploy_body(record.body)
        receives = int(record.attributes.approximate_receive_count or 1)
        outcome = svc.deployments.handle(message, final_attempt=receives >= MAX_RECEIVES)
        logger.info(
            "deploy message handled",
            extra={"plugin_id": message.plugin_id, "version": message.version, "outcome": outcome},
        )

    return run_batch(event, context, purpose="deploy", handle=handle, queues=svc.adapters.queues)
