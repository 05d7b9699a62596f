"""Logs, traces and metrics around every Lambda invocation (HTTP request or SQS batch).

* **Logs**: one powertools ``Logger`` (service ``plugyard``) shared by every module that asks for it;
  JSON with the same keys everywhere. Correlation keys are per thread: the routes add ``request_id`` /
  ``workspace_id`` (api/routing.py), the workers ``event_id`` / ``installation_id`` / ``delivery_id`` /
  ``webhook_id`` / ``workspace_id`` per record (``correlation``). Secrets, tokens and plugin
  configuration are never passed as keys.
* **Traces**: a powertools ``Tracer`` patches boto3/botocore for X-Ray on AWS (functions have
  ``Tracing: Active``). Outside Lambda, or with ``POWERTOOLS_TRACE_DISABLED=true`` (the local stack),
  it is disabled and patches nothing.
* **Metrics**: services add to the ``Metrics`` port; ``flush_metrics_middleware`` (registered for every
  event type in app.py) writes them once per invocation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Tracer

__all__ = ["correlation", "flush_metrics", "flush_metrics_middleware", "logger", "tracer"]

logger = Logger(service="plugyard")
# Patches nothing (and never imports aws_xray_sdk) unless running on Lambda with tracing enabled.
tracer = Tracer(service="plugyard")
log = logging.getLogger(__name__)


@contextmanager
def correlation(**keys: str | None) -> Iterator[None]:
    """Add correlation keys to every log line of this thread for the duration of the block."""
    present = {k: v for k, v in keys.items() if v}
    logger.thread_safe_append_keys(**present)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(list(present))


def flush_metrics() -> None:
    """Write the process's buffered metrics (EMF on AWS; a no-op for the in-memory adapter)."""
    from chalicelib.container import services

    try:
        services().adapters.metrics.flush()
    except Exception:  # metrics must never fail the request or the batch
        log.exception("flushing metrics failed")


def flush_metrics_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware for every event type: run the handler, then flush metrics."""
    try:
        return get_response(event)
    finally:
        flush_metrics()
