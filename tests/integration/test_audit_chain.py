"""The audit chain against someone who can write the AuditLog table but does not hold the key.

Every attack is made the way such an attacker would: plain DynamoDB calls on the moto server, with any
unkeyed sha256 chain recomputed consistently. Verify runs through the real services (PynamoDB + KMS on moto).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import Tenant, uid

from chalicelib.domain.models import Caller
from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack

CHAIN_LENGTH = 6


class Attacker:
    """Raw reads and writes on the AuditLog and meta tables of one workspace."""

    def __init__(self, stack: LocalStack, operator: Any, workspace_id: str) -> None:
        self.ddb = stack.client("dynamodb")
        self.table = operator.settings.table_name("audit-log")
        self.meta = operator.settings.table_name("meta")
        self.ws = workspace_id

    def items(self) -> list[dict[str, Any]]:
        return self.ddb.query(
            TableName=self.table,
            KeyConditionExpression="workspace_id = :w",
            ExpressionAttributeValues={":w": {"S": self.ws}},
            ConsistentRead=True,
        )["Items"]

    def delete(self, item: dict[str, Any]) -> None:
        self.ddb.delete_item(TableName=self.table, Key={"workspace_id": item["workspace_id"], "seq": item["seq"]})

    def put(self, item: dict[str, Any]) -> None:
        self.ddb.put_item(TableName=self.table, Item=item)

    @staticmethod
    def doc(item: dict[str, Any]) -> dict[str, Any]:
        return json.loads(item["doc"]["S"])

    @staticmethod
    def with_doc(item: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
        return {**item, "doc": {"S": json.dumps(doc)}}

    @staticmethod
    def unkeyed(doc: dict[str, Any]) -> str:
        """What the hash would be if it were a plain sha256: anyone can compute it."""
        body = {k: v for k, v in doc.items() if k != "hash"}
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def rechain(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Recompute prev_hash/hash of docs in order, consistently, without the key."""
        prev = docs[0]["prev_hash"]
        for doc in docs:
            doc["prev_hash"] = prev
            doc["hash"] = prev = self.unkeyed(doc)
        return docs


@pytest.fixture
def chain(operator: Any) -> tuple[str, Caller]:
    ws = uid("ws")
    for i in range(CHAIN_LENGTH):
        operator.audit.record(ws, "key:someone", "test.action", f"t{i}")
    admin = Caller(workspace_id=ws, role=Role.ADMIN, key_id="auditor")
    assert operator.audit.verify(admin).ok
    return ws, admin


@pytest.fixture
def attacker(stack: LocalStack, operator: Any, chain: tuple[str, Caller]) -> Attacker:
    return Attacker(stack, operator, chain[0])


def test_deleting_a_record_in_the_middle_is_detected(
    operator: Any, chain: tuple[str, Caller], attacker: Attacker
) -> None:
    items = attacker.items()
    attacker.delete(items[2])
    bad = operator.audit.verify(chain[1])
    assert not bad.ok and bad.first_bad_seq == items[3]["seq"]["S"] and bad.checked == 2


@pytest.mark.parametrize("how_many", [1, 2])
def test_deleting_the_newest_records_is_detected_by_the_head(
    operator: Any, chain: tuple[str, Caller], attacker: Attacker, how_many: int
) -> None:
    items = attacker.items()
    for item in items[-how_many:]:
        attacker.delete(item)
    bad = operator.audit.verify(chain[1])
    assert not bad.ok and bad.checked == CHAIN_LENGTH - how_many
    assert bad.first_bad_seq == items[-how_many]["seq"]["S"] and "newest records were deleted" in (bad.reason or "")


def test_deleting_the_newest_record_and_the_head_is_detected(
    operator: Any, chain: tuple[str, Caller], attacker: Attacker
) -> None:
    attacker.delete(attacker.items()[-1])
    attacker.ddb.delete_item(
        TableName=attacker.meta, Key={"pk": {"S": f"audithead#{attacker.ws}"}, "sk": {"S": "head"}}
    )
    bad = operator.audit.verify(chain[1])
    assert not bad.ok and "head is missing" in (bad.reason or "")


