"""``plugyard stats PLUGIN``: a plugin's figures per version, for its publisher."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.output import JsonOption, print_json, print_table

__all__ = ["register"]


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:g} ms"


def stats(
    plugin_id: Annotated[str, typer.Argument(help="One of your plugins.")],
    as_json: JsonOption = False,
) -> None:
    """Installs, uninstalls, invocations, errors and p50/p99 duration of each version of your plugin."""
    with session.api() as api:
        figures: dict[str, Any] = api.get(f"/api/plugins/{plugin_id}/stats")
    if as_json:
        print_json(figures)
        return
    print_table(
        f"{figures['plugin_id']} (all workspaces; percentiles are bucket upper bounds)",
        ("version", "installs", "uninstalls", "invocations", "errors", "p50", "p99"),
        [
            (
                v["version"],
                v["installs"],
                v["uninstalls"],
                v["invocations"],
                v["errors"],
                _ms(v["p50_ms"]),
                _ms(v["p99_ms"]),
            )
            for v in figures["versions"]
        ],
    )


def register(app: typer.Typer) -> None:
    """Add ``plugyard stats``."""
    app.command("stats")(stats)
