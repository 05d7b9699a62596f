"""An install resolves its version from the catalog its process holds, without reading the catalog's generation,
and its transaction checks that generation: a version yanked by another process since is never installed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import Tenant, manifest, uid

from chalicelib.domain.errors import VersionNotFoundError
from chalicelib.domain.models import Caller, InstallRequest
from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack


def _caller(tenant: Tenant) -> Caller:
    return Caller(workspace_id=tenant.workspace_id, role=Role.ADMIN, key_id="k-catalog")


def _count_generation_reads(services: Any) -> list[str]:
    store = services.marketplace.cache._generations
    reads: list[str] = []
    original = store.get

    def counting(name: str) -> int:
        reads.append(name)
        return int(original(name))

    store.get = counting
    return reads


def test_a_warm_install_reads_no_generation_and_a_yank_elsewhere_is_seen_at_commit(
    stack: LocalStack, new_tenant: Callable[..., Tenant]
) -> None:
    pub, first, second, third = new_tenant(), new_tenant(publisher=False), new_tenant(publisher=False), new_tenant()
    pid = uid("cat")
    assert pub.publish(manifest(pid, pub.publisher_id or "", "1.0.0")).status_code == 201
    assert pub.publish(manifest(pid, pub.publisher_id or "", "1.1.0")).status_code == 201
    this = stack.operator_services()  # one API process …
    request = InstallRequest(plugin_id=pid, grant=["tasks:read"])
    assert this.installs.install(_caller(first), request).version == "1.1.0"  # … whose catalog is now warm

    reads = _count_generation_reads(this)
    assert this.installs.install(_caller(second), request).version == "1.1.0"
    assert reads == []  # resolved from the held catalog; the transaction checked its generation

    # Another process yanks 1.1.0 (and bumps the generation); this one still holds the catalog with it.
    yank = pub.client(Role.REVIEWER).post(f"/api/review/{pid}/1.1.0/yank", json={"reason": "broken"})
    assert yank.status_code == 200, yank.text
    pinned = InstallRequest(plugin_id=pid, version="1.1.0", grant=["tasks:read"])
    with pytest.raises(VersionNotFoundError):
        this.installs.install(_caller(third), pinned)
    assert reads == ["marketplace"]  # the commit failed on the moved generation: resolved again, reading it
    assert this.installs.install(_caller(third), request).version == "1.0.0"
    assert this.installs._installs.get(third.workspace_id, pid).version == "1.0.0"


def test_a_version_approved_elsewhere_is_installed_by_a_process_holding_the_catalog_without_it(
    stack: LocalStack, new_tenant: Callable[..., Tenant]
) -> None:
    pub, first, second, third = new_tenant(), new_tenant(publisher=False), new_tenant(publisher=False), new_tenant()
    pid = uid("cat")
    assert pub.publish(manifest(pid, pub.publisher_id or "", "1.0.0")).status_code == 201
    this = stack.operator_services()
    request = InstallRequest(plugin_id=pid, grant=["tasks:read"])
    assert this.installs.install(_caller(first), request).version == "1.0.0"  # its catalog knows 1.0.0 only

    assert pub.publish(manifest(pid, pub.publisher_id or "", "1.1.0")).status_code == 201  # another process
    pinned = InstallRequest(plugin_id=pid, version="1.1.0", grant=["tasks:read"])
    assert this.installs.install(_caller(second), pinned).version == "1.1.0"  # not refused from the old catalog
    assert this.installs.install(_caller(third), request).version == "1.1.0"  # "latest" is the new latest
