"""The marketplace as callers see it: the listing's filters, orders and pages, and the plugin and version views.

Pure functions over domain objects; ``MarketplaceService`` reads the data and calls them.
"""

from __future__ import annotations

from chalicelib.domain.errors import InvalidRequestError
from chalicelib.domain.manifest import CATEGORIES
from chalicelib.domain.models import Plugin, PluginSummary, PluginVersion, ScopeView, VersionView
from chalicelib.domain.pagination import decode_token, encode_token
from chalicelib.domain.permissions import describe_scope

__all__ = ["MAX_PAGE", "SORTS", "listing_page", "summary_view", "version_view"]

MAX_PAGE = 100
SORTS = ("name", "installs", "recent")


def listing_page(
    plugins: list[Plugin], *, query: str | None, category: str | None, limit: int, token: str | None, sort: str
) -> tuple[list[Plugin], str | None]:
    """One page of the listed plugins (those with an installable version), filtered and sorted, and the next token."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_PAGE}.", limit=limit)
    if category and category not in CATEGORIES:
        raise InvalidRequestError(f"Unknown category '{category}'.", categories=list(CATEGORIES))
    if sort not in SORTS:
        raise InvalidRequestError(f"Unknown sort '{sort}'.", sorts=list(SORTS))
    text = (query or "").strip().lower()
    listed = [
        p
        for p in plugins
        if p.latest_version
        and (not category or category in p.categories)
        and (not text or text in " ".join([p.plugin_id, p.name, p.description, p.publisher]).lower())
    ]
    order = {
        "name": lambda p: (p.name.lower(), p.plugin_id),
        "installs": lambda p: (-p.install_count, p.plugin_id),
        "recent": lambda p: (-p.updated_at.timestamp(), p.plugin_id),
    }[sort]
    listed.sort(key=order)  # type: ignore[arg-type]
    after = decode_token(token)
    if after is not None:
        ids = [p.plugin_id for p in listed]
        if after.get("sort") != sort or after.get("after") not in ids:
            raise InvalidRequestError("next_token does not belong to this listing.")
        listed = listed[ids.index(after["after"]) + 1 :]
    page = listed[:limit]
    next_token = encode_token({"after": page[-1].plugin_id, "sort": sort}) if len(listed) > limit else None
    return page, next_token


def summary_view(p: Plugin, *, publisher_verified: bool) -> PluginSummary:
    """A plugin as the listing shows it."""
    return PluginSummary(
        plugin_id=p.plugin_id,
        name=p.name,
        description=p.description,
        latest_version=p.latest_version,
        categories=p.categories,
        permissions=p.permissions,
        publisher=p.publisher,
        publisher_verified=publisher_verified,
        deprecated=p.status == "deprecated",
        deprecation_message=p.deprecation_message,
        install_count=p.install_count,
        updated_at=p.updated_at,
    )


def version_view(v: PluginVersion) -> VersionView:
    """A version as the plugin detail shows it, its scopes in plain words."""
    m = v.manifest
    return VersionView(
        version=v.version,
        state=v.state,
        published_at=v.published_at,
        artifact_sha256=v.artifact_sha256,
        size_bytes=v.size_bytes,
        permissions=[
            ScopeView(scope=s, description=describe_scope(s), note=m.permission_notes.get(s)) for s in m.permissions
        ],
        allowed_hosts=list(m.http.allowed_hosts),
        events=m.events,
        entrypoints=m.entrypoints,
        memory_mb=m.resources.memory_mb,
        timeout_s=m.resources.timeout_s,
        host_versions=m.host_versions,
        changelog=m.changelog,
        config_schema=m.config_schema,
        deprecated=v.deprecated,
        deprecation_message=v.deprecation_message,
        review_reason=v.review_reason,
        deployment=v.deployment,
        deployment_reason=v.deployment_reason,
    )
