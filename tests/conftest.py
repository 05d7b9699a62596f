"""Shared fixtures: one local stack per session (moto server + API over HTTP), tenants, plugin zips.

The stack is started lazily: unit tests never pay for it. Every test creates its own workspaces and
plugin ids (unique suffixes), so tests are independent of each other and of their order.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# The session's `make run` (the README's stack), shared by tests/e2e and tests/cli, and the hook that stops it
# right after its last user.
from make_run_stack import make_run, pytest_collection_modifyitems  # noqa: F401

from chalicelib.domain.permissions import Role
from chalicelib.local.seed import public_key_b64, publish_zip
from chalicelib.local.stack import LocalStack, free_port

ROOT_DIR = str(Path(__file__).resolve().parents[1])
ROLES = (Role.ADMIN, Role.MEMBER, Role.PUBLISHER, Role.REVIEWER)
PROBLEM_JSON = "application/problem+json"


# --- plugins ----------------------------------------------------------------------------


def uid(prefix: str = "t") -> str:
    """A unique lower-case id that is also a valid plugin / publisher id."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def manifest(plugin_id: str, publisher: str, version: str = "1.0.0", /, **overrides: Any) -> dict[str, Any]:
    """A valid manifest dict; ``overrides`` replace (or, with value None, remove) fields."""
    m: dict[str, Any] = {
        "id": plugin_id,
        "name": f"Plugin {plugin_id}",
        "version": version,
        "publisher": publisher,
        "description": f"Test plugin {plugin_id}.",
        "categories": ["productivity"],
        "entrypoints": {"main": "handler:main"},
        "resources": {"memory_mb": 64, "timeout_s": 5},
    }
    for k, v in overrides.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    return m


def make_zip(
    man: dict[str, Any] | bytes | None,
    files: dict[str, bytes | str] | None = None,
    *,
    entries: list[zipfile.ZipInfo | tuple[zipfile.ZipInfo, bytes]] | None = None,
) -> bytes:
    """A plugin zip: ``plugyard.json`` (unless None), a handler, extra ``files`` and raw ``entries``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        if man is not None:
            raw = man if isinstance(man, bytes) else json.dumps(man).encode()
            zf.writestr("plugyard.json", raw)
        all_files: dict[str, bytes | str] = {"handler.py": "def main(event, ctx):\n    return {'ok': True}\n"}
        all_files.update(files or {})
        for name, data in all_files.items():
            zf.writestr(name, data)
        for entry in entries or []:
            info, data = entry if isinstance(entry, tuple) else (entry, b"x")
            zf.writestr(info, data)
    return buf.getvalue()


# --- the stack ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The local stack, allow-private webhooks OFF (as in production)."""
    # moto records requests only while a test turns its recorder on; the file stays out of the worktree.
    recording = tmp_path_factory.mktemp("moto") / "recording.jsonl"
    s = LocalStack(
        api_port=free_port(),
        moto_port=free_port(),
        extra_env={"PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "false", "MOTO_RECORDER_FILEPATH": str(recording)},
    )
    try:
        s.start(quiet_api=True)
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def operator(stack: LocalStack) -> Any:
    """Services bound to the stack (operator actions: create workspaces, issue keys)."""
    return stack.operator_services()


@dataclass
class Tenant:
    """A workspace with one key per role and a way to call the API as each."""

    workspace_id: str
    publisher_id: str | None
    keys: dict[Role, str]
    api_url: str
    signing_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, role: Role = Role.ADMIN, **headers: str) -> httpx.Client:
        """An httpx client authenticated with this workspace's key for ``role``."""
        return self.client_with_key(self.keys[role], **headers)

    def client_with_key(self, key: str | None, **headers: str) -> httpx.Client:
        h = dict(headers)
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        c = httpx.Client(base_url=self.api_url, headers=h, timeout=30)
        self._clients.append(c)
        return c

    @property
    def admin(self) -> httpx.Client:
        return self.client(Role.ADMIN)

    def register_signing_key(self) -> None:
        resp = self.admin.post("/api/publisher/keys", json={"public_key": public_key_b64(self.signing_key)})
        assert resp.status_code == 201, resp.text

    def submit(self, data: bytes) -> httpx.Response:
        """Upload → PUT → signed submit, as this workspace's admin; the version is pending review."""
        return publish_zip(self.admin, data, self.signing_key)

    def approve(self, plugin_id: str, version: str) -> httpx.Response:
        """Approve a version with this workspace's reviewer key (a platform reviewer)."""
        return self.client(Role.REVIEWER).post(f"/api/review/{plugin_id}/{version}/approve", json={"reason": "ok"})

    def publish(
        self, man: dict[str, Any], files: dict[str, bytes | str] | None = None, *, approve: bool = True
    ) -> httpx.Response:
        """Submit a plugin zip and (by default) have a reviewer approve it.

        Returns the submit response; after approval its body is the plugin detail as it then stands.
        """
        resp = self.submit(make_zip(man, files))
        if resp.status_code != 201 or not approve:
            return resp
        body = resp.json()
        version = json.loads(man)["version"] if isinstance(man, bytes) else man["version"]
        approved = self.approve(body["plugin_id"], version)
        assert approved.status_code == 200, approved.text
        detail = self.admin.get(f"/api/plugins/{body['plugin_id']}")
        return httpx.Response(201, json=detail.json(), request=resp.request)

    def publish_ok(self, plugin_id: str, version: str = "1.0.0", **overrides: Any) -> dict[str, Any]:
        assert self.publisher_id
        resp = self.publish(manifest(plugin_id, self.publisher_id, version, **overrides))
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def close(self) -> None:
        for c in self._clients:
            c.close()


@pytest.fixture
def new_tenant(stack: LocalStack, operator: Any) -> Iterator[Callable[..., Tenant]]:
    """Factory: a fresh workspace (a publisher by default) with a key for every role."""
    made: list[Tenant] = []

    def make(*, publisher: bool = True) -> Tenant:
        ws = uid("ws")
        pub = uid("pub") if publisher else None
        operator.auth.create_workspace(ws, f"Workspace {ws}", publisher_id=pub)
        keys = {r: operator.auth.issue_key(ws, r, f"{r.value} key", created_by="operator").key for r in ROLES}
        t = Tenant(ws, pub, keys, stack.api_url)
        if pub:
            t.register_signing_key()
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()


@pytest.fixture
def tenant(new_tenant: Callable[..., Tenant]) -> Tenant:
    return new_tenant()


def assert_problem(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 7807 problem with that status (and type code), without internals."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM_JSON), resp.headers
    body = resp.json()
    assert body["status"] == status
    assert body["type"].startswith("https://"), body
    if code is not None:
        assert body["type"].endswith("/" + code), body
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    return dict(body)
