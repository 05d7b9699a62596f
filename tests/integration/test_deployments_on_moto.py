"""Plugins on Lambda through the real wiring, on the moto server (docker-less Lambda): a stage of the template
of its own, services built with ``PLUGYARD_EXECUTOR=lambda``, the deploy queue consumed the way the event
source mapping (and ``make run``'s worker) consumes it. Approve → deploying → the deployer creates the
function → ready; an invocation runs as a recorded invocation; a yank gives function and role back."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import make_zip, manifest
from unit.conftest import World

from chalicelib.adapters.aws import aws_client
from chalicelib.config import Settings
from chalicelib.container import Services, aws_adapters, build_services
from chalicelib.domain.errors import VersionNotReadyError
from chalicelib.domain.iam import function_name
from chalicelib.domain.invocations import InvokeRequest
from chalicelib.domain.models import InstallRequest, ReviewDecision
from chalicelib.local.provision import provision
from chalicelib.local.stack import LocalStack
from chalicelib.local.workers import QueuePoller
from chalicelib.workers.deployer import handle_deploy_batch

STAGE = "lamdeploy"


@pytest.fixture(scope="module")
def lambda_world(stack: LocalStack, operator: Any) -> Iterator[tuple[World, Settings]]:
    outputs = provision(endpoint_url=stack.moto_url, stage=STAGE)
    settings = Settings(
        stage=STAGE,
        aws_endpoint_url=stack.moto_url,
        artifacts_bucket=outputs["ArtifactsBucketName"],
        capability_key=secrets.token_hex(32),
        executor="lambda",
        broker_url="https://api.example.test",
    )
    services = build_services(settings, aws_adapters(settings))
    try:
        yield World(services, services.adapters), settings
    finally:
        # The PynamoDB models are bound per process: give them back to the session stack.
        aws_adapters(operator.settings)


def _drain_deploy_queue(services: Services, settings: Settings) -> int:
    """Run the deployer on what the deploy queue holds, as the event source mapping would; returns how many."""
    import threading

    sqs = aws_client(settings, "sqs")
    url = sqs.get_queue_url(QueueName=settings.queue_name("deploy"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    poller = QueuePoller(
        sqs, url, arn, lambda event, ctx: handle_deploy_batch(event, ctx, services), threading.Event(), wait_s=0
    )
    total = 0
    while n := poller.run_once():
        total += n
    return total


def test_approve_deploys_through_the_queue_then_runs_then_a_yank_removes(
    lambda_world: tuple[World, Settings],
) -> None:
    world, settings = lambda_world
    services = world.services
    owner = world.caller(world.workspace("pub-lam"))
    data = make_zip(manifest("lamplug", "pub-lam", "1.0.0", resources={"memory_mb": 192, "timeout_s": 4}))
    detail = world.publish(owner, data)
    [view] = detail.versions
    assert view.state == "approved" and view.deployment == "deploying"
    name = function_name(STAGE, "lamplug", "1.0.0")
    lam = aws_client(settings, "lambda")
    assert name not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]  # not in the request

    admin = world.caller(world.workspace())
    inst = services.installs.install(admin, InstallRequest(plugin_id="lamplug"))
    with pytest.raises(VersionNotReadyError):
        services.invocations.invoke(admin, inst.installation_id, InvokeRequest())

    assert _drain_deploy_queue(services, settings) == 1
    cfg = lam.get_function_configuration(FunctionName=name)
    assert (cfg["State"], cfg["MemorySize"], cfg["Timeout"]) == ("Active", 192, 4)
    assert services.marketplace.get_plugin(owner, "lamplug").versions[0].deployment == "ready"

    # moto's docker-less Lambda echoes the payload back: no status, so recorded as a protocol violation; what
    # matters here is that it ran the deployed function as a recorded invocation, not somewhere else.
    result = services.invocations.invoke(admin, inst.installation_id, InvokeRequest(payload={"n": 1}))
    assert result.status == "crashed" and result.error == {
        "type": "ProtocolViolation",
        "message": "the function answered no status",
    }
    page = services.invocations.list(admin, inst.installation_id, limit=10)
    assert [i.invocation_id for i in page.items] == [result.invocation_id]

    services.marketplace.review(world.reviewer(), "lamplug", "1.0.0", "yank", ReviewDecision(reason="test"))
    assert _drain_deploy_queue(services, settings) == 1
    assert name not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    roles = aws_client(settings, "iam").list_roles(PathPrefix="/plugyard/")["Roles"]
    assert name not in [r["RoleName"] for r in roles]
