"""The plugin manifest (``plugyard.json``): parsed and validated before a version exists."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import semver
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from chalicelib.domain.errors import InvalidManifestError
from chalicelib.domain.events import is_subscribable
from chalicelib.domain.permissions import unknown_scopes
from chalicelib.domain.versions import matches, parse_range

__all__ = ["CATEGORIES", "MANIFEST_NAME", "Manifest", "PlatformCaps", "Resources", "TaskAction", "parse_manifest"]

MANIFEST_NAME = "plugyard.json"

CATEGORIES = (
    "ai",
    "analytics",
    "automation",
    "developer-tools",
    "integrations",
    "notifications",
    "productivity",
    "security",
    "other",
)

# Fixed routes under /api/plugins/ that a plugin id must not shadow.
RESERVED_IDS = frozenset({"list", "install", "uploads", "versions"})
PLUGIN_ID_PATTERN = r"^[a-z][a-z0-9-]{1,62}[a-z0-9]$"
ENTRYPOINT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"


class PlatformCaps(BaseModel):
    """Limits the platform puts on every plugin."""

    max_memory_mb: int = 1024
    max_timeout_s: int = 60
    min_memory_mb: int = 64


class Resources(BaseModel):
    """What one instance of the plugin may use."""

    model_config = ConfigDict(extra="forbid")

    memory_mb: int = Field(128, ge=1, description="Memory cap of one instance, in MiB.")
    timeout_s: float = Field(10, gt=0, description="Wall-clock limit of one invocation.")


class HttpAccess(BaseModel):
    """External hosts ``ctx.http.fetch`` may reach."""

    model_config = ConfigDict(extra="forbid")

    allowed_hosts: list[str] = Field(default_factory=list, max_length=32)


class TaskAction(BaseModel):
    """Something a plugin offers to do to any task, on request: a button on the task's page."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$", description="Stable id of the action within the plugin.")
    title: str = Field(min_length=1, max_length=60, description="What the button says, e.g. 'Summarize'.")
    entrypoint: str = Field(
        description="The entry point it runs, with the payload {action, task_id, title, status, annotations}."
    )
    description: str = Field("", max_length=300)


class Manifest(BaseModel):
    """What a publisher declares about one plugin version."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=PLUGIN_ID_PATTERN, description="Plugin id, unique on the platform.")
    name: str = Field(min_length=1, max_length=80)
    version: str = Field(description="Semantic version, e.g. 1.2.0.")
    publisher: str = Field(pattern=PLUGIN_ID_PATTERN)
    description: str = Field("", max_length=2000)
    categories: list[str] = Field(default_factory=list, max_length=5)
    entrypoints: dict[str, str] = Field(min_length=1, description="Entry point name → 'module:function'.")
    events: list[str] = Field(default_factory=list, description="Event types it subscribes to.")
    permissions: list[str] = Field(default_factory=list, description="Scopes it requests.")
    permission_notes: dict[str, str] = Field(
        default_factory=dict, description="Why it needs each scope, in the publisher's words."
    )
    http: HttpAccess = Field(default_factory=HttpAccess)
    resources: Resources = Field(default_factory=Resources)
    config_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"},
        description="JSON Schema of the installation configuration.",
    )
    host_versions: str = Field(">=1.0.0", description="Host versions it supports, e.g. '>=1.0.0,<2.0.0'.")
    changelog: str = Field("", max_length=10000)
    task_actions: list[TaskAction] = Field(
        default_factory=list, max_length=10, description="Actions it offers on tasks (each runs an entry point)."
    )

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_IDS:
            raise ValueError(f"'{value}' is reserved by the API's own routes; choose another plugin id")
        return value

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not semver.Version.is_valid(value):
            raise ValueError(f"'{value}' is not a semantic version (MAJOR.MINOR.PATCH)")
        return value

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if c not in CATEGORIES]
        if bad:
            raise ValueError(f"unknown categories {bad}; known: {list(CATEGORIES)}")
        return value

    @field_validator("entrypoints")
    @classmethod
    def _entrypoints(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        for name, target in value.items():
            if not re.match(r"^[a-z][a-z0-9_-]{0,62}$", name):
                raise ValueError(f"entry point name '{name}' must be lower-case letters, digits, - or _")
            if not re.match(ENTRYPOINT_PATTERN, target):
                raise ValueError(f"entry point '{name}' must look like 'module:function', got '{target}'")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        bad = [e for e in value if not is_subscribable(e, hooks=True)]
        if bad:
            raise ValueError(f"unknown event types {bad}")
        return value

    @field_validator("permissions")
    @classmethod
    def _permissions(cls, value: list[str]) -> list[str]:
        bad = unknown_scopes(value)
        if bad:
            raise ValueError(f"unknown permission scopes {bad}")
        return sorted(set(value))

    @field_validator("config_schema")
    @classmethod
    def _config_schema(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if info.context and info.context.get("stored"):
            return value  # checked when the version was published; loading it again need not repeat that
        try:
            jsonschema.validators.validator_for(value).check_schema(value)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"config_schema is not a valid JSON Schema: {exc.message}") from exc
        return value

    @field_validator("host_versions")
    @classmethod
    def _host_versions(cls, value: str) -> str:
        try:
            parse_range(value)
        except ValueError as exc:
            raise ValueError(f"host_versions '{value}' is not a version range: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _task_actions(self) -> Manifest:
        names = [a.name for a in self.task_actions]
        if len(names) != len(set(names)):
            raise ValueError("task_actions: each action needs a name of its own")
        missing = sorted({a.entrypoint for a in self.task_actions} - set(self.entrypoints))
        if missing:
            raise ValueError(f"task_actions run entry points the manifest does not declare: {missing}")
        return self

    def supports_host(self, host_version: str) -> bool:
        """True when the host version satisfies ``host_versions`` (e.g. '^1.0', '>=1.0.0,<2.0.0')."""
        return matches(host_version, parse_range(self.host_versions))


def parse_manifest(raw: bytes, caps: PlatformCaps) -> Manifest:
    """Parse and validate a manifest, raising InvalidManifestError with every problem found."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidManifestError(f"{MANIFEST_NAME} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidManifestError(f"{MANIFEST_NAME} must be a JSON object.")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise InvalidManifestError(
            f"{MANIFEST_NAME} does not match the manifest schema.",
            errors=validation_errors(exc),
        ) from exc
    res = manifest.resources
    problems = []
    if not caps.min_memory_mb <= res.memory_mb <= caps.max_memory_mb:
        problems.append(
            {
                "loc": "resources.memory_mb",
                "msg": f"must be between {caps.min_memory_mb} and {caps.max_memory_mb}",
            }
        )
    if res.timeout_s > caps.max_timeout_s:
        problems.append({"loc": "resources.timeout_s", "msg": f"must be at most {caps.max_timeout_s}"})
    stray = sorted(set(manifest.permission_notes) - set(manifest.permissions))
    if stray:
        problems.append({"loc": "permission_notes", "msg": f"notes for scopes not requested: {stray}"})
    if problems:
        raise InvalidManifestError("The manifest exceeds platform limits.", errors=problems)
    return manifest


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as short ``{loc, msg}`` pairs safe to show a caller."""
    return [
        {"loc": ".".join(str(p) for p in err["loc"]) or "(body)", "msg": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
