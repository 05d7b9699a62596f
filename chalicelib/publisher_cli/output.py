"""Printing: rich on a terminal (NO_COLOR honoured by rich itself), plain JSON with ``--json``.

Data goes to stdout; messages, progress and errors go to stderr, so ``plugyard … --json | jq`` stays clean.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

__all__ = ["JsonOption", "err", "out", "print_json", "print_table", "progress_bar", "say"]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")]


def print_json(data: Any) -> None:
    """The data as JSON on stdout, one document, no colour."""
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def say(message: str) -> None:
    """A human message on stderr (rich markup allowed)."""
    err.print(message, highlight=False)


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Rows as a table on stdout."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Any]:
    """A transfer progress bar on stderr; yields ``advance(n)``."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
