"""Deployments with fakes: approval deploys (on the spot locally, through the deploy queue on Lambda), the
version's state and the audit log tell how it went, nothing runs before the version is ready and nothing
queued is lost meanwhile, versions nobody can run are removed, and forged plugin events are dropped visibly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters import memory
from chalicelib.api.problems import status_of
from chalicelib.config import Settings
from chalicelib.container import build_services, in_memory_adapters
from chalicelib.domain.deployments import DeploymentFailedError, DeployMessage, VersionNotReadyError
from chalicelib.domain.execution import Broker, InvocationOutcome, InvocationRequest
from chalicelib.domain.invocations import InvokeRequest
from chalicelib.domain.messages import InvokeMessage
from chalicelib.domain.models import EventEnvelope, InstallRequest, PluginVersion, ReviewDecision
from chalicelib.workers.deployer import handle_deploy_batch
from chalicelib.workers.invoker import handle_invoke_batch
from unit.conftest import World, fake_resolver
from unit.sqs_events import sqs_batch


class EchoExecutor:
    """Runs nothing: answers the event back, and remembers what it was asked to run."""

    def __init__(self) -> None:
        self.requests: list[InvocationRequest] = []

    def invoke(self, request: InvocationRequest, broker: Broker) -> InvocationOutcome:
        self.requests.append(request)
        return InvocationOutcome(status="succeeded", result={"echo": request.event})


class KeyCode:
    def code_dir(self, version: PluginVersion) -> str:
        return version.artifact_key


class LambdaLikeDeployer:
    """A FunctionDeployer that, like Lambda's, is too slow for a request: the deploy queue drives it."""

    synchronous = False

    def __init__(self) -> None:
        self.deployed: list[str] = []
        self.removed: list[str] = []
        self.fail_with: Exception | None = None

    def deploy(self, version: PluginVersion) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.deployed.append(f"{version.plugin_id}@{version.version}")
        return "fn"

    def remove(self, plugin_id: str, version: str) -> None:
        self.removed.append(f"{plugin_id}@{version}")


def _world(deployer: Any = None) -> tuple[World, EchoExecutor]:
    adapters = in_memory_adapters()
    adapters.resolver = fake_resolver
    executor = EchoExecutor()
    adapters.executor, adapters.code = executor, KeyCode()
    services = build_services(Settings(webhooks_allow_private=False), adapters)
    if deployer is not None:
        services.deployments.deployer = deployer
    return World(services, adapters), executor


def _publish(world: World, plugin_id: str, version: str = "1.0.0") -> tuple[Any, PluginVersion]:
    owner = world.caller(world.workspace(f"pub-{plugin_id}"))
    world.publish_manifest(owner, plugin_id, version, events=["task.completed"])
    found = world.adapters.versions.get(plugin_id, version)
    assert found is not None
    return owner, found


def _queue(world: World, purpose: str) -> list[dict[str, Any]]:
    queues = world.adapters.queues
    assert isinstance(queues, memory.InMemoryWorkQueues)
    return queues.sent.get(purpose, [])


def _sqs_event(bodies: list[dict[str, Any]], receives: int = 1) -> dict[str, Any]:
    return sqs_batch([json.dumps(b) for b in bodies], queue="plugyard-dev-deploy", receives=receives)


def _invoke_message(world: World, inst: Any, event_id: str) -> InvokeMessage:
    """What the dispatcher queues for the installation: one task.completed event."""
    event = EventEnvelope(
        id=event_id,
        source="plugyard.host",
        type="task.completed",
        workspace_id=inst.workspace_id,
        time=world.adapters.clock.now(),
        data={},
    )
    return InvokeMessage(workspace_id=inst.workspace_id, installation_id=inst.installation_id, event=event)


def _audit(world: World, workspace: str, action: str) -> list[Any]:
    repo = world.adapters.audit
    assert isinstance(repo, memory.InMemoryAuditRepository)
    return [r for r in repo.items if r.workspace_id == workspace and r.action == action]


# --- one code path, two speeds ----------------------------------------------------------------------


