"""Configuration a newcomer can't get wrong: one frames folder, a clear word when a system is down,
defaults shown by --help, and a back-off that outlasts a portal restart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bistand.settings import load
from simulators.__main__ import parse_args
from tests.bot_harness import bot_env, load_world, run_bot, subset_world, vault_env
from tests.simulator_process import EXAMPLE_WORLD, ROOT, Simulators, free_base_port

# --- one frames folder for the simulators and the bot ---------------------------------------------

def test_the_simulators_write_frames_where_the_bot_reads_them_by_default():
    simulators_frames = Path(parse_args([]).state_dir) / "frames"
    settings = load(environ={})
    assert settings.frames_dir == Path.cwd() / simulators_frames
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    simulators_target = makefile.split("\nsimulators:")[1].split("\n\n")[0]
    assert "--state-dir" not in simulators_target, "make simulators must use the default state dir"


def dead_urls() -> dict[str, str]:
    """URLs of the eight systems on ports where nothing listens."""
    base = free_base_port()
    systems = ("eservice", "fk", "af", "csn", "skv", "pm", "akassa", "casemgmt")
    return {f"BISTAND_URL_{s.upper()}": f"http://127.0.0.1:{base + i}" for i, s in enumerate(systems)}


def bot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    import os

    environ = {**os.environ, **dead_urls(), **vault_env(tmp_path), "BISTAND_OUTPUT_DIR": str(tmp_path / "output"),
               "BISTAND_STATE_DIR": str(tmp_path / "bot-state"), **env}
    return subprocess.run([sys.executable, "-m", "bistand", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("command", [["run"], ["replay", "devdata/work-items-in/approve-single/work-items.json"]])
def test_a_frames_folder_that_does_not_exist_stops_the_run_before_it_starts_with_exit_6(tmp_path, command):
    missing = tmp_path / "no-such-share"
    result = bot(tmp_path, *command, BISTAND_FRAMES_DIR=str(missing))
    assert result.returncode == 7, result.stdout + result.stderr
    assert f"Configuration error: the reference-frame folder {missing} does not exist" in result.stdout
    assert "make simulators" in result.stdout and "BISTAND_FRAMES_DIR" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "Not started: fix the configuration first"
    assert not (tmp_path / "output" / "runs").exists()  # no run evidence: nothing was started


def test_an_existing_frames_folder_is_no_configuration_problem(tmp_path):
    settings = load(environ={"BISTAND_FRAMES_DIR": str(tmp_path)})
    assert settings.configuration_problems() == []


# --- a system that cannot be reached -----------------------------------------------------------------

@pytest.mark.browser
def test_with_the_simulators_down_the_bot_names_the_system_its_url_and_what_to_start(tmp_path):
    (tmp_path / "frames").mkdir()
    urls = dead_urls()
    result = bot(tmp_path, "run", BISTAND_FRAMES_DIR=str(tmp_path / "frames"), **urls)
    output = result.stdout + result.stderr
    assert result.returncode == 5, output
    assert f"eservice could not be reached at {urls['BISTAND_URL_ESERVICE']} (ERR_CONNECTION_REFUSED)" in output
    assert "start the simulators (make simulators) or check BISTAND_URL_ESERVICE" in output
    assert "Call log" not in output and "navigating to" not in output


@pytest.mark.e2e
@pytest.mark.browser
def test_one_portal_down_fails_its_items_naming_the_portal_and_its_url(tmp_path):
    world = subset_world(load_world(EXAMPLE_WORLD), ["ANS-2026-000001"], tmp_path / "world.json")
    sims = Simulators(world=world, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    dead_fk = dead_urls()["BISTAND_URL_FK"]
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_ATTEMPTS="1", BISTAND_URL_FK=dead_fk)
        result = run_bot(env, "run")
    finally:
        sims.stop()
    assert result.code == 1, result.output[-2000:]
    (failure,) = json.loads((tmp_path / "output" / "latest" / "run-summary.json").read_text())["failures"]
    assert f"fk could not be reached at {dead_fk}" in failure["message"]
    assert "Call log" not in failure["message"]
    assert f"Could not log in to fk: ApplicationError: SYSTEM_UNAVAILABLE: fk: login: fk could not be reached at " \
           f"{dead_fk}" in result.output
    # Every console line about fk is the one-line message. (A concurrent read that is left running when
    # the item fails can still print a traceback when the browser closes: bistand/bot/casework.py.)
    about_fk = [line for line in result.output.splitlines() if "fk" in line and "SYSTEM_UNAVAILABLE" in line]
    assert about_fk and all(line.rstrip("'}").endswith("check BISTAND_URL_FK") for line in about_fk), about_fk


# --- --help shows the defaults ---------------------------------------------------------------------

def test_simulators_help_shows_the_defaults():
    result = subprocess.run([sys.executable, "-m", "simulators", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "(default: state/demo)" in text
    assert "(default: 8400)" in text and "(default: 127.0.0.1)" in text and "(default: warning)" in text
    assert "--faults" in text


# --- the back-off outlasts a portal restart -----------------------------------------------------------

def test_the_default_back_off_waits_at_least_45_seconds_across_the_tries_of_an_item():
    settings = load(environ={})
    schedule = settings.backoff_schedule()
    assert schedule == [2, 4, 8, 16, 30]
    assert len(schedule) == settings.attempts_per_item - 1
    assert sum(schedule) >= 45


def test_jitter_only_adds_and_the_longest_wait_is_capped():
    settings = load(environ={})
    for attempt, least in enumerate(settings.backoff_schedule(), start=1):
        waited = settings.backoff_before_retry(attempt)
        assert least <= waited <= min(least + settings.backoff_jitter_seconds, settings.backoff_max_seconds)
    assert settings.backoff_before_retry(20) == 30


def test_the_back_off_is_set_from_the_environment():
    settings = load(environ={"BISTAND_BACKOFF": "0.1", "BISTAND_BACKOFF_MAX": "0.3",
                                      "BISTAND_BACKOFF_JITTER": "0", "BISTAND_ATTEMPTS": "4"})
    assert settings.backoff_schedule() == [0.1, 0.2, 0.3]
