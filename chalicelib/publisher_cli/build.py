"""``plugyard validate`` and ``plugyard package``: the server's checks offline, and a reproducible zip."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from chalicelib.publisher_cli.bundle import Bundle, build_bundle
from chalicelib.publisher_cli.checks import Verdict, check_zip
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, print_json, say

__all__ = ["package_folder", "register", "report_excluded", "verdict_json"]

FolderArg = Annotated[Path, typer.Argument(help="The plugin folder (with plugyard.json at its root).")]


def _folder(path: Path) -> Path:
    if not path.is_dir():
        raise CliError(f"{path} is not a folder", ExitCode.USAGE)
    if not (path / "plugyard.json").is_file():
        raise CliError(f"{path} has no plugyard.json (create one with `plugyard init`)", ExitCode.INVALID)
    return path


def package_folder(folder: Path) -> tuple[Bundle, bytes, Verdict]:
    """Collect, zip and check a plugin folder."""
    bundle, data = build_bundle(_folder(folder))
    return bundle, data, check_zip(data)


def report_excluded(bundle: Bundle) -> None:
    """Say what was left out of the zip, and why."""
    for ex in bundle.excluded:
        say(f"left out {escape(ex.path)} — {ex.reason}")


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    m = verdict.manifest
    return {
        "ok": verdict.ok,
        "plugin_id": m.id if m else None,
        "version": m.version if m else None,
        "sha256": verdict.sha256,
        "errors": [vars(i) for i in verdict.issues if i.severity == "error"],
        "notes": [vars(i) for i in verdict.issues if i.severity != "error"],
    }


def _print_issues(verdict: Verdict) -> None:
    for issue in verdict.issues:
        label = "[red]error[/red]" if issue.severity == "error" else "[yellow]note[/yellow]"
        say(f"{label} {escape(issue.pointer)}: {escape(issue.message)}")
        say(f"      hint: {escape(issue.hint)}")


def fail_if_invalid(verdict: Verdict) -> None:
    """Print the issues; exit 4 when the API would refuse the zip."""
    _print_issues(verdict)
    if not verdict.ok:
        count = sum(1 for i in verdict.issues if i.severity == "error")
        raise CliError(f"{count} error(s): the API would refuse this plugin", ExitCode.INVALID)


def validate(
    path: Annotated[Path, typer.Argument(help="A plugin folder, or a zip made by `plugyard package`.")],
    as_json: JsonOption = False,
) -> None:
    """Run the API's own manifest and artifact checks (and the upload scan) offline."""
    if path.is_file():
        verdict, excluded = check_zip(path.read_bytes()), []
    else:
        bundle, _, verdict = package_folder(path)
        excluded = [vars(e) for e in bundle.excluded]
    if as_json:
        print_json({**verdict_json(verdict), "excluded": excluded})
        if not verdict.ok:
            raise typer.Exit(int(ExitCode.INVALID))
        return
    fail_if_invalid(verdict)
    assert verdict.manifest is not None  # noqa: S101 - ok implies a parsed manifest
    say(f"[green]ok[/green] {verdict.manifest.id}@{verdict.manifest.version} passes the API's checks")


def package(
    folder: FolderArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the zip (default: ./<id>-<version>.zip).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build a reproducible zip (sorted, fixed timestamps and modes) of a plugin folder, checked as the API checks it.

    Honours .plugyardignore (gitignore syntax); never packages private keys, .env files, version control
    folders or caches, and says what it left out.
    """
    bundle, data, verdict = package_folder(folder)
    report_excluded(bundle)
    if not as_json:
        fail_if_invalid(verdict)
    elif not verdict.ok:
        print_json(verdict_json(verdict))
        raise typer.Exit(int(ExitCode.INVALID))
    assert verdict.manifest is not None  # noqa: S101 - ok implies a parsed manifest
    target = output or Path(f"{verdict.manifest.id}-{verdict.manifest.version}.zip")
    target.write_bytes(data)
    info = {
        "path": str(target),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "files": bundle.files,
        "excluded": [vars(e) for e in bundle.excluded],
        "plugin_id": verdict.manifest.id,
        "version": verdict.manifest.version,
    }
    if as_json:
        print_json(info)
        return
    say(f"wrote {target}: {len(bundle.files)} files, {len(data)} bytes, sha256 {info['sha256']}")


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(package)