def test_with_the_sandbox_a_version_is_ready_when_the_approval_answers() -> None:
    world, _ = _world()
    owner, version = _publish(world, "local-one")
    assert version.deployment == "ready" and version.deployed_at is not None
    assert _queue(world, "deploy") == []
    [record] = _audit(world, owner.workspace_id, "plugin.version.deploy")
    assert record.target == "local-one@1.0.0" and record.outcome == "success"
    detail = world.services.marketplace.get_plugin(owner, "local-one")
    assert detail.versions[0].deployment == "ready"


def test_with_lambda_approval_queues_the_deployment_and_the_worker_makes_it_ready() -> None:
    deployer = LambdaLikeDeployer()
    world, _ = _world(deployer)
    owner, version = _publish(world, "remote-one")
    assert version.deployment == "deploying"
    assert _queue(world, "deploy") == [
        {"kind": "deploy", "action": "deploy", "plugin_id": "remote-one", "version": "1.0.0"}
    ]
    assert deployer.deployed == []  # not inside the approval request
    out = handle_deploy_batch(_sqs_event(_queue(world, "deploy")), services=world.services)
    assert out == {"batchItemFailures": []}
    assert deployer.deployed == ["remote-one@1.0.0"]
    stored = world.adapters.versions.get("remote-one", "1.0.0")
    assert stored is not None and stored.deployment == "ready"
    # What the API shows (through the catalog cache) follows at once.
    assert world.services.marketplace.get_plugin(owner, "remote-one").versions[0].deployment == "ready"
    assert [r.detail.get("deployment") for r in _audit(world, owner.workspace_id, "plugin.version.deploy")] == [
        "deploying",
        "ready",
    ]
    # A duplicate delivery deploys nothing twice.
    handle_deploy_batch(_sqs_event(_queue(world, "deploy")), services=world.services)
    assert deployer.deployed == ["remote-one@1.0.0"]


def test_a_failing_deployment_is_retried_then_recorded_failed_with_its_reason() -> None:
    deployer = LambdaLikeDeployer()
    world, _ = _world(deployer)
    owner, _ = _publish(world, "flaky")
    deployer.fail_with = TimeoutError("still Pending after 120 s")
    body = _queue(world, "deploy")
    assert handle_deploy_batch(_sqs_event(body, receives=1), services=world.services) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}]
    }
    assert world.adapters.versions.get("flaky", "1.0.0").deployment == "deploying"  # type: ignore[union-attr]
    assert handle_deploy_batch(_sqs_event(body, receives=5), services=world.services) == {"batchItemFailures": []}
    failed = world.adapters.versions.get("flaky", "1.0.0")
    assert failed is not None and failed.deployment == "failed"
    assert failed.deployment_reason == "TimeoutError: still Pending after 120 s"
    [record] = [r for r in _audit(world, owner.workspace_id, "plugin.version.deploy") if r.outcome == "failed"]
    assert record.detail["reason"] == "TimeoutError: still Pending after 120 s"


def test_a_deployment_that_cannot_succeed_fails_at_once() -> None:
    deployer = LambdaLikeDeployer()
    world, _ = _world(deployer)
    _publish(world, "broken")
    deployer.fail_with = DeploymentFailedError("The artifact is missing.")
    handle_deploy_batch(_sqs_event(_queue(world, "deploy")), services=world.services)
    found = world.adapters.versions.get("broken", "1.0.0")
    assert found is not None and (found.deployment, found.deployment_reason) == ("failed", "The artifact is missing.")


def test_a_malformed_deploy_message_goes_to_the_dlq_with_its_reason() -> None:
    world, _ = _world(LambdaLikeDeployer())
    handle_deploy_batch(_sqs_event([{"kind": "deploy", "plugin_id": ""}]), services=world.services)
    queues = world.adapters.queues
    assert isinstance(queues, memory.InMemoryWorkQueues)
    [dead] = queues.dead["deploy"]
    assert dead["code"] == "malformed-message" and "deploy message" in dead["reason"]


# --- nothing runs before it is ready, nothing is lost ------------------------------------------------


def _installed(world: World, plugin_id: str) -> tuple[Any, Any]:
    admin = world.caller(world.workspace())
    return admin, world.services.installs.install(admin, InstallRequest(plugin_id=plugin_id))


