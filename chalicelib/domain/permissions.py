"""The catalog of permission scopes a plugin may request, in words an admin understands."""

from __future__ import annotations

from enum import StrEnum

from chalicelib.domain.errors import ValidationFailedError

__all__ = ["ROLE_ACTIONS", "SCOPES", "Action", "Role", "check_grant", "describe_scope", "unknown_scopes"]

SCOPES: dict[str, str] = {
    "storage:read": "Read data this plugin stored in your workspace",
    "storage:write": "Store and delete its own data in your workspace",
    "tasks:read": "Read your workspace's tasks",
    "tasks:write": "Update your workspace's tasks",
    "events:emit": "Publish events under the plugin's own name",
    "http:fetch": "Call the external web hosts its manifest names",
    "ai:complete": "Use the workspace's AI assistant",
}


def unknown_scopes(scopes: list[str]) -> list[str]:
    """Scopes not in the catalog, in the order given."""
    return [s for s in scopes if s not in SCOPES]


def check_grant(grant: list[str]) -> None:
    """ValidationFailedError naming the scopes of an admin's grant that are not in the catalog."""
    bad = unknown_scopes(grant)
    if bad:
        raise ValidationFailedError(f"Unknown scopes in grant: {', '.join(bad)}.", unknown_scopes=bad)


def describe_scope(scope: str) -> str:
    """The plain-words description of a scope."""
    return SCOPES.get(scope, scope)


class Role(StrEnum):
    """Roles an API key can carry."""

    ADMIN = "admin"
    MEMBER = "member"
    PUBLISHER = "publisher"
    REVIEWER = "reviewer"


class Action(StrEnum):
    """What a route asks permission for."""

    READ_MARKETPLACE = "marketplace:read"
    PUBLISH = "plugins:publish"
    READ_INSTALLS = "installations:read"
    MANAGE_INSTALLS = "installations:manage"
    READ_WEBHOOKS = "webhooks:read"
    MANAGE_WEBHOOKS = "webhooks:manage"
    READ_AUDIT = "audit:read"
    MANAGE_KEYS = "keys:manage"
    INVOKE = "installations:invoke"
    READ_TASKS = "tasks:read"
    MANAGE_TASKS = "tasks:manage"
    PUBLISH_EVENTS = "events:publish"
    MANAGE_TRIGGERS = "triggers:manage"
    REVIEW = "marketplace:review"
    DEVELOP = "installations:develop"  # run an unpublished upload as a development installation
    MANAGE_PUBLISHER = "publisher:manage"


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    # Reviewing is platform staff work: a workspace admin cannot approve plugins.
    Role.ADMIN: frozenset(Action) - {Action.REVIEW},
    Role.MEMBER: frozenset(
        {
            Action.READ_MARKETPLACE,
            Action.READ_INSTALLS,
            Action.READ_WEBHOOKS,
            Action.READ_TASKS,
            Action.MANAGE_TASKS,
            Action.INVOKE,
        }
    ),
    Role.PUBLISHER: frozenset({Action.READ_MARKETPLACE, Action.PUBLISH}),
    Role.REVIEWER: frozenset({Action.READ_MARKETPLACE, Action.READ_AUDIT, Action.REVIEW}),
}
