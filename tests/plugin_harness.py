"""Publish → approve → install → invoke real plugin zips through the API of the local stack.

Used by tests/integration/test_invoke_api.py and tests/security/: one publisher workspace (with a registered
Ed25519 signing key) and one reviewer per session; each deploy is a fresh plugin id. ``own_stack`` starts a
stack of a module's own, for the few tests that need settings the session's stack must not have.
"""

from __future__ import annotations

import contextlib
import hashlib
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from conftest import make_zip, manifest, uid
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pynamodb.models import Model

from chalicelib.domain.permissions import Role
from chalicelib.domain.publisher_signing import sign_digest
from chalicelib.local.seed import public_key_b64
from chalicelib.local.stack import LocalStack, free_port


@dataclass
class Deployed:
    """One installed plugin and the admin client of the workspace it is installed in."""

    installation_id: str
    plugin_id: str
    workspace_id: str
    client: httpx.Client

    def invoke(self, payload: dict[str, Any] | None = None, entrypoint: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"payload": payload or {}}
        if entrypoint:
            body["entrypoint"] = entrypoint
        resp = self.client.post(f"/api/installations/{self.installation_id}/invoke", json=body)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def invocations(self) -> list[dict[str, Any]]:
        resp = self.client.get(f"/api/installations/{self.installation_id}/invocations", params={"limit": 100})
        assert resp.status_code == 200, resp.text
        return list(resp.json()["items"])


@dataclass
class Workspace:
    workspace_id: str
    admin: httpx.Client
    keys: dict[Role, str]


@dataclass
class Harness:
    stack: LocalStack
    operator: Any
    signing_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    publisher_id: str = field(default_factory=lambda: uid("pub"))
    clients: list[httpx.Client] = field(default_factory=list)
    # (plugin_id, version) -> sha256 of the published zip (the code cache's directory name)
    digests: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.publisher = self.workspace(publisher_id=self.publisher_id)
        reviewer_ws = uid("ws")
        self.operator.auth.create_workspace(reviewer_ws, "reviewers")
        key = self.operator.auth.issue_key(reviewer_ws, Role.REVIEWER, "reviewer", created_by="operator").key
        self.reviewer = self._client(key)
        resp = self.publisher.admin.post("/api/publisher/keys", json={"public_key": public_key_b64(self.signing_key)})
        assert resp.status_code in (200, 201), resp.text
        self.consumer = self.workspace()

    def _client(self, key: str) -> httpx.Client:
        c = httpx.Client(base_url=self.stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        self.clients.append(c)
        return c

    def workspace(self, publisher_id: str | None = None) -> Workspace:
        ws = uid("ws")
        self.operator.auth.create_workspace(ws, f"Workspace {ws}", publisher_id=publisher_id)
        keys = {
            r: self.operator.auth.issue_key(ws, r, r.value, created_by="operator").key
            for r in (Role.ADMIN, Role.MEMBER)
        }
        return Workspace(ws, self._client(keys[Role.ADMIN]), keys)

    def publish(
        self, files: dict[str, str], *, plugin_id: str | None = None, version: str = "1.0.0", **overrides: Any
    ) -> str:
        """Publish and approve a version (of a new plugin unless ``plugin_id``) from ``files`` (dedented)."""
        plugin_id = plugin_id or uid("plg")
        man = manifest(plugin_id, self.publisher_id, version, **overrides)
        data = make_zip(man, {name: textwrap.dedent(src) for name, src in files.items()})
        self.publish_zip(data, plugin_id, version)
        return plugin_id

    def publish_zip(self, data: bytes, plugin_id: str, version: str) -> None:
        """Upload, sign, submit and approve one plugin zip."""
        self.digests[(plugin_id, version)] = hashlib.sha256(data).hexdigest()
        client = self.publisher.admin
        ticket = client.post("/api/plugins/uploads")
        assert ticket.status_code == 201, ticket.text
        t = ticket.json()
        httpx.put(t["url"], content=data, headers=t["headers"], timeout=30).raise_for_status()
        signature = sign_digest(self.signing_key, hashlib.sha256(data).hexdigest())
        resp = client.post("/api/plugins/versions", json={"upload_id": t["upload_id"], "signature": signature})
        assert resp.status_code == 201, resp.text
        approve = self.reviewer.post(f"/api/review/{plugin_id}/{version}/approve", json={"reason": "test"})
        assert approve.status_code == 200, approve.text

    def install(
        self,
        plugin_id: str,
        grant: list[str],
        workspace: Workspace | None = None,
        config: dict[str, Any] | None = None,
    ) -> Deployed:
        ws = workspace or self.consumer
        body: dict[str, Any] = {"plugin_id": plugin_id, "grant": grant}
        if config is not None:
            body["config"] = config
        resp = ws.admin.post("/api/plugins/install", json=body)
        assert resp.status_code == 201, resp.text
        return Deployed(resp.json()["installation_id"], plugin_id, ws.workspace_id, ws.admin)

    def deploy(
        self,
        files: dict[str, str],
        *,
        permissions: list[str] | None = None,
        workspace: Workspace | None = None,
        config: dict[str, Any] | None = None,
        **over: Any,
    ) -> Deployed:
        """Publish, approve and install in one go."""
        perms = sorted(permissions or [])
        plugin_id = self.publish(files, permissions=perms, **over)
        return self.install(plugin_id, perms, workspace, config)

    def close(self) -> None:
        for c in self.clients:
            c.close()


_BINDING = ("table_name", "region", "host", "aws_access_key_id", "aws_secret_access_key")


def _models() -> list[type[Model]]:
    found, todo = [], list(Model.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo += model.__subclasses__()
    return found


@contextlib.contextmanager
def model_bindings_restored() -> Iterator[None]:
    """Put back the session stack's PynamoDB bindings after a module's own stack rebinds them.

    PynamoDB binds models per class, so ``operator_services()`` on a second stack points every model at it.
    """
    saved = {
        m: {k: getattr(m.Meta, k) for k in _BINDING if hasattr(m.Meta, k)} for m in _models() if hasattr(m, "Meta")
    }
    try:
        yield
    finally:
        for model, binding in saved.items():
            for key, value in binding.items():
                setattr(model.Meta, key, value)
            model._connection = None


@contextlib.contextmanager
def own_stack(
    extra_env: dict[str, str], *, worker_args: list[str] | None = None, quiet: bool = False
) -> Iterator[LocalStack]:
    """A local stack (no live server) with these settings, stopped after; the session's model bindings kept.

    ``quiet`` also silences the supervisor's restart messages (for tests that kill processes on purpose).
    """
    stack = LocalStack(
        api_port=free_port(), moto_port=free_port(), live=False, extra_env=extra_env, worker_args=worker_args or []
    )
    if quiet:
        stack.log = lambda line: None
    with model_bindings_restored():  # operator_services() on this stack rebinds the session's models
        try:
            stack.start(quiet_api=True)
            yield stack
        finally:
            stack.stop()