def test_an_api_invoke_of_a_deploying_version_is_a_409_with_retry_after_and_runs_nothing() -> None:
    world, executor = _world(LambdaLikeDeployer())
    _publish(world, "slow")
    admin, inst = _installed(world, "slow")  # installing a deploying version is fine: nothing runs
    with pytest.raises(VersionNotReadyError) as caught:
        world.services.invocations.invoke(admin, inst.installation_id, InvokeRequest())
    assert status_of(caught.value) == 409 and caught.value.code == "version-not-ready"
    assert caught.value.extensions["retry_after_s"] > 0
    assert executor.requests == []
    handle_deploy_batch(_sqs_event(_queue(world, "deploy")), services=world.services)
    result = world.services.invocations.invoke(admin, inst.installation_id, InvokeRequest(payload={"n": 1}))
    assert result.status == "succeeded" and result.result == {"echo": {"n": 1}}
    # The executor ran it as the invocation that was recorded.
    assert [r.invocation_id for r in executor.requests] == [result.invocation_id]


def test_an_event_for_a_deploying_version_comes_back_later_and_then_runs() -> None:
    world, executor = _world(LambdaLikeDeployer())
    _publish(world, "queued")
    _admin, inst = _installed(world, "queued")
    message = _invoke_message(world, inst, "01EVENT")
    out = handle_invoke_batch(_sqs_event([message.model_dump(mode="json")]), services=world.services)
    assert out == {"batchItemFailures": []}  # acknowledged only because it is queued again …
    queues = world.adapters.queues
    assert isinstance(queues, memory.InMemoryWorkQueues)
    assert queues.sent["invoke"] == [message.model_dump(mode="json")]
    assert queues.delays["invoke"] == [30]  # … with a delay, as a new message (its receive count starts over)
    assert executor.requests == []
    handle_deploy_batch(_sqs_event(_queue(world, "deploy")), services=world.services)
    handle_invoke_batch(_sqs_event(queues.sent["invoke"]), services=world.services)
    assert len(executor.requests) == 1 and executor.requests[0].event["id"] == "01EVENT"


def test_an_event_for_a_version_that_failed_to_deploy_waits_in_the_dlq() -> None:
    deployer = LambdaLikeDeployer()
    world, executor = _world(deployer)
    _publish(world, "doomed")
    _admin, inst = _installed(world, "doomed")
    deployer.fail_with = DeploymentFailedError("Function ended Failed")
    handle_deploy_batch(_sqs_event(_queue(world, "deploy")), services=world.services)
    message = _invoke_message(world, inst, "01EV2")
    handle_invoke_batch(_sqs_event([message.model_dump(mode="json")]), services=world.services)
    queues = world.adapters.queues
    assert isinstance(queues, memory.InMemoryWorkQueues)
    [dead] = queues.dead["invoke"]
    assert dead["code"] == "version-not-deployed" and "Function ended Failed" in dead["reason"]
    assert json.loads(dead["body"])["event"]["id"] == "01EV2"
    assert executor.requests == []


# --- clean-up -----------------------------------------------------------------------------------------


def test_a_yanked_version_gives_its_function_back() -> None:
    deployer = LambdaLikeDeployer()
    world, _ = _world(deployer)
    owner, _ = _publish(world, "yanky")
    handle_deploy_batch(_sqs_event(_queue(world, "deploy")), services=world.services)
    world.services.marketplace.review(world.reviewer(), "yanky", "1.0.0", "yank", ReviewDecision(reason="malware"))
    removal = _queue(world, "deploy")[-1]
    assert DeployMessage.model_validate(removal).action == "remove"
    handle_deploy_batch(_sqs_event([removal]), services=world.services)
    assert deployer.removed == ["yanky@1.0.0"]
    assert _audit(world, owner.workspace_id, "plugin.version.undeploy")


