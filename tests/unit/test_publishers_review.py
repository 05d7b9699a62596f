"""Self-serve publishers and the review report on the in-memory fakes: the rules, not the transport."""

from __future__ import annotations

import pytest
from conftest import make_zip, manifest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib.domain.errors import ForbiddenError, PublisherTakenError, ScanNotAcknowledgedError
from chalicelib.domain.models import CreatePublisherRequest, RegisterKeyRequest, ReviewDecision
from chalicelib.domain.permissions import Role
from chalicelib.local.seed import public_key_b64

from .conftest import World


def test_a_key_authenticated_before_the_publisher_existed_publishes_under_it(world: World) -> None:
    ws = world.workspace()
    caller = world.caller(ws)
    assert caller.publisher_id is None
    world.services.publishers.create(caller, CreatePublisherRequest(publisher_id="fresh-pub", name="Fresh"))
    assert world.services.publishers.publisher_of(caller) == "fresh-pub"
    assert world.services.publishers.mine(caller).publisher_id == "fresh-pub"
    stale = caller.model_copy(update={"publisher_id": None})  # as cached by the auth service
    key = Ed25519PrivateKey.generate()
    world.services.publishers.register_key(stale, RegisterKeyRequest(public_key=public_key_b64(key)))
    fresh = world.caller(ws)
    assert fresh.publisher_id == "fresh-pub"
    world.keys["fresh-pub"] = key
    detail = world.submit(fresh, make_zip(manifest("fresh-plugin", "fresh-pub")))
    assert detail.publisher == "fresh-pub"


def test_ids_are_unique_a_workspace_has_one_and_only_admins_create(world: World) -> None:
    a, b = world.caller(world.workspace()), world.caller(world.workspace())
    world.services.publishers.create(a, CreatePublisherRequest(publisher_id="one-pub", name="One"))
    with pytest.raises(PublisherTakenError):
        world.services.publishers.create(a, CreatePublisherRequest(publisher_id="two-pub", name="Two"))
    with pytest.raises(PublisherTakenError):
        world.services.publishers.create(b, CreatePublisherRequest(publisher_id="one-pub", name="Thief"))
    member = world.caller(b.workspace_id, Role.MEMBER)
    with pytest.raises(ForbiddenError):
        world.services.publishers.create(member, CreatePublisherRequest(publisher_id="m-pub", name="M"))
    assert world.services.publishers.publisher_of(b) is None


def test_a_publisher_id_the_operator_assigns_is_owned_at_once(world: World) -> None:
    """Before its first signing key too: no self-serve workspace can claim it, and the operator cannot give it twice."""
    owner = world.workspace(publisher="ops-pub")
    profile = world.adapters.publishers.get("ops-pub")
    assert profile is not None and profile.owner_workspace_id == owner and profile.keys == []
    thief = world.caller(world.workspace())
    with pytest.raises(PublisherTakenError):
        world.services.publishers.create(thief, CreatePublisherRequest(publisher_id="ops-pub", name="Thief"))
    with pytest.raises(PublisherTakenError):
        world.workspace(publisher="ops-pub")
    assert world.services.publishers.mine(world.caller(owner)).publisher_id == "ops-pub"


def test_the_diff_compares_with_the_highest_lower_release_and_a_failed_scan_needs_acknowledgement(
    world: World,
) -> None:
    pub = world.caller(world.workspace(publisher="diff-pub"))
    world.publish_manifest(pub, "diffy", "1.0.0", permissions=["tasks:read"])
    world.publish_manifest(pub, "diffy", "1.1.0", permissions=["tasks:read", "storage:read"])
    world.submit(pub, make_zip(manifest("diffy", "diff-pub", "2.0.0", permissions=[]), {"broken.py": "def (:\n"}))
    report = world.services.review.report(world.reviewer(), "diffy", "2.0.0")
    assert (report.diff.previous_version, report.diff.scopes_removed) == ("1.1.0", ["storage:read", "tasks:read"])
    assert report.scan.status == "failed" and "broken.py" in (report.scan.reason or "")
    assert [f.path for f in report.files] == ["broken.py", "handler.py", "plugyard.json"]
    with pytest.raises(ScanNotAcknowledgedError):
        world.services.marketplace.review(world.reviewer(), "diffy", "2.0.0", "approve", ReviewDecision())
    done = world.services.marketplace.review(
        world.reviewer(), "diffy", "2.0.0", "approve", ReviewDecision(acknowledge_scan_failure=True)
    )
    assert done.state == "approved"
