"""The execution half of the composition root: executor, code cache, broker ports, limits, tokens.

The package's __init__ calls ``execution_aws_adapters`` (real repositories) and ``build_execution``
(services); ``PLUGYARD_EXECUTOR`` picks the executor here and nowhere else.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.domain.capability_tokens import CapabilityTokenSigner
from chalicelib.domain.iam import PluginAwsContext
from chalicelib.ports import AiProvider, CodeCache, FunctionDeployer, PluginExecutor
from chalicelib.services.audit import AuditService
from chalicelib.services.broker import BrokerService
from chalicelib.services.deployments import DeploymentService
from chalicelib.services.invocations import ExecutionCaps, InvocationService
from chalicelib.services.limits import InvocationLimiter, LimitSettings

if TYPE_CHECKING:
    from chalicelib.container import Adapters
    from chalicelib.services.marketplace import MarketplaceService

__all__ = ["build_execution", "capability_signer", "execution_aws_adapters"]

log = logging.getLogger(__name__)


def execution_aws_adapters(settings: Settings) -> dict[str, Any]:
    """The DynamoDB repositories of execution (Invocations, PluginData, rate windows), bound to this stage's tables."""
    from chalicelib.adapters.aws import aws_client
    from chalicelib.adapters.dynamo import (
        DynamoInvocationRepository,
        DynamoPluginDataRepository,
        DynamoRateCounters,
        bind_execution_tables,
    )

    bind_execution_tables(settings)
    return {
        "invocations": DynamoInvocationRepository(),
        "plugin_data": DynamoPluginDataRepository(),
        "rate_counters": DynamoRateCounters(aws_client(settings, "dynamodb"), settings.table_name("meta")),
    }


def capability_signer(settings: Settings) -> CapabilityTokenSigner:
    """The HMAC key of capability tokens: the stack's Secrets Manager secret, else Settings' explicit key.

    Never a random per-process key where tokens cross processes (the Lambda executor: the invoker signs,
    the API's broker verifies); Settings refuses ``executor=lambda`` without a key. The sandbox passes no
    tokens between processes, so there a process-local key is enough.
    """
    if settings.capability_key_secret:
        from chalicelib.adapters.aws import aws_client
        from chalicelib.adapters.capability_keys import read_capability_keys

        keys = read_capability_keys(aws_client(settings, "secretsmanager"), settings.capability_key_secret)
        return CapabilityTokenSigner(keys.current, kid=keys.kid, previous=keys.previous)
    if settings.capability_key is not None:
        return CapabilityTokenSigner(settings.capability_key.get_secret_value().encode())
    return CapabilityTokenSigner(os.urandom(32))


def _ai(settings: Settings) -> AiProvider:
    from chalicelib.adapters import ai

    backend = settings.ai_backend
    if backend == "echo":
        return ai.EchoAiProvider()
    if backend == "bedrock":
        from chalicelib.adapters.aws import aws_client

        return ai.BedrockAiProvider(aws_client(settings, "bedrock-runtime"), settings.ai_model)
    if backend == "openai":
        key = settings.ai_api_key.get_secret_value() if settings.ai_api_key else None
        return ai.OpenAiCompatibleProvider(settings.ai_base_url, key, settings.ai_model)
    return ai.NoAiProvider()


def _executor(settings: Settings, a: Adapters, signer: CapabilityTokenSigner) -> tuple[PluginExecutor, CodeCache]:
    from chalicelib.adapters.code_cache import LocalCodeCache

    if settings.executor == "lambda":
        from chalicelib.adapters.aws import aws_client
        from chalicelib.adapters.lambda_executor import (
            ArtifactKeyCode,
            BrokerEndpoint,
            LambdaExecutor,
            invoke_client_config,
        )

        lambda_executor = LambdaExecutor(
            lambda_client=aws_client(settings, "lambda", config=invoke_client_config(settings.max_timeout_s)),
            tokens=signer,
            clock=a.clock,
            stage=settings.stage,
            broker=BrokerEndpoint(settings.broker_url),
        )
        return lambda_executor, ArtifactKeyCode()
    from chalicelib.adapters.sandbox import SandboxExecutor, WorkerSpec

    root = settings.code_cache_dir or os.path.join(tempfile.gettempdir(), f"plugyard-{settings.stage}-code")

    def wanted(specs: list[WorkerSpec]) -> set[WorkerSpec]:
        # A warm worker outlives neither a disable, an uninstall nor an upgrade, whichever process did it.
        current = {
            (i.workspace_id, i.plugin_id): i
            for i in a.installs.get_many([(s.workspace_id, s.plugin_id) for s in specs])
        }
        return {
            s
            for s in specs
            if (i := current.get((s.workspace_id, s.plugin_id))) is not None
            and (i.installation_id, i.state, i.version) == (s.installation_id, "enabled", s.version)
        }

    return (
        a.executor or SandboxExecutor(wanted=wanted),
        a.code or LocalCodeCache(a.artifacts, root, max_artifact_bytes=settings.max_artifact_bytes),
    )


