"""A plugin in the real sandbox, on the real broker: a DNS failure in http.fetch is a network error."""

from __future__ import annotations

from typing import Any

from unit.test_broker import ALL, World

from chalicelib.domain.netguard import system_resolver

from .conftest import Invoke, PluginFactory

FETCH = """
    from plugyard_runtime import CapabilityError, PermissionDenied
    def handler(event, ctx):
        try:
            ctx.http.fetch(event["url"])
        except PermissionDenied as exc:
            return {"denied": str(exc)}
        except CapabilityError as exc:
            return {"type": exc.error_type, "message": exc.message}
"""


def test_an_offline_dns_failure_reaches_the_plugin_as_a_network_error(plugin: PluginFactory, invoke: Invoke) -> None:
    world = World()
    world.service.resolve = system_resolver  # the machine's resolver: ``.test`` names never resolve (RFC 6761)
    broker: Any = world.broker(ALL)
    outcome = invoke(plugin(FETCH), {"url": "https://api.example.test/x"}, broker=broker)
    assert outcome.result is not None and outcome.result.get("type") == "NetworkError", outcome
    assert "does not resolve" in outcome.result["message"]
    assert world.denials() == []  # not a permission verdict, and nothing audited as one


def test_a_private_target_is_still_a_permission_denial(plugin: PluginFactory, invoke: Invoke) -> None:
    world = World()
    outcome = invoke(plugin(FETCH), {"url": "http://meta.example.test/latest"}, broker=world.broker(ALL))
    assert outcome.result is not None and "denied" in outcome.result, outcome
    assert len(world.denials()) == 1
