"""An install's audit record is written in the install's own transaction on DynamoDB (moto), chained right
even when another process moved the chain since this one last saw it, and when the chain's newest records
were removed under its head."""

from __future__ import annotations

from typing import Any

from conftest import Tenant, uid

from chalicelib.domain.models import Caller, InstallRequest
from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack


def _install(services: Any, tenant: Tenant, plugin_id: str) -> Any:
    caller = Caller(workspace_id=tenant.workspace_id, role=Role.ADMIN, key_id="k-audit")
    return services.installs.install(caller, InstallRequest(plugin_id=plugin_id, grant=["tasks:read"]))


def _install_records(services: Any, ws: str) -> list[tuple[str, str]]:
    items, _ = services.audit._repo.query(ws, action="plugin.install", actor=None, target=None, limit=10, token=None)
    return [(r.target, r.outcome) for r in items]


def test_install_and_its_record_commit_together_after_another_process_moved_the_chain(
    stack: LocalStack, tenant: Tenant
) -> None:
    plugin_id = uid("audited")
    tenant.publish_ok(plugin_id, permissions=["tasks:read"])
    this, other = stack.operator_services(), stack.operator_services()  # two processes' worth of state
    ws = tenant.workspace_id
    this.audit.record(ws, "key:a", "test.before", "t")  # this process now remembers the chain's tail …
    other.audit.record(ws, "key:b", "test.meanwhile", "t")  # … which another process moves on
    inst = _install(this, tenant, plugin_id)
    assert _install_records(this, ws) == [(inst.installation_id, "success")]
    admin = Caller(workspace_id=ws, role=Role.ADMIN, key_id="auditor")
    assert this.audit.verify(admin).ok


def test_an_install_still_commits_after_the_newest_records_were_deleted_and_verify_reports_it(
    stack: LocalStack, tenant: Tenant
) -> None:
    plugin_id = uid("audited")
    tenant.publish_ok(plugin_id, permissions=["tasks:read"])
    ws = tenant.workspace_id
    this, other = stack.operator_services(), stack.operator_services()
    this.audit.record(ws, "key:a", "test.before", "t")  # this process remembers the tail here
    for i in range(2):
        other.audit.record(ws, "key:b", "test.action", f"t{i}")  # the head moves two past it
    ddb = stack.client("dynamodb")
    table = this.settings.table_name("audit-log")
    newest = ddb.query(
        TableName=table,
        KeyConditionExpression="workspace_id = :w",
        ExpressionAttributeValues={":w": {"S": ws}},
        ScanIndexForward=False,
        Limit=2,
        ConsistentRead=True,
    )["Items"]
    for item in newest:  # removed under the head, which still names the newest
        ddb.delete_item(TableName=table, Key={"workspace_id": item["workspace_id"], "seq": item["seq"]})

    # The install's record takes the first free position, behind the head: it commits without moving it.
    inst = _install(this, tenant, plugin_id)
    admin = Caller(workspace_id=ws, role=Role.ADMIN, key_id="auditor")
    assert this.installs.get(admin, inst.installation_id).installation_id == inst.installation_id
    assert _install_records(this, ws) == [(inst.installation_id, "success")]
    bad = this.audit.verify(admin)
    assert not bad.ok and "newest records were deleted" in (bad.reason or "")
