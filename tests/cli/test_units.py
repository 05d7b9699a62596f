"""The CLI's pure parts: problems to one line, configuration precedence, private files, command registration."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import typer

from chalicelib.publisher_cli import app as app_module
from chalicelib.publisher_cli.client import problem_error
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.profiles import resolve, save_profile, write_private


def test_a_problem_is_one_line_with_title_detail_status_and_type() -> None:
    err = problem_error(
        422,
        {
            "type": "https://plugyard.dev/problems/invalid-manifest",
            "title": "The plugin manifest is invalid",
            "status": 422,
            "detail": "plugyard.json does not match the manifest schema.",
            "errors": [{"loc": "resources.memory_mb", "msg": "must be between 64 and 1024"}],
        },
    )
    assert err.message == (
        "The plugin manifest is invalid: plugyard.json does not match the manifest schema. "
        "(422 https://plugyard.dev/problems/invalid-manifest)"
    )
    assert err.details == ["/resources/memory_mb: must be between 64 and 1024"]
    assert err.code == ExitCode.API_REFUSED


def test_a_server_failure_or_a_non_problem_answer_is_exit_3_with_its_start() -> None:
    assert problem_error(503, {"title": "Unavailable", "type": "x"}).code == ExitCode.UNREACHABLE
    err = problem_error(502, "<html>\n  Bad   gateway </html>")
    assert err.message == "HTTP 502: <html> Bad gateway </html> (502 about:blank)" and err.code == ExitCode.UNREACHABLE


def test_the_environment_wins_over_the_profile_field_by_field(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    save_profile(env, "default", "http://saved:8000/", "pyk_saved")
    conn = resolve(env, None)
    assert (conn.api_url, conn.api_key) == ("http://saved:8000", "pyk_saved")
    conn = resolve({**env, "PLUGYARD_API_KEY": "pyk_env"}, None)
    assert (conn.api_url, conn.api_key) == ("http://saved:8000", "pyk_env")
    assert conn.source.startswith("PLUGYARD_API_KEY, profile 'default'")
    with pytest.raises(CliError) as missing:
        resolve(env, "other")
    assert missing.value.code == ExitCode.UNREACHABLE and "profile 'other'" in missing.value.message


def test_a_broken_config_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "plugyard").mkdir()
    (tmp_path / "plugyard" / "config.json").write_text("{not json")
    with pytest.raises(CliError) as broken:
        resolve({"XDG_CONFIG_HOME": str(tmp_path)}, None)
    assert "config.json" in broken.value.message and "plugyard login" in broken.value.message


def test_private_files_are_0600_in_a_0700_folder_even_over_a_looser_one(tmp_path: Path) -> None:
    target = tmp_path / "dir" / "secret"
    target.parent.mkdir(mode=0o755)
    target.write_text("old")
    target.chmod(0o644)
    write_private(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


def test_a_command_name_registered_twice_fails_loudly() -> None:
    root = typer.Typer()

    @root.command("publish")
    def one() -> None: ...

    @root.command("publish")
    def two() -> None: ...

    with pytest.raises(RuntimeError, match="already registered: publish"):
        app_module._refuse_duplicates(root, "late")


def test_sub_apps_named_by_their_typer_count_once() -> None:
    root = typer.Typer()
    root.add_typer(typer.Typer(name="review"))
    root.add_typer(typer.Typer(name="publisher"))
    app_module._refuse_duplicates(root, "fine")
    root.add_typer(typer.Typer(name="review"))
    with pytest.raises(RuntimeError, match="already registered: review"):
        app_module._refuse_duplicates(root, "late")


def test_every_command_module_registered() -> None:
    names = set(app_module._command_names(app_module.app))
    assert {"login", "logout", "whoami", "init", "validate", "package", "publish", "status", "keys"} <= names
    assert {"install", "invoke", "logs"} <= names
