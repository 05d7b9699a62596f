"""Workspaces, API keys and the caller a request is made by."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from chalicelib.domain.models._command import _Command
from chalicelib.domain.permissions import ROLE_ACTIONS, Action, Role

__all__ = ["ApiKey", "ApiKeyCreated", "ApiKeyView", "Caller", "CreateApiKeyRequest", "Workspace"]


class Workspace(BaseModel):
    """A tenant: everything installed, registered or audited belongs to exactly one."""

    workspace_id: str
    name: str
    publisher_id: str | None = None
    created_at: datetime


class ApiKey(BaseModel):
    """An API key as stored: only its hash, never the key."""

    key_id: str
    key_hash: str
    workspace_id: str
    role: Role
    name: str
    created_at: datetime
    created_by: str
    revoked: bool = False


class Caller(BaseModel):
    """Who is making a request: workspace, role and key."""

    workspace_id: str
    role: Role
    key_id: str
    # The workspace's publisher id, where it was looked up (GET /api/me); authentication reads only the key, and
    # services that need the publisher ask PublisherService.publisher_of, which reads the workspace then.
    publisher_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"key:{self.key_id}"

    def can(self, action: Action) -> bool:
        """True when the caller's role allows the action."""
        return action in ROLE_ACTIONS[self.role]


class CreateApiKeyRequest(_Command):
    """Create an API key in the caller's workspace."""

    name: str = Field(min_length=1, max_length=80)
    role: Role


class ApiKeyView(BaseModel):
    """An API key without its secret."""

    key_id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str


class ApiKeyCreated(ApiKeyView):
    """The one response that carries the key itself."""

    key: str = Field(description="The API key. Shown once; store it now.")