def test_rolling_the_head_back_to_a_forged_record_is_detected(
    operator: Any, chain: tuple[str, Caller], attacker: Attacker
) -> None:
    items = attacker.items()
    attacker.delete(items[-1])
    forged = attacker.doc(items[-2])
    forged["hash"] = attacker.unkeyed(forged)  # the head is a record: without the key it cannot be re-made
    head_key = {"pk": {"S": f"audithead#{attacker.ws}"}, "sk": {"S": "head"}}
    head = {**head_key, "doc": {"S": json.dumps(forged)}, "gen": {"N": str(CHAIN_LENGTH - 1)}}
    attacker.ddb.put_item(TableName=attacker.meta, Item=head)
    bad = operator.audit.verify(chain[1])
    assert not bad.ok and "head was modified" in (bad.reason or "")


def test_reordering_records_is_detected(operator: Any, chain: tuple[str, Caller], attacker: Attacker) -> None:
    items = attacker.items()
    docs = [attacker.doc(i) for i in items]
    # Swap records 2 and 3, keep every seq in place, and recompute the (unkeyed) chain over the new order.
    docs[2], docs[3] = docs[3], docs[2]
    docs[2]["seq"], docs[3]["seq"] = docs[3]["seq"], docs[2]["seq"]
    docs[2]["prev_hash"] = docs[3]["prev_hash"]  # joined to the genuine record 1
    for item, doc in zip(items[2:], attacker.rechain(docs[2:]), strict=True):
        attacker.put(attacker.with_doc(item, doc))
    bad = operator.audit.verify(chain[1])
    assert not bad.ok and bad.first_bad_seq == items[2]["seq"]["S"] and "modified or forged" in (bad.reason or "")


def test_rewriting_a_record_with_a_recomputed_chain_is_detected(
    operator: Any, chain: tuple[str, Caller], attacker: Attacker
) -> None:
    items = attacker.items()
    docs = [attacker.doc(i) for i in items]
    docs[3]["outcome"] = "failed"
    docs[3]["target"] = "somewhere-else"
    # Joined to the genuine record before it (prev_hash unchanged), every later record re-chained to match.
    for item, doc in zip(items[3:], attacker.rechain(docs[3:]), strict=True):
        attacker.put(attacker.with_doc(item, doc))
    bad = operator.audit.verify(chain[1])
    assert not bad.ok and bad.first_bad_seq == items[3]["seq"]["S"] and bad.checked == 3


def test_verify_is_bounded_per_call_and_continues_with_a_token(operator: Any, chain: tuple[str, Caller]) -> None:
    admin, checked, token, calls = chain[1], 0, None, 0
    while True:
        part = operator.audit.verify(admin, token=token, max_records=4)
        calls += 1
        assert part.ok and part.checked <= checked + 4
        checked, token = part.checked, part.next_token
        if part.complete:
            break
    assert (checked, calls) == (CHAIN_LENGTH, 2)


def test_concurrent_appends_in_one_workspace_never_fail_the_request(operator: Any, tenant: Tenant) -> None:
    """8 API clients and, in this process, 4 more writers (another process as far as the chain knows)."""
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def guard(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # a failed thread must fail the test, not vanish
                with lock:
                    errors.append(exc)

        return run

    def client_writes() -> None:
        with httpx.Client(
            base_url=tenant.api_url, headers={"Authorization": f"Bearer {tenant.keys[Role.ADMIN]}"}, timeout=60
        ) as c:
            for _ in range(5):
                r = c.post("/api/keys", json={"name": uid("k"), "role": "member"})
                with lock:
                    results.append(r.status_code)

    def operator_writes() -> None:
        for i in range(5):
            operator.audit.record(tenant.workspace_id, "key:operator", "test.concurrent", f"o{i}")

    threads = [threading.Thread(target=guard(client_writes)) for _ in range(8)]
    threads += [threading.Thread(target=guard(operator_writes)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert results == [201] * 40
    verdict = tenant.admin.get("/api/audit/verify").json()
    assert verdict["ok"] is True and verdict["checked"] >= 60, verdict


def test_verify_over_http_continues_with_its_sealed_token(operator: Any, tenant: Tenant) -> None:
    for i in range(3):
        operator.audit.record(tenant.workspace_id, "key:operator", "test.paged", f"p{i}")
    whole = tenant.admin.get("/api/audit/verify").json()
    assert whole["ok"] is True and whole["complete"] is True and whole["next_token"] is None
    forged = tenant.admin.get("/api/audit/verify", params={"next_token": "eyJ3cyI6IngifQ"})
    assert forged.status_code == 400
