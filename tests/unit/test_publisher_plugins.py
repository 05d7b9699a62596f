"""A publisher's own plugins on the fakes: found by its workspace, not by the text search that narrows the read."""

from __future__ import annotations

import pytest
from conftest import make_zip, manifest

from chalicelib.domain.errors import ForbiddenError, PublisherNotFoundError
from chalicelib.domain.permissions import Role

from .conftest import World


def test_only_the_workspaces_own_plugins_even_when_another_publishers_id_contains_its_own(world: World) -> None:
    acme = world.caller(world.workspace(publisher="acme"))
    tools = world.caller(world.workspace(publisher="acme-tools"))  # "acme" is in its search text too
    world.publish_manifest(acme, "acme-one", "1.0.0")
    world.submit(acme, make_zip(manifest("acme-one", "acme", "1.1.0")))
    world.publish_manifest(tools, "tools-one", "1.0.0")
    mine = world.services.review.publisher_plugins(acme)
    assert mine.publisher_id == "acme"
    assert [(p.plugin_id, [(v.version, v.state) for v in p.versions]) for p in mine.items] == [
        ("acme-one", [("1.1.0", "pending"), ("1.0.0", "approved")])
    ]
    assert [p.plugin_id for p in world.services.review.publisher_plugins(tools).items] == ["tools-one"]


def test_members_are_refused_and_a_workspace_without_a_publisher_has_none(world: World) -> None:
    with pytest.raises(ForbiddenError):
        world.services.review.publisher_plugins(world.caller(world.workspace(publisher="m-pub"), Role.MEMBER))
    with pytest.raises(PublisherNotFoundError):
        world.services.review.publisher_plugins(world.caller(world.workspace()))
