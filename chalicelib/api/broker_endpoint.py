"""Middleware: the API learns its own public URL from the requests it serves, for plugins on Lambda.

The API function runs plugins (interactive invokes, synchronous hooks) and must tell them where the broker
is; its URL cannot come from the stack without the template referring to itself. API Gateway puts the
domain name and stage in every request's context; ``BrokerEndpoint.learn`` keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

__all__ = ["learn_broker_url_middleware"]


def learn_broker_url_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Hand the request's ``domainName``/``stage`` to the Lambda executor's broker endpoint, if it has one."""
    from chalicelib.container import services

    broker = getattr(services().invocations.executor, "broker", None)
    learn = getattr(broker, "learn", None)
    if learn is not None:
        context: dict[str, Any] = event.context or {}
        learn(context.get("domainName"), context.get("stage"))
    return get_response(event)
