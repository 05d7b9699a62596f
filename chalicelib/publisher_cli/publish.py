"""``plugyard publish`` and ``plugyard status``: ship a folder as a new version, then follow its review.

``publish`` does what the curl walkthrough of docs/plugin-developer-guide.md does: package, check, ask
for an upload (``POST /api/plugins/uploads``), PUT the zip to the presigned URL, sign its sha256 and submit
(``POST /api/plugins/versions``) — creating and registering a signing key on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.build import fail_if_invalid, package_folder, report_excluded, verdict_json
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, print_json, print_table, progress_bar, say
from chalicelib.publisher_cli.signing import create_key, publisher_of, sign_digest, usable_key

__all__ = ["register"]


def publish(
    folder: Annotated[Path, typer.Argument(help="The plugin folder (with plugyard.json at its root).")],
    as_json: JsonOption = False,
) -> None:
    """Package, sign, upload and submit a new version; it then waits for a reviewer's approval."""
    bundle, data, verdict = package_folder(folder)
    report_excluded(bundle)
    if as_json and not verdict.ok:
        print_json(verdict_json(verdict))
        raise CliError("the API would refuse this plugin", ExitCode.INVALID)
    fail_if_invalid(verdict)
    assert verdict.manifest is not None and verdict.sha256 is not None  # noqa: S101 - ok implies both
    manifest = verdict.manifest
    with session.api() as client:
        publisher = publisher_of(client)
        if manifest.publisher != publisher:
            raise CliError(
                f"plugyard.json names publisher '{manifest.publisher}', but this workspace publishes as "
                f'\'{publisher}\': set "publisher": "{publisher}"',
                ExitCode.INVALID,
            )
        key = usable_key(client, session.home(), publisher)
        if key is None:
            key = create_key(client, session.home(), publisher)
            say(f"created signing key {key.key_id} (private key in {key.path})")
        ticket: dict[str, Any] = client.post("/api/plugins/uploads")
        with progress_bar(f"uploading {manifest.id}@{manifest.version}", len(data)) as advance:
            client.upload(ticket["url"], data, dict(ticket.get("headers") or {}), advance)
        signature = sign_digest(key.private_key, verdict.sha256)
        detail: dict[str, Any] = client.post(
            "/api/plugins/versions", {"upload_id": ticket["upload_id"], "signature": signature, "key_id": key.key_id}
        )
    if as_json:
        print_json(detail)
        return
    state = next((v["state"] for v in detail.get("versions", []) if v["version"] == manifest.version), "?")
    say(
        f"[green]published[/green] {manifest.id}@{manifest.version} (sha256 {verdict.sha256[:12]}…), "
        f"signed with {key.key_id}: {state}"
        + (" — a platform reviewer approves it before it is listed" if state == "pending" else "")
    )


def status(
    plugin_id: Annotated[str, typer.Argument(help="The plugin's id.")],
    as_json: JsonOption = False,
) -> None:
    """Review and deployment state of each version of a plugin (pending ones only for its publisher)."""
    with session.api() as client:
        detail: dict[str, Any] = client.get(f"/api/plugins/{plugin_id}")
    if as_json:
        print_json(detail)
        return
    rows = [
        (
            v["version"],
            v["state"],
            v.get("review_reason") or "",
            (v.get("deployment") or "") + (f" ({v['deployment_reason']})" if v.get("deployment_reason") else ""),
            v["published_at"],
        )
        for v in detail.get("versions", [])
    ]
    title = f"{detail['plugin_id']} by {detail.get('publisher', '?')}"
    print_table(title, ("version", "review", "reason", "deployment", "published"), rows)


def register(app: typer.Typer) -> None:
    app.command()(publish)
    app.command()(status)
