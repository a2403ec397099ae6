"""No default credentials outside the demo (docs/operations.md, Credentials).

Before issue 16 every start without a vault fell back to the committed devdata/vault.json: the
dashboard let `teamledare` / `demo` in, and the runner logged in with the robot accounts, even
under Control Room (RC_API_SECRET_HOST). Each case here is a start that must now refuse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bistand.dashboard.auth import NoUsers, load_users
from bistand.run.suite import child_env
from bistand.settings import SETTINGS_VARIABLE, load
from bistand.settings.vault import DEV_VAULT, FILE_SECRETS, problem
from tests.bot_harness import vault_env
from tests.simulator_process import ROOT

NO_VAULT = {"RPA_SECRET_MANAGER": "", "RPA_SECRET_FILE": "", "RC_API_SECRET_HOST": "", "BISTAND_DEMO": "",
            "BISTAND_DASHBOARD_USERS": ""}


def bistand(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, **NO_VAULT, "BISTAND_STATE_DIR": str(tmp_path / "state"),
               "BISTAND_OUTPUT_DIR": str(tmp_path / "output"), "BISTAND_FRAMES_DIR": str(tmp_path), **env}
    return subprocess.run([sys.executable, "-m", "bistand", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("command", [["run"], ["produce"], ["work", "--until-empty"], ["work", "--watch", "5"],
                                     ["replay", "devdata/work-items-in/approve-single/work-items.json"]])
def test_the_bot_without_a_vault_stops_with_exit_2_naming_what_to_configure(tmp_path, command):
    result = bistand(tmp_path, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("Not started: no vault configured")
    assert "RPA_SECRET_MANAGER" in last and "RPA_SECRET_FILE" in last and "devdata/vault.json" in last
    assert not (tmp_path / "output").exists(), "nothing may run"


def test_the_committed_dev_vault_named_outside_the_demo_is_refused(tmp_path):
    result = bistand(tmp_path, "run", RPA_SECRET_MANAGER=FILE_SECRETS, RPA_SECRET_FILE="devdata/vault.json")  # noqa: S106
    assert result.returncode == 2
    assert "the demo's vault (devdata/vault.json) outside the demo" in result.stdout


def test_control_room_alone_is_a_configured_vault_and_the_dev_vault_is_not_slipped_in(tmp_path):
    settings = load(environ={"RC_API_SECRET_HOST": "https://cr.example/secrets"})
    assert problem(settings.vault, settings.demo) is None
    handed = json.loads(Path(child_env(settings, tmp_path)[SETTINGS_VARIABLE]).read_text(encoding="utf-8"))
    assert (handed["vault"]["manager"], handed["vault"]["file"]) == ("", "")  # the run gets no vault file


def test_a_vault_file_that_does_not_exist_is_named(tmp_path):
    settings = load(environ={"RPA_SECRET_MANAGER": FILE_SECRETS, "RPA_SECRET_FILE": str(tmp_path / "none.json")})
    reason = problem(settings.vault, settings.demo)
    assert reason and "does not exist" in reason


def test_the_dashboard_without_users_stops_with_exit_2_naming_what_to_configure(tmp_path):
    result = bistand(tmp_path, "dashboard", "--port", "0")
    assert result.returncode == 2
    assert "BISTAND_DASHBOARD_USERS" in result.stderr and "RPA_SECRET_FILE" in result.stderr


@pytest.mark.parametrize("environ", [{}, {"RPA_SECRET_MANAGER": FILE_SECRETS, "RPA_SECRET_FILE": str(DEV_VAULT)}],
                         ids=["nothing configured", "the dev vault named outside the demo"])
def test_the_demo_login_does_not_work_outside_the_demo(environ):
    with pytest.raises(NoUsers, match="BISTAND_DASHBOARD_USERS"):
        load_users(environ)


def test_the_demo_and_an_installations_own_vault_have_users(tmp_path):
    assert load_users({"BISTAND_DEMO": "1"}).check("teamledare", "demo")
    assert load_users(vault_env(tmp_path)).check("teamledare", "demo")  # a vault file of the installation's own
