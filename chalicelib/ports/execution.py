"""Running plugin code: where it is deployed, how it is invoked, what it may call, what is recorded."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.domain.execution import Broker, InvocationOutcome, InvocationRequest
from chalicelib.domain.invocations import Invocation
from chalicelib.domain.models import PluginVersion
from chalicelib.ports.platform import Page

__all__ = [
    "AiProvider",
    "CodeCache",
    "FunctionDeployer",
    "HttpFetcher",
    "InvocationRepository",
    "PluginDataRepository",
    "PluginExecutor",
]


class InvocationRepository(Protocol):
    """Invocations of an installation (``chalicelib.domain.invocations.Invocation``), newest first."""

    def put(self, invocation: Invocation) -> None: ...
    def get(self, installation_id: str, invocation_id: str) -> Invocation | None: ...
    def list(self, installation_id: str, *, limit: int, token: str | None) -> Page[Invocation]: ...


class PluginDataRepository(Protocol):
    """Plugin key-value storage; ``partition`` is one installation's (see domain.iam.plugin_data_partition)."""

    def get(self, partition: str, key: str) -> Any | None: ...
    def put(self, partition: str, key: str, value: Any) -> None: ...
    def delete(self, partition: str, key: str) -> None: ...
    def list_keys(self, partition: str, *, prefix: str, limit: int) -> list[str]: ...
    def delete_partition(self, partition: str) -> int:
        """Delete every key of one installation (uninstall); returns how many."""
        ...


class HttpFetcher(Protocol):
    """Performs one outbound request to an address already checked and pinned by the caller."""

    def fetch(
        self, *, url: str, pinned_ip: str, method: str, headers: dict[str, str], body: str | None
    ) -> dict[str, Any]: ...


class AiProvider(Protocol):
    """Completes a prompt; raises AiUnavailableError (a clear message for the plugin) when not configured."""

    def complete(self, prompt: str, *, max_tokens: int, system: str | None) -> dict[str, Any]: ...


class PluginExecutor(Protocol):
    """Runs one invocation (sandbox locally, Lambda on AWS); plugin failures are outcomes, never raised."""

    def invoke(self, request: InvocationRequest, broker: Broker) -> InvocationOutcome: ...


class FunctionDeployer(Protocol):
    """Puts a version's code where it runs and takes it away again (services/deployments.py).

    ``synchronous``: deploying is quick and local (the sandbox's code cache), so an approval does it
    on the spot; otherwise (Lambda) the deploy queue's worker does.
    """

    synchronous: bool

    def deploy(self, version: PluginVersion) -> str:
        """Deploy (idempotent); DeploymentFailedError when retrying cannot help."""
        ...

    def remove(self, plugin_id: str, version: str) -> None: ...


class CodeCache(Protocol):
    """A read-only host directory holding a version's unpacked code, reused across invocations."""

    def code_dir(self, version: PluginVersion) -> str: ...
