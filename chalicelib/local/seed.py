"""Seed a demo marketplace: a workspace, its admin key, and the example plugins published over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from chalicelib.domain.permissions import Role
from chalicelib.local.packaging import build_plugin_zip
from chalicelib.services.auth import AuthService

__all__ = ["EXAMPLES", "SeedResult", "publish_zip", "seed_demo"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"
DEMO_WORKSPACE = "demo"
DEMO_PUBLISHER = "plugyard-labs"


@dataclass(frozen=True)
class SeedResult:
    """What the seed created."""

    workspace_id: str
    admin_key: str
    plugins: list[str]


def publish_zip(client: httpx.Client, data: bytes) -> httpx.Response:
    """Publish one zip the way a publisher does: ask for an upload, PUT it, submit it."""
    ticket = client.post("/api/plugins/uploads")
    ticket.raise_for_status()
    t = ticket.json()
    put = httpx.put(t["url"], content=data, headers=t["headers"], timeout=30)
    put.raise_for_status()
    return client.post("/api/plugins/versions", json={"upload_id": t["upload_id"]})


def seed_demo(auth: AuthService, api_url: str, admin_key: str | None) -> SeedResult:
    """Create the demo workspace (publisher ``plugyard-labs``) and publish every example plugin."""
    auth.create_workspace(DEMO_WORKSPACE, "Demo workspace", publisher_id=DEMO_PUBLISHER)
    key = auth.issue_key(DEMO_WORKSPACE, Role.ADMIN, "demo admin", created_by="operator", key=admin_key).key
    published = []
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for folder in sorted(p for p in EXAMPLES.iterdir() if (p / "plugyard.json").exists()):
            resp = publish_zip(client, build_plugin_zip(folder))
            if resp.status_code != 201:
                raise RuntimeError(f"seeding {folder.name} failed: {resp.status_code} {resp.text}")
            published.append(resp.json()["plugin_id"])
    return SeedResult(workspace_id=DEMO_WORKSPACE, admin_key=key, plugins=published)