def test_a_superseded_version_is_removed_when_its_last_installation_leaves() -> None:
    deployer = LambdaLikeDeployer()
    world, _ = _world(deployer)
    owner, _ = _publish(world, "moving")
    handle_deploy_batch(_sqs_event(_queue(world, "deploy")), services=world.services)
    admin, inst = _installed(world, "moving")
    _, v2 = _publish_next(world, owner, "moving", "1.1.0")
    handle_deploy_batch(_sqs_event(_queue(world, "deploy")[-1:]), services=world.services)
    world.services.installs.uninstall(admin, inst.installation_id)
    [removal] = [m for m in _queue(world, "deploy") if m["action"] == "remove"]
    assert removal["version"] == "1.0.0"
    handle_deploy_batch(_sqs_event([removal]), services=world.services)
    assert deployer.removed == ["moving@1.0.0"]
    assert v2.version == "1.1.0"


def test_the_latest_version_or_one_still_installed_is_never_removed() -> None:
    deployer = LambdaLikeDeployer()
    world, _ = _world(deployer)
    owner, _ = _publish(world, "kept")
    _installed(world, "kept")
    _publish_next(world, owner, "kept", "2.0.0")
    for version in ("1.0.0", "2.0.0"):  # 1.0.0 is still installed; 2.0.0 is the latest
        message = DeployMessage(action="remove", plugin_id="kept", version=version).model_dump()
        handle_deploy_batch(_sqs_event([message]), services=world.services)
    assert deployer.removed == []


def _publish_next(world: World, owner: Any, plugin_id: str, version: str) -> tuple[Any, PluginVersion]:
    world.publish_manifest(owner, plugin_id, version, events=["task.completed"])
    found = world.adapters.versions.get(plugin_id, version)
    assert found is not None
    return owner, found


# --- forged plugin events ------------------------------------------------------------------------------


def _plugin_event(workspace_id: str, plugin_id: str, *, source_plugin: str | None = None) -> EventEnvelope:
    from datetime import UTC, datetime

    return EventEnvelope(
        id="01FORGE",
        source=f"plugyard.plugin.{source_plugin or plugin_id}",
        type=f"plugin.{plugin_id}.done",
        workspace_id=workspace_id,
        time=datetime.now(UTC),
        data={},
    )


def test_a_plugin_event_claiming_a_workspace_without_that_plugin_is_dropped_and_audited() -> None:
    world, _ = _world()
    _publish(world, "emitter")
    _admin, inst = _installed(world, "emitter")
    victim = world.workspace()
    result = world.services.dispatch.dispatch(_plugin_event(victim, "emitter"))
    assert (result.invoke, result.delivery, result.dropped) == (0, 0, "not-installed-in-workspace")
    [record] = _audit(world, victim, "event.dispatch")
    assert record.outcome == "denied" and record.target == "01FORGE" and record.actor == "plugyard.plugin.emitter"
    # The genuine one, from the workspace it is installed in, goes through.
    assert world.services.dispatch.dispatch(_plugin_event(inst.workspace_id, "emitter")).dropped is None


def test_a_plugin_event_of_another_plugins_type_or_a_disabled_installation_is_dropped() -> None:
    world, _ = _world()
    _publish(world, "sender")
    admin, inst = _installed(world, "sender")
    mismatch = _plugin_event(inst.workspace_id, "sender", source_plugin="other")
    assert world.services.dispatch.dispatch(mismatch).dropped == "source-type-mismatch"
    world.services.installs.set_enabled(admin, inst.installation_id, False, reason="paused")
    assert world.services.dispatch.dispatch(_plugin_event(inst.workspace_id, "sender")).dropped == (
        "installation-disabled"
    )


def test_an_event_whose_plugin_function_was_throttled_is_retried() -> None:
    """Lambda refusing the call (concurrency) means the plugin never ran: the event stays on its queue."""
    from types import SimpleNamespace

    from chalicelib.services.plugin_events import InvocationEventHandler

    world, _ = _world()
    _publish(world, "busy")
    _admin, inst = _installed(world, "busy")

    class ThrottledRunner:
        def run(self, installation: Any, **kwargs: Any) -> Any:
            return SimpleNamespace(status="throttled")

    handler = InvocationEventHandler(ThrottledRunner(), world.adapters.versions)
    event = EventEnvelope(
        id="01EV3",
        source="plugyard.host",
        type="task.completed",
        workspace_id=inst.workspace_id,
        time=world.adapters.clock.now(),
        data={},
    )
    with pytest.raises(RuntimeError, match="throttled"):
        handler.handle(inst, event)
