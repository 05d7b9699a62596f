"""One Settings object, read from the environment (prefix ``PLUGYARD_``) once per process."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Every knob of the platform, with the defaults of the local stack."""

    model_config = SettingsConfigDict(env_prefix="PLUGYARD_", extra="ignore")

    stage: str = Field("dev", description="Deployment stage; part of every resource name.")
    region: str = Field("us-east-1", description="AWS region.")
    aws_endpoint_url: str | None = Field(None, description="Endpoint of a local AWS (the moto server); unset on AWS.")
    artifacts_bucket: str | None = Field(
        None, description="S3 bucket for plugin artifacts (default plugyard-<stage>-artifacts)."
    )
    secrets_key_id: str | None = Field(
        None, description="KMS key id/alias for secrets (default alias/plugyard-<stage>-secrets)."
    )
    max_body_bytes: int = Field(256 * 1024, description="Largest accepted JSON request body.")
    max_artifact_bytes: int = Field(20 * 1024 * 1024, description="Largest plugin zip accepted.")
    upload_url_ttl_s: int = Field(900, description="Lifetime of a presigned upload URL.")
    idempotency_ttl_s: int = Field(24 * 3600, description="How long Idempotency-Key replays last.")
    webhooks_allow_private: bool = Field(
        False, description="Allow webhook URLs on private/loopback addresses (local dev only)."
    )
    dev_installations: bool = Field(
        False,
        description="Allow development installations (unpublished, unreviewed uploads run in the uploader's "
        "workspace). make run turns it on. The packaged template leaves it off: its plugins run as Lambda "
        "functions, created once per version and not updated in place, so uploads are refused there anyway.",
    )
    max_memory_mb: int = Field(1024, description="Platform cap on a plugin's memory_mb.")
    max_timeout_s: int = Field(60, description="Platform cap on a plugin's timeout_s.")
    host_version: str = Field("1.0.0", description="Version of the host application.")
    plugin_permissions_boundary_arn: str | None = Field(
        None, description="IAM permissions boundary every generated plugin role is created with (AWS executor)."
    )
    auth_cache_ttl_s: float = Field(
        10, description="How long a process remembers an authenticated API key (revocation delay elsewhere)."
    )
    catalog_cache_ttl_s: int = Field(3600, description="Lifetime of the marketplace metadata cache.")
    log_level: str = Field("INFO", description="Log level of the structured logger.")
    metrics: Literal["memory", "emf"] = Field(
        "memory", description="Where metrics go: memory (local, tests) | emf (CloudWatch EMF on stdout, on AWS)."
    )
    # --- plugin execution ---
    executor: Literal["sandbox", "lambda"] = Field("sandbox", description="Where plugins run: sandbox | lambda.")
    code_cache_dir: str | None = Field(
        None, description="Host dir where published versions are unpacked (default <tmp>/plugyard-<stage>-code)."
    )
    invoke_timeout_cap_s: float = Field(30, description="Cap on timeout_s for interactive (API) invocations.")
    invocation_retention_days: int = Field(30, description="How long Invocations records are kept (TTL).")
    invoke_rate_per_installation: float = Field(10, description="Sustained invocations/s of one installation.")
    invoke_burst_per_installation: int = Field(20, description="Burst of invocations of one installation.")
    invoke_rate_per_plugin: float = Field(50, description="Sustained invocations/s of one plugin, all workspaces.")
    invoke_burst_per_plugin: int = Field(100, description="Burst of invocations of one plugin, all workspaces.")
    invoke_concurrency_per_installation: int = Field(4, description="Invocations of one installation at once.")
    invoke_concurrency_per_plugin: int = Field(16, description="Invocations of one plugin at once, all workspaces.")
    plugin_log_retention_days: int = Field(30, description="Retention of each plugin function's log group (AWS).")
    capability_key: SecretStr | None = Field(
        None, description="HMAC key (≥ 32 bytes) for Lambda capability tokens; shared by invoker and broker."
    )
    capability_key_secret: str | None = Field(
        None,
        description="Secrets Manager secret (ARN or name) holding the capability-token key, read once at cold "
        "start: its AWSCURRENT version signs, AWSPREVIOUS still verifies (rotation); the version id is the key id.",
    )
    broker_url: str | None = Field(None, description="Public base URL of this API, for the SDK on Lambda.")
    http_fetch_allow_private: bool = Field(False, description="Let ctx.http.fetch reach private addresses (dev only).")
    ai_provider: Literal["echo", "bedrock", "openai", "none"] | None = Field(
        None,
        description="Backend of ai.complete. Unset: echo (a deterministic stand-in, not a model) against a local "
        "AWS endpoint, bedrock (Converse) on AWS; echo on AWS only when set explicitly.",
    )
    ai_model: str | None = Field(None, description="Model id for Bedrock (required) or the OpenAI-compatible API.")
    ai_base_url: str | None = Field(None, description="Base URL of the OpenAI-compatible API.")
    ai_api_key: SecretStr | None = Field(None, description="API key of the OpenAI-compatible API.")
    # --- events ---
    event_bus_name: str | None = Field(None, description="EventBridge bus (default plugyard-<stage>).")
    hook_budget_ms: float = Field(2000, description="Total time a synchronous hook (task.before_run) may take.")
    live_events_url: str | None = Field(
        None,
        description="Where live events are pushed: the WebSocket API's management endpoint on AWS "
        "(https://<api-id>.execute-api.<region>.amazonaws.com/<stage>), the local websocket server's control "
        "URL under make run; unset = no live fan-out.",
    )
    live_public_url: str | None = Field(
        None,
        description="The live WebSocket URL clients connect to (wss://<api-id>.execute-api.<region>.amazonaws.com/api "
        "on AWS, ws://127.0.0.1:<live port> under make run): answered with live tickets, and the one origin "
        "besides its own the console may connect to; unset = no tickets.",
    )
    live_secret: SecretStr | None = Field(
        None, description="Shared secret of the local websocket server's control port (set by make run)."
    )
    live_connection_ttl_s: int = Field(
        2 * 3600, description="Lifetime of a live connection record (API Gateway closes sockets after 2 h)."
    )
    live_max_connections_per_workspace: int = Field(100, description="Open live connections one workspace may hold.")

    @model_validator(mode="after")
    def _deployable(self) -> Self:
        """Refuse settings that would run but silently do the wrong thing on AWS."""
        if self.executor == "lambda" and self.capability_key is None and not self.capability_key_secret:
            raise ValueError(
                "PLUGYARD_EXECUTOR=lambda needs the capability-token key shared by the invoker and the broker: "
                "set PLUGYARD_CAPABILITY_KEY_SECRET (the stack's secret) or PLUGYARD_CAPABILITY_KEY"
            )
        return self

    @property
    def ai_backend(self) -> Literal["echo", "bedrock", "openai", "none"]:
        """The AI backend: the configured one, else echo locally (a moto endpoint) and Bedrock on AWS."""
        if self.ai_provider is not None:
            return self.ai_provider
        return "echo" if self.aws_endpoint_url else "bedrock"

    @property
    def bus_name(self) -> str:
        """The EventBridge bus events are published to."""
        return self.event_bus_name or f"plugyard-{self.stage}"

    def queue_name(self, purpose: str) -> str:
        """Name of a worker queue (``dispatch``, ``invoke``, ``delivery``) or its DLQ (``dispatch-dlq`` …)."""
        return f"plugyard-{self.stage}-{purpose}"

    def table_name(self, purpose: str) -> str:
        """Name of a DynamoDB table, ``plugyard-<stage>-<purpose>``."""
        return f"plugyard-{self.stage}-{purpose}"

    @property
    def bucket(self) -> str:
        """The artifacts bucket name."""
        return self.artifacts_bucket or f"plugyard-{self.stage}-artifacts"

    @property
    def secrets_key(self) -> str:
        """The KMS key used for webhook secrets and secret config fields."""
        return self.secrets_key_id or f"alias/plugyard-{self.stage}-secrets"
