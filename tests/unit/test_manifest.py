"""Every rule of the manifest: a publisher learns exactly what is wrong before a version exists."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import manifest

from chalicelib.domain.errors import InvalidManifestError
from chalicelib.domain.manifest import PlatformCaps, parse_manifest

CAPS = PlatformCaps(max_memory_mb=512, max_timeout_s=30)


def parse(m: dict[str, Any] | bytes) -> Any:
    return parse_manifest(m if isinstance(m, bytes) else json.dumps(m).encode(), CAPS)


def errors_of(m: dict[str, Any] | bytes) -> list[dict[str, str]]:
    with pytest.raises(InvalidManifestError) as exc:
        parse(m)
    return list(exc.value.extensions.get("errors", []))


def test_valid_manifest_parses_with_defaults_and_sorted_unique_scopes() -> None:
    m = parse(manifest("good-one", "acme", permissions=["tasks:read", "storage:read", "tasks:read"]))
    assert m.id == "good-one"
    assert m.permissions == ["storage:read", "tasks:read"]
    assert m.config_schema == {"type": "object"}
    assert m.host_versions == ">=1.0.0"
    assert m.supports_host("1.0.0") and not m.supports_host("0.9.0")


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("id", "A-Bad-Id", "id"),
        ("id", "x", "id"),
        ("id", "ends-with-", "id"),
        ("publisher", "Acme Inc", "publisher"),
        ("name", "", "name"),
        ("name", "n" * 81, "name"),
        ("version", "1.0", "version"),
        ("version", "v1.0.0", "version"),
        ("description", "d" * 2001, "description"),
        ("categories", ["ai", "not-a-category"], "categories"),
        ("categories", ["ai", "analytics", "automation", "security", "other", "productivity"], "categories"),
        ("entrypoints", {}, "entrypoints"),
        ("entrypoints", {"Main": "handler:main"}, "entrypoints"),
        ("entrypoints", {"main": "handler.main"}, "entrypoints"),
        ("entrypoints", {"main": "../evil:main"}, "entrypoints"),
        ("events", ["task.exploded"], "events"),
        ("permissions", ["root:everything"], "permissions"),
        ("config_schema", {"type": "no-such-type"}, "config_schema"),
        ("host_versions", ">=banana", "host_versions"),
        ("resources", {"memory_mb": 0}, "resources.memory_mb"),
        ("resources", {"timeout_s": 0}, "resources.timeout_s"),
        ("resources", {"memory_mb": 128, "cpu": 4}, "resources.cpu"),
        ("http", {"allowed_hosts": ["h"] * 33}, "http.allowed_hosts"),
        ("changelog", "c" * 10001, "changelog"),
        ("surprise", True, "surprise"),
    ],
)
def test_each_schema_rule_is_reported_with_its_location(field: str, value: Any, loc: str) -> None:
    errs = errors_of(manifest("fine-id", "acme", **{field: value}))
    assert loc in [e["loc"] for e in errs], errs
    assert all(e["msg"] for e in errs)


@pytest.mark.parametrize("missing", ["id", "name", "version", "publisher", "entrypoints"])
def test_required_fields(missing: str) -> None:
    errs = errors_of(manifest("fine-id", "acme", **{missing: None}))
    assert [e["loc"] for e in errs] == [missing]


def test_plugin_defined_event_types_are_accepted() -> None:
    assert parse(manifest("fine-id", "acme", events=["plugin.other-plugin.done"])).events == [
        "plugin.other-plugin.done"
    ]


def test_several_problems_are_reported_together() -> None:
    errs = errors_of(manifest("BAD", "acme", version="one", permissions=["nope"]))
    assert {"id", "version", "permissions"} <= {e["loc"] for e in errs}


@pytest.mark.parametrize(
    ("resources", "loc"),
    [
        ({"memory_mb": 32}, "resources.memory_mb"),  # below the platform floor (64)
        ({"memory_mb": 1024}, "resources.memory_mb"),  # above this platform's cap (512)
        ({"timeout_s": 31}, "resources.timeout_s"),
    ],
)
def test_platform_caps(resources: dict[str, Any], loc: str) -> None:
    assert [e["loc"] for e in errors_of(manifest("fine-id", "acme", resources=resources))] == [loc]


def test_caps_at_the_limit_are_accepted() -> None:
    m = parse(manifest("fine-id", "acme", resources={"memory_mb": 512, "timeout_s": 30}))
    assert (m.resources.memory_mb, m.resources.timeout_s) == (512, 30)


def test_permission_notes_must_explain_requested_scopes_only() -> None:
    errs = errors_of(manifest("fine-id", "acme", permissions=["tasks:read"], permission_notes={"ai:complete": "why"}))
    assert errs[0]["loc"] == "permission_notes" and "ai:complete" in errs[0]["msg"]


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"a string"'])
def test_unparseable_manifest(raw: bytes) -> None:
    with pytest.raises(InvalidManifestError):
        parse(raw)


def test_error_messages_do_not_echo_input_values() -> None:
    # include_input=False: a manifest's content is not reflected back verbatim as pydantic input dumps.
    errs = errors_of(manifest("fine-id", "acme", resources={"memory_mb": "<script>"}))
    assert all("input" not in e for e in errs)


@pytest.mark.parametrize("plugin_id", ["list", "install", "uploads", "versions"])
def test_plugin_ids_that_shadow_routes_are_reserved(plugin_id: str) -> None:
    from chalicelib.domain.manifest import Manifest

    with pytest.raises(ValueError, match="reserved"):
        Manifest.model_validate(
            {"id": plugin_id, "name": "x", "version": "1.0.0", "publisher": "acme", "entrypoints": {"main": "h:m"}}
        )
