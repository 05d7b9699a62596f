"""Unit fixtures: services wired to in-memory fakes, a fixed clock and a fake DNS resolver."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import make_zip, manifest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib.config import Settings
from chalicelib.container import Adapters, Services, build_services, in_memory_adapters
from chalicelib.domain.models import Caller, RegisterKeyRequest, ReviewDecision, SubmitVersionRequest
from chalicelib.domain.permissions import Role
from chalicelib.domain.publisher_signing import sign_digest
from chalicelib.local.seed import public_key_b64

# What the fake DNS knows; anything else does not resolve (there is no network in unit tests).
FAKE_DNS: dict[str, list[str]] = {
    "hooks.example.test": ["93.184.216.34"],
    "dual.example.test": ["93.184.216.34", "10.0.0.7"],
    "internal.example.test": ["10.1.2.3"],
    "localhost": ["127.0.0.1", "::1"],
    "metadata.example.test": ["169.254.169.254"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    try:
        return FAKE_DNS[host]
    except KeyError:
        raise OSError(f"{host} does not resolve") from None


@dataclass
class World:
    """In-memory services plus handles to create callers and publish plugins."""

    services: Services
    adapters: Adapters
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    _reviewer: Caller | None = None

    def workspace(self, publisher: str | None = None) -> str:
        import uuid

        ws = f"ws-{uuid.uuid4().hex[:8]}"
        self.services.auth.create_workspace(ws, ws, publisher_id=publisher)
        return ws

    def caller(self, workspace_id: str, role: Role = Role.ADMIN) -> Caller:
        key = self.services.auth.issue_key(workspace_id, role, role.value, created_by="operator").key
        caller = self.services.auth.authenticate(f"Bearer {key}")
        # As GET /api/me answers it, so tests can name the caller's publisher.
        return caller.model_copy(update={"publisher_id": self.services.publishers.publisher_of(caller)})

    def signing_key(self, caller: Caller) -> Ed25519PrivateKey:
        """The publisher's signing key, registered on first use."""
        assert caller.publisher_id
        if caller.publisher_id not in self.keys:
            key = Ed25519PrivateKey.generate()
            self.services.publishers.register_key(caller, RegisterKeyRequest(public_key=public_key_b64(key)))
            self.keys[caller.publisher_id] = key
        return self.keys[caller.publisher_id]

    def reviewer(self) -> Caller:
        if self._reviewer is None:
            self._reviewer = self.caller(self.workspace(), Role.REVIEWER)
        return self._reviewer

    def submit(self, caller: Caller, data: bytes) -> Any:
        """Upload and submit signed; the version is pending review."""
        ticket = self.services.marketplace.request_upload(caller)
        self.adapters.artifacts.put(f"uploads/{caller.workspace_id}/{ticket.upload_id}.zip", data)
        key = self.signing_key(caller) if caller.publisher_id else Ed25519PrivateKey.generate()
        signature = sign_digest(key, hashlib.sha256(data).hexdigest())
        return self.services.marketplace.submit_version(
            caller, SubmitVersionRequest(upload_id=ticket.upload_id, signature=signature)
        )

    def publish(self, caller: Caller, data: bytes) -> Any:
        """Submit and have a reviewer approve; returns the plugin detail after approval."""
        detail = self.submit(caller, data)
        pending = next(v for v in detail.versions if v.state == "pending")
        self.services.marketplace.review(
            self.reviewer(), detail.plugin_id, pending.version, "approve", ReviewDecision(reason="ok")
        )
        return self.services.marketplace.get_plugin(caller, detail.plugin_id)

    def publish_manifest(self, caller: Caller, plugin_id: str, version: str = "1.0.0", **over: Any) -> Any:
        assert caller.publisher_id
        return self.publish(caller, make_zip(manifest(plugin_id, caller.publisher_id, version, **over)))


def make_world(**settings: Any) -> World:
    adapters = in_memory_adapters()
    adapters.resolver = fake_resolver
    services = build_services(Settings(**{"webhooks_allow_private": False, **settings}), adapters)
    return World(services, adapters)


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def world_factory() -> Callable[..., World]:
    return make_world


class FixedClock:
    def __init__(self) -> None:
        self.t = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.t
