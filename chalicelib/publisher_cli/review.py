"""``plugyard review queue|show|approve|reject|yank|verify``: the platform reviewer's tools.

``show`` prints everything a decision rests on: the files, the manifest, the permission diff against the
previous release and the scan report made at upload. A version whose scan failed is approved only with
``--acknowledge-scan-failure`` (the API refuses it otherwise).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, out, print_json, print_table, say

__all__ = ["register"]

VersionArg = Annotated[str, typer.Argument(metavar="PLUGIN@VERSION", help="The version, e.g. hello-world@1.2.0.")]
SCAN_STYLE = {"passed": "green", "findings": "yellow", "failed": "red"}


def _split(ref: str) -> tuple[str, str]:
    plugin_id, sep, version = ref.partition("@")
    if not sep or not plugin_id or not version:
        raise CliError(f"'{ref}' is not PLUGIN@VERSION (e.g. hello-world@1.2.0)", ExitCode.USAGE)
    return plugin_id, version


def queue(as_json: JsonOption = False) -> None:
    """Versions waiting for review, oldest first, with their scan outcome."""
    with session.api() as api:
        items: list[dict[str, Any]] = api.get("/api/review/queue")["items"]
    if as_json:
        print_json(items)
        return
    print_table(
        f"{len(items)} version(s) waiting for review",
        ("version", "publisher", "published", "permissions", "scan"),
        [
            (
                f"{i['plugin_id']}@{i['version']}",
                i["publisher"] + (" ✓" if i["publisher_verified"] else ""),
                i["published_at"],
                ", ".join(i["permissions"]) or "none",
                f"{i['scan_status']} ({i['scan_findings']})" if i["scan_findings"] else i["scan_status"],
            )
            for i in items
        ],
    )


def show(ref: VersionArg, as_json: JsonOption = False) -> None:
    """Files, manifest, permission diff and scan report of a version (reviewers, and its own publisher)."""
    plugin_id, version = _split(ref)
    with session.api() as api:
        report: dict[str, Any] = api.get(f"/api/plugins/{plugin_id}/versions/{version}/report")
    if as_json:
        print_json(report)
        return
    badge = "verified" if report["publisher_verified"] else "not verified"
    out.print(
        f"[bold]{plugin_id}@{version}[/bold] — {report['state']} — publisher {report['publisher']} ({badge}) — "
        f"{report['size_bytes']} bytes, sha256 {report['artifact_sha256']}",
        highlight=False,
    )
    print_table("Files", ("path", "size", "sha256"), [(f["path"], f["size"], f["sha256"]) for f in report["files"]])
    out.print("[bold]Manifest[/bold]")
    out.print(escape(json.dumps(report["manifest"], indent=2, sort_keys=True)), highlight=False)
    _print_diff(report["diff"])
    _print_scan(report["scan"])


def _print_diff(diff: dict[str, Any]) -> None:
    since = diff["previous_version"] or "nothing (first release)"
    out.print(f"[bold]Permission diff[/bold] against {since}", highlight=False)
    lines = [
        f"  {sign} {what} {escape(value)}"
        for what in ("scopes", "hosts", "events")
        for sign, key in (("+", "added"), ("-", "removed"))
        for value in diff[f"{what}_{key}"]
    ]
    out.print("\n".join(lines) if lines else "  no change", highlight=False)


def _print_scan(scan: dict[str, Any]) -> None:
    style = SCAN_STYLE.get(scan["status"], "bold")
    out.print(
        f"[bold]Scan[/bold] [{style}]{scan['status']}[/{style}] ({scan['files_scanned']} files scanned)",
        highlight=False,
    )
    if scan.get("reason"):
        out.print(f"  reason: {escape(scan['reason'])}", highlight=False)
    if scan["findings"]:
        print_table(
            None,
            ("severity", "kind", "where", "detail"),
            [
                (
                    f["severity"],
                    f["kind"],
                    f["path"] + (f":{f['line']}:{f['column']}" if f.get("line") else ""),
                    f["detail"],
                )
                for f in scan["findings"]
            ],
        )
    if scan.get("truncated"):
        out.print("  (more findings than listed)")


def _decide(ref: str, decision: str, body: dict[str, Any], as_json: bool) -> None:
    plugin_id, version = _split(ref)
    with session.api() as api:
        result: dict[str, Any] = api.post(f"/api/review/{plugin_id}/{version}/{decision}", body)
    if as_json:
        print_json(result)
        return
    say(f"{plugin_id}@{version} is now [bold]{result['state']}[/bold]")


def approve(
    ref: VersionArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")] = "",
    acknowledge_scan_failure: Annotated[
        bool,
        typer.Option("--acknowledge-scan-failure", help="Approve although the scan failed: you read the files."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Approve a pending version: it is listed, installable, and deployed."""
    body: dict[str, Any] = {"reason": reason}
    if acknowledge_scan_failure:
        body["acknowledge_scan_failure"] = True
    _decide(ref, "approve", body, as_json)


def reject(
    ref: VersionArg,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the publisher (required).")],
    as_json: JsonOption = False,
) -> None:
    """Reject a pending version, saying why."""
    _decide(ref, "reject", {"reason": reason}, as_json)


def yank(
    ref: VersionArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required): installations on it are disabled.")],
    as_json: JsonOption = False,
) -> None:
    """Yank an approved version: unlisted, and every installation on it is disabled."""
    _decide(ref, "yank", {"reason": reason}, as_json)


def verify(
    publisher_id: Annotated[str, typer.Argument(help="The publisher to verify.")],
    withdraw: Annotated[bool, typer.Option("--withdraw", help="Take the verified badge away.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Give a publisher the verified badge (or withdraw it)."""
    with session.api() as api:
        result: dict[str, Any] = api.post(f"/api/publishers/{publisher_id}/verify", {"verified": not withdraw})
    if as_json:
        print_json(result)
        return
    say(f"publisher {publisher_id} is {'verified' if result['verified'] else 'not verified'}")


def register(app: typer.Typer) -> None:
    """Add ``plugyard review``."""
    sub = typer.Typer(name="review", help="Platform reviewers: the queue and the decisions.", no_args_is_help=True)
    for command in (queue, show, approve, reject, yank, verify):
        sub.command(command.__name__)(command)
    app.add_typer(sub, name=sub.info.name)
