"""`plugyard login`, `whoami`, `logout` and the CLI's contract (exit codes, one-line errors, NO_COLOR, --json)
through the real executable against the session's `make run` stack."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from make_run_stack import MakeRun

from .conftest import PLUGYARD, Plugyard

pytestmark = pytest.mark.stack


def test_help_lists_the_commands_and_documents_the_exit_codes(plugyard: Plugyard) -> None:
    done = plugyard("--help")
    assert done.code == 0
    for command in ("login", "whoami", "logout"):
        assert command in done.out
    assert "Exit codes: 0 ok" in done.out


def test_a_wrong_option_is_a_usage_error(plugyard: Plugyard) -> None:
    done = plugyard("whoami", "--no-such-option")
    assert done.code == 2
    assert "No such option" in done.err


def test_without_configuration_it_says_what_to_set(plugyard: Plugyard) -> None:
    done = plugyard("whoami")
    assert done.code == 3
    assert done.err.strip().splitlines() == [
        "error: no API configured: set PLUGYARD_API_URL and PLUGYARD_API_KEY, or run `plugyard login --api-url URL` "
        "(profile 'default')"
    ]


def test_an_unreachable_api_is_exit_3_in_one_line(plugyard: Plugyard) -> None:
    done = plugyard("whoami", env={"PLUGYARD_API_URL": "http://127.0.0.1:9", "PLUGYARD_API_KEY": "pyk_x"})
    assert done.code == 3
    [line] = done.err.strip().splitlines()
    assert line.startswith("error: cannot reach http://127.0.0.1:9:") and "Traceback" not in done.err


def test_login_saves_a_private_profile_that_whoami_uses(plugyard: Plugyard, make_run: MakeRun, user_home: Path) -> None:
    done = plugyard("login", "--api-url", make_run.api, input=make_run.key + "\n")
    assert done.code == 0, done.err
    assert "workspace demo (admin)" in done.err
    config = user_home / ".config" / "plugyard" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert json.loads(config.read_text())["profiles"]["default"] == {"api_url": make_run.api, "api_key": make_run.key}

    who = plugyard("whoami", "--json")
    assert who.code == 0, who.err
    me = json.loads(who.out)
    assert (me["workspace_id"], me["role"], me["publisher_id"]) == ("demo", "admin", "plugyard-labs")
    assert me["api_url"] == make_run.api and me["source"].startswith("profile 'default'")
    assert make_run.key not in who.out  # the key itself is never printed

    assert plugyard("logout").code == 0
    assert plugyard("whoami").code == 3


def test_profiles_are_named_and_xdg_config_home_is_honoured(
    plugyard: Plugyard, make_run: MakeRun, tmp_path: Path
) -> None:
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    done = plugyard("--profile", "review", "login", "--api-url", make_run.api, input=make_run.reviewer, env=xdg)
    assert done.code == 0, done.err
    assert (tmp_path / "xdg" / "plugyard" / "config.json").exists()
    assert plugyard("whoami", env=xdg).code == 3  # 'default' was never saved
    me = json.loads(plugyard("--profile", "review", "whoami", "--json", env=xdg).out)
    assert (me["workspace_id"], me["role"]) == ("platform", "reviewer")
    # The environment wins over the profile.
    env = {**xdg, "PLUGYARD_PROFILE": "review", "PLUGYARD_API_KEY": make_run.key}
    me = json.loads(plugyard("whoami", "--json", env=env).out)
    assert me["workspace_id"] == "demo" and "PLUGYARD_API_KEY" in me["source"]


def test_an_api_refusal_is_one_line_with_title_detail_and_type(plugyard: Plugyard, make_run: MakeRun) -> None:
    done = plugyard("login", "--api-url", make_run.api, input="pyk_not_a_real_key\n")
    assert done.code == 1
    [line] = done.err.strip().splitlines()
    assert line.startswith("error: ") and "(401 https://plugyard.dev/problems/" in line


def test_no_color_is_honoured(plugyard: Plugyard) -> None:
    env = {"FORCE_COLOR": "1"}  # as on a terminal
    coloured = plugyard("whoami", env=env)
    plain = plugyard("whoami", env={**env, "NO_COLOR": "1"})
    assert coloured.code == plain.code == 3
    red = "\x1b[31m"
    assert red in coloured.err and red not in plain.err
    assert plain.err.startswith("error: no API configured")


def test_the_installed_console_script_runs_without_pythonpath(plugyard_bin: Path) -> None:
    # Whichever checkout the virtualenv's editable install points at, the command itself is installed and runs.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(PLUGYARD), "--help"], cwd="/", env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Exit codes" in done.stdout, done.stderr
