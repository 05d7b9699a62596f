"""``validate``'s verdict: the server's own checks of a plugin zip, run offline, each error with a JSON pointer
and a hint.

The checks are exactly the ones the API runs when a version is submitted — chalicelib/domain/artifact.py
(the zip: paths, links, bombs, size, the manifest at its root) and chalicelib/domain/manifest.py (the
schema, scopes, event types, platform limits) — plus the upload scan (chalicelib/domain/scan.py): a
blocking finding is an error, the others are shown as the notes a reviewer will read.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.artifact import inspect_artifact
from chalicelib.domain.errors import InvalidArtifactError, InvalidManifestError
from chalicelib.domain.manifest import CATEGORIES, MANIFEST_NAME, Manifest, PlatformCaps
from chalicelib.domain.permissions import SCOPES
from chalicelib.domain.scan import scan_artifact

__all__ = ["Issue", "Verdict", "check_zip", "hint_for"]

GUIDE = "docs/plugin-developer-guide.md"


@dataclass(frozen=True)
class Issue:
    """One problem: where (a JSON pointer into plugyard.json, or the zip entry), what, and how to fix it."""

    pointer: str
    message: str
    hint: str
    severity: str = "error"  # error (the API would refuse it) or note (a reviewer will see it)


@dataclass
class Verdict:
    """The checks' result: the manifest when it passed, every issue found, and the zip's digest."""

    manifest: Manifest | None
    issues: list[Issue]
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)


_FIELD_HINTS = {
    "/id": "lower-case letters, digits and '-', 3–64 characters, starting with a letter (e.g. my-plugin)",
    "/name": "a display name of 1–80 characters",
    "/version": "a semantic version such as 1.0.0; bump it for every release (published versions never change)",
    "/publisher": "your publisher id: `plugyard whoami` shows it (publisher_id)",
    "/entrypoints": 'name → \'module:function\', e.g. {"main": "handler:main"}',
    "/events": "event types from the catalog (docs/events.md), e.g. task.completed",
    "/permissions": f"known scopes: {', '.join(SCOPES)}",
    "/permission_notes": "notes only for scopes listed in permissions",
    "/categories": f"known categories: {', '.join(CATEGORIES)}",
    "/resources/memory_mb": "MiB between the platform's minimum and maximum (64–1024 by default)",
    "/resources/timeout_s": "seconds, at most the platform's cap (60 by default)",
    "/config_schema": 'a JSON Schema object, e.g. {"type": "object", "properties": {…}}',
    "/host_versions": "a version range such as >=1.0.0 or ^1.0",
    "/http/allowed_hosts": "host names (or *.domain) that ctx.http.fetch may reach",
}


def _pointer(loc: str) -> str:
    if loc in ("", "(body)"):
        return "/"
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in loc.split("."))


def hint_for(pointer: str, message: str) -> str:
    """How to fix a manifest error, by field (the most specific prefix wins) or by kind of message."""
    if "Extra inputs are not permitted" in message:
        return "the manifest has no such field: remove it (a typo of a known field?)"
    if "Field required" in message:
        return f"add this required field (see the manifest section of {GUIDE})"
    for prefix in sorted(_FIELD_HINTS, key=len, reverse=True):
        if pointer == prefix or pointer.startswith(prefix + "/"):
            return _FIELD_HINTS[prefix]
    return f"see the manifest section of {GUIDE}"


def _artifact_hint(message: str) -> str:
    if "no plugyard.json" in message:
        return f"put {MANIFEST_NAME} at the root of the folder you package"
    if "link" in message or "special file" in message:
        return "replace the link with the file itself"
    if "Unsafe path" in message:
        return "package the folder with `plugyard package`, which writes relative paths only"
    if "expands" in message or "entries" in message:
        return "leave large or generated files out with .plugyardignore"
    return "package the folder with `plugyard package`"


def check_zip(data: bytes, caps: PlatformCaps | None = None) -> Verdict:
    """Run the API's checks and the upload scan on a plugin zip."""
    caps = caps or PlatformCaps()
    try:
        inspected = inspect_artifact(data, caps)
    except InvalidManifestError as exc:
        errors = exc.extensions.get("errors") or []
        if not errors:
            return Verdict(None, [Issue("/", exc.detail, hint_for("/", exc.detail))])
        issues = []
        for err in errors:
            pointer = _pointer(str(err.get("loc", "")))
            message = str(err.get("msg", ""))
            issues.append(Issue(pointer, message, hint_for(pointer, message)))
        return Verdict(None, issues)
    except InvalidArtifactError as exc:
        entry = exc.extensions.get("entry")
        where = f"zip:{entry}" if entry else "zip"
        return Verdict(None, [Issue(where, exc.detail, _artifact_hint(exc.detail))])
    issues = []
    report = scan_artifact(data)
    if report.status == "failed":
        issues.append(Issue("zip", f"the scan failed: {report.reason}", "a reviewer will see that it failed"))
    for f in report.findings:
        where = f"zip:{f.path}" + (f":{f.line}" if f.line else "")
        if f.severity == "blocking":
            issues.append(Issue(where, f.detail, "remove it from the folder; the API refuses the upload"))
        else:
            issues.append(Issue(where, f"{f.kind} ({f.severity}): {f.detail}", "a reviewer will ask why", "note"))
    return Verdict(inspected.manifest, issues, inspected.sha256)
