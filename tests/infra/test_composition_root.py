"""One composition root: the AWS wiring holds no in-memory fake anywhere, and every real port answers.

The services are built by ``chalicelib.container`` as a deployed function builds them (Settings as on AWS:
the Lambda executor, EMF metrics, the live fan-out), against the stack provisioned on a moto server; then
the whole object graph is walked, so a fake hidden inside a service (not only in ``Adapters``) is found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.container import Adapters, aws_adapters, build_services, in_memory_adapters

from .support import REGION, STAGE, Stack


def _objects(root: Any) -> Iterator[Any]:
    """Every object reachable from `root` through attributes, dicts, lists, tuples and sets (ours only)."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            todo.extend(obj)
        elif type(obj).__module__.startswith("chalicelib"):
            todo.extend(getattr(obj, "__dict__", {}).values())
            todo.extend(getattr(obj, name) for name in getattr(type(obj), "__slots__", ()) if hasattr(obj, name))
        elif callable(obj) and getattr(obj, "__self__", None) is not None:  # bound methods: hooks, callbacks
            todo.append(obj.__self__)


def _is_fake(obj: Any) -> bool:
    cls = type(obj)
    return cls.__name__.startswith(("InMemory", "Echo")) or cls.__module__.startswith("chalicelib.adapters.memory")


@pytest.fixture
def aws_settings(stack: Stack) -> Settings:
    return Settings(
        stage=STAGE,
        region=REGION,
        aws_endpoint_url=stack.endpoint_url,
        artifacts_bucket=stack.outputs["ArtifactsBucketName"],
        secrets_key_id=stack.outputs["SecretsKeyArn"],
        executor="lambda",
        metrics="emf",
        capability_key="k" * 32,
        ai_provider="bedrock",
        ai_model="amazon.nova-micro-v1:0",
        broker_url="https://api.example.test/api",
        live_events_url="https://live.example.test/api",
    )


def test_no_port_of_adapters_defaults_to_a_fake() -> None:
    fields = {f.name: f for f in dataclasses.fields(Adapters)}
    for name, f in fields.items():
        if f.default_factory is not dataclasses.MISSING:
            assert not _is_fake(f.default_factory()), name
        elif f.default is not dataclasses.MISSING:
            assert f.default is None or not _is_fake(f.default), name


def test_the_aws_wiring_holds_no_in_memory_adapter(aws_settings: Settings) -> None:
    svc = build_services(aws_settings, aws_adapters(aws_settings))
    objects = list(_objects(svc))
    assert [type(o).__qualname__ for o in objects if _is_fake(o)] == []
    names = {type(o).__name__ for o in objects}
    # the walk reaches the real adapters behind the services
    assert {
        "DynamoInstallationRepository",
        "DynamoPluginDataRepository",
        "DynamoOutbox",  # events go to the outbox; the forwarder alone publishes to EventBridge
        "DynamoInstallationWriter",
        "SqsWorkQueues",  # the one SQS adapter: every worker queue and its DLQ
        "KmsSecretBox",
        "S3ArtifactStore",
        "LambdaExecutor",
        "EmfMetrics",
        "BedrockAiProvider",
    } <= names
    for name, check in svc.adapters.readiness.items():
        check()  # DynamoDB, S3 and KMS of the moto stack answer through the real clients
        assert name


def test_the_in_memory_wiring_is_fakes_only(aws_settings: Settings) -> None:
    adapters = in_memory_adapters()
    # the walk finds fakes where there are some (so the AWS wiring's empty list means something)
    assert sum(_is_fake(o) for o in _objects(build_services(aws_settings, adapters))) >= 20
    ports = {f.name: getattr(adapters, f.name) for f in dataclasses.fields(Adapters)}
    repositories = {n: p for n, p in ports.items() if p is not None and type(p).__name__.endswith("Repository")}
    assert repositories and all(_is_fake(p) for p in repositories.values()), repositories
