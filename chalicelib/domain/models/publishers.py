"""Publishers and the Ed25519 keys they sign artifacts with."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from chalicelib.domain.manifest import PLUGIN_ID_PATTERN
from chalicelib.domain.models._command import _Command

__all__ = [
    "CreatePublisherRequest",
    "Publisher",
    "PublisherKey",
    "PublisherView",
    "RegisterKeyRequest",
    "VerifyPublisherRequest",
]


class PublisherKey(BaseModel):
    """An Ed25519 public key a publisher signs artifacts with."""

    key_id: str
    public_key: str = Field(description="base64 of the raw 32-byte Ed25519 public key")
    created_at: datetime
    revoked: bool = False


class Publisher(BaseModel):
    """A publisher profile: its keys and whether a reviewer verified it."""

    publisher_id: str
    name: str
    owner_workspace_id: str
    created_at: datetime | None = None
    verified: bool = False
    verified_by: str | None = None
    verified_at: datetime | None = None
    keys: list[PublisherKey] = Field(default_factory=list)


class PublisherView(BaseModel):
    """A publisher as anyone may see it."""

    publisher_id: str
    name: str
    verified: bool
    keys: list[PublisherKey]
    verified_at: datetime | None = None


class RegisterKeyRequest(_Command):
    """Register a signing key for the caller's publisher."""

    public_key: str = Field(min_length=40, max_length=64, description="base64 raw Ed25519 public key")


class VerifyPublisherRequest(_Command):
    """A reviewer marks a publisher verified (or not)."""

    verified: bool = True


class CreatePublisherRequest(_Command):
    """A workspace admin creates the workspace's publisher identity (one per workspace)."""

    publisher_id: str = Field(
        pattern=PLUGIN_ID_PATTERN,
        description="The id manifests name in `publisher`: 3-64 lower-case letters, digits and dashes, unique",
    )
    name: str = Field(min_length=1, max_length=80, description="Display name shown in the marketplace")
