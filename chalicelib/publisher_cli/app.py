"""The ``plugyard`` command: the root typer app and the discovery of its commands.

A command lives in its own module of this package and registers itself: the module defines
``register(app: typer.Typer) -> None`` and adds its commands (or a sub-app) there. Every module with a
``register`` is found and registered in name order, so a new command is a new file, not an edit here.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Annotated

import typer
from rich.text import Text

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.exits import CliError
from chalicelib.publisher_cli.output import err

__all__ = ["app", "build_app", "main"]

EPILOG = (
    "Exit codes: 0 ok · 1 the API refused (4xx) · 2 usage · 3 not configured, unreachable or the API failed (5xx) · "
    "4 the plugin failed validation · 5 the invoked plugin failed. "
    "Configuration: PLUGYARD_API_URL and PLUGYARD_API_KEY, else the profile saved by `plugyard login`."
)


def _root(
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="Saved profile to use (default: PLUGYARD_PROFILE, else 'default')."),
    ] = None,
) -> None:
    """Publish, install and run Plugyard plugins from your terminal."""
    session.current.profile = profile


def build_app() -> typer.Typer:
    """The root app with every command module of this package registered."""
    root = typer.Typer(
        name="plugyard",
        no_args_is_help=True,
        epilog=EPILOG,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode="rich",
    )
    root.callback()(_root)
    package = sys.modules[__package__ or "chalicelib.publisher_cli"]
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(root)
            _refuse_duplicates(root, info.name)
    return root


def _command_names(root: typer.Typer) -> list[str]:
    """The names the root app answers to: a command's (or its function's), a sub-app's (or its Typer's)."""
    names = [c.name or (c.callback.__name__.replace("_", "-") if c.callback else "") for c in root.registered_commands]
    for g in root.registered_groups:
        info_name = g.typer_instance.info.name if g.typer_instance is not None else None
        names.append(g.name or (info_name if isinstance(info_name, str) else ""))
    return [n for n in names if n]


def _refuse_duplicates(root: typer.Typer, module: str) -> None:
    """Two modules registering one command name would silently shadow each other: fail loudly instead."""
    names = _command_names(root)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RuntimeError(f"plugyard: {module} registers command(s) already registered: {', '.join(dupes)}")


app = build_app()


def main() -> None:
    """Console-script entry point: run the app, turning CliError into one line and its exit code."""
    try:
        app()
    except CliError as exc:
        err.print(Text("error: ", style="red") + Text(exc.message), highlight=False)
        for line in exc.details:
            err.print(Text(f"  {line}"), highlight=False)
        sys.exit(int(exc.code))
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