def _deployer(settings: Settings, a: Adapters, code: CodeCache) -> FunctionDeployer:
    """Where approved versions are deployed: Lambda functions, or the local code cache."""
    from chalicelib.adapters.code_cache import CodeCacheDeployer

    if settings.executor != "lambda" or a.executor is not None:
        return CodeCacheDeployer(code)
    from chalicelib.adapters.aws import aws_client
    from chalicelib.adapters.lambda_functions import LambdaFunctions

    account: dict[str, str] = {}

    def aws() -> PluginAwsContext:
        if "id" not in account:
            account["id"] = str(aws_client(settings, "sts").get_caller_identity()["Account"])
        return PluginAwsContext(stage=settings.stage, region=settings.region, account_id=account["id"])

    return LambdaFunctions(
        lambda_client=aws_client(settings, "lambda"),
        iam_client=aws_client(settings, "iam"),
        logs_client=aws_client(settings, "logs"),
        artifacts=a.artifacts,
        aws=aws,
        max_artifact_bytes=settings.max_artifact_bytes,
        log_retention_days=settings.plugin_log_retention_days,
        permissions_boundary=settings.plugin_permissions_boundary_arn,
    )


def build_execution(
    settings: Settings, a: Adapters, audit: AuditService, marketplace: MarketplaceService
) -> tuple[BrokerService, InvocationService, DeploymentService]:
    """The broker, the invocation and the deployment services, with the executor ``settings.executor`` names."""
    from chalicelib.adapters.http_fetch import HttpxFetcher

    signer = capability_signer(settings)
    if a.executor is not None and a.code is not None:
        executor, code = a.executor, a.code
    else:
        executor, code = _executor(settings, a, signer)
    deployments = DeploymentService(
        a.plugins,
        a.versions,
        a.installs,
        a.queues,
        _deployer(settings, a, code),
        audit,
        a.clock,
        catalog_changed=marketplace.cache.invalidate,
    )
    marketplace.on_reviewed.append(deployments.on_reviewed)
    broker = BrokerService(
        a.plugin_data,
        audit,
        a.clock,
        a.ids,
        tasks=a.tasks,
        task_writer=a.task_writer,
        bus=a.bus,
        http=a.http or HttpxFetcher(),
        ai=a.ai or _ai(settings),
        resolve=a.resolver,
        allow_private=settings.http_fetch_allow_private,
    )
    limiter = InvocationLimiter(
        LimitSettings(
            installation_rate=settings.invoke_rate_per_installation,
            installation_burst=settings.invoke_burst_per_installation,
            plugin_rate=settings.invoke_rate_per_plugin,
            plugin_burst=settings.invoke_burst_per_plugin,
            installation_concurrency=settings.invoke_concurrency_per_installation,
            plugin_concurrency=settings.invoke_concurrency_per_plugin,
        ),
        a.rate_counters,
    )
    invocations = InvocationService(
        a.installs,
        a.versions,
        a.permissions,
        a.invocations,
        code,
        executor,
        broker,
        limiter,
        audit,
        a.clock,
        a.ids,
        a.secrets,
        caps=ExecutionCaps(
            max_memory_mb=settings.max_memory_mb,
            interactive_timeout_s=settings.invoke_timeout_cap_s,
            event_timeout_s=settings.max_timeout_s,
            retention_days=settings.invocation_retention_days,
        ),
        tokens=signer,
        metrics=a.metrics,
        stats=a.stats,
        require_ready=deployments.require_ready,
    )
    return broker, invocations, deployments
