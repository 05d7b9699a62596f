"""One Settings object, read from the environment (prefix ``PLUGYARD_``) once per process."""

from __future__ import annotations

from pydantic import Field
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
    max_memory_mb: int = Field(1024, description="Platform cap on a plugin's memory_mb.")
    max_timeout_s: int = Field(60, description="Platform cap on a plugin's timeout_s.")
    host_version: str = Field("1.0.0", description="Version of the host application.")
    log_level: str = Field("INFO", description="Log level of the structured logger.")

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
