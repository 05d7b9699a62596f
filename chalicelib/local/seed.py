"""Seed a demo marketplace over HTTP: a publisher workspace with a signing key, the example plugins signed,
submitted and approved by a platform reviewer, and the publisher verified."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chalicelib.domain.permissions import Role
from chalicelib.domain.publisher_signing import sign_digest
from chalicelib.local.packaging import build_plugin_zip
from chalicelib.services.auth import AuthService

__all__ = ["EXAMPLES", "SeedResult", "public_key_b64", "publish_zip", "seed_demo"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"
DEMO_WORKSPACE = "demo"
DEMO_PUBLISHER = "plugyard-labs"
PLATFORM_WORKSPACE = "platform"


@dataclass(frozen=True)
class SeedResult:
    """What the seed created."""

    workspace_id: str
    admin_key: str
    reviewer_key: str
    plugins: list[str]


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    """The raw public key, base64 — what ``POST /api/publisher/keys`` takes."""
    return base64.b64encode(private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def publish_zip(client: httpx.Client, data: bytes, signing_key: Ed25519PrivateKey) -> httpx.Response:
    """Publish one zip the way a publisher does: ask for an upload, PUT it, submit it signed."""
    ticket = client.post("/api/plugins/uploads")
    ticket.raise_for_status()
    t = ticket.json()
    put = httpx.put(t["url"], content=data, headers=t["headers"], timeout=30)
    put.raise_for_status()
    signature = sign_digest(signing_key, hashlib.sha256(data).hexdigest())
    return client.post("/api/plugins/versions", json={"upload_id": t["upload_id"], "signature": signature})


def seed_demo(auth: AuthService, api_url: str, admin_key: str | None) -> SeedResult:
    """Create the demo workspace (publisher ``plugyard-labs``) and a reviewer; publish and approve the examples."""
    auth.create_workspace(DEMO_WORKSPACE, "Demo workspace", publisher_id=DEMO_PUBLISHER)
    key = auth.issue_key(DEMO_WORKSPACE, Role.ADMIN, "demo admin", created_by="operator", key=admin_key).key
    auth.create_workspace(PLATFORM_WORKSPACE, "Plugyard platform team")
    reviewer = auth.issue_key(PLATFORM_WORKSPACE, Role.REVIEWER, "demo reviewer", created_by="operator").key
    signing_key = Ed25519PrivateKey.generate()
    published = []
    with (
        httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client,
        httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {reviewer}"}, timeout=30) as review,
    ):
        client.post("/api/publisher/keys", json={"public_key": public_key_b64(signing_key)}).raise_for_status()
        for folder in sorted(p for p in EXAMPLES.iterdir() if (p / "plugyard.json").exists()):
            resp = publish_zip(client, build_plugin_zip(folder), signing_key)
            if resp.status_code != 201:
                raise RuntimeError(f"seeding {folder.name} failed: {resp.status_code} {resp.text}")
            plugin = resp.json()
            version = plugin["versions"][0]["version"]
            review.post(
                f"/api/review/{plugin['plugin_id']}/{version}/approve",
                json={"reason": "A demo plugin, approved by the seed of make run."},
            ).raise_for_status()
            published.append(plugin["plugin_id"])
        review.post(f"/api/publishers/{DEMO_PUBLISHER}/verify", json={"verified": True}).raise_for_status()
    return SeedResult(workspace_id=DEMO_WORKSPACE, admin_key=key, reviewer_key=reviewer, plugins=published)
