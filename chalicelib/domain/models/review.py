"""What a reviewer (and the version's publisher) sees of a version: files, manifest, permission diff, scan."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from chalicelib.domain.models.plugins import PluginDetail
from chalicelib.domain.scan import ScanReport

__all__ = ["ArtifactFile", "PermissionDiff", "PublisherPlugins", "VersionReport"]


class ArtifactFile(BaseModel):
    """One file of the artifact."""

    path: str
    size: int = Field(description="Uncompressed size in bytes")
    sha256: str


class PermissionDiff(BaseModel):
    """What the version asks for beyond (or no longer asks for compared with) the previous released version."""

    previous_version: str | None = Field(
        None, description="Highest lower version that was approved (or later yanked); null: the first release"
    )
    scopes_added: list[str]
    scopes_removed: list[str]
    hosts_added: list[str] = Field(description="Hosts ctx.http.fetch may reach, newly allowed")
    hosts_removed: list[str]
    events_added: list[str] = Field(description="Event types it subscribes to, new")
    events_removed: list[str]


class VersionReport(BaseModel):
    """Everything a reviewer needs to decide on a version."""

    plugin_id: str
    version: str
    state: str
    publisher: str
    publisher_verified: bool
    artifact_sha256: str
    size_bytes: int
    manifest: dict[str, Any]
    files: list[ArtifactFile]
    diff: PermissionDiff
    scan: ScanReport


class PublisherPlugins(BaseModel):
    """The caller's publisher's plugins, each with every version in whatever review and deployment state."""

    publisher_id: str
    items: list[PluginDetail] = Field(description="By plugin id; versions newest first, development uploads left out")
