"""The whole bot with the desktop write-back (BISTAND_CASEMGMT_CLIENT=desktop), on its own Xvfb.

The bot is started without DISPLAY, so it starts and stops its own display; every basis must be
the world's `expected`, written once, by the desktop client; a second run writes nothing; a
client that shows an unexpected dialog or freezes fails the try as an APPLICATION error with a
blurred screenshot, and the next try recovers without writing twice.
"""

from __future__ import annotations

import json

import pytest
from PIL import Image, ImageChops, ImageStat

from tests.bot_harness import bot_env, export, leaks, load_world, log_files, run_bot, subset_world, world_people
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def desktop_env(sims, work, **extra: str) -> dict[str, str]:
    env = bot_env(sims, work, "support", BISTAND_CASEMGMT_CLIENT="desktop", **extra)
    env.pop("DISPLAY", None)  # the bot starts its own Xvfb
    return env


def bases_by_application(export_json: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for case in export_json["cases"]:
        for basis in case["decision_bases"]:
            found.setdefault(basis["application_id"], []).append(basis)
    return found


@pytest.fixture(scope="module")
def desktop_run(tmp_path_factory, example_world_path):
    work = tmp_path_factory.mktemp("desktop-bot")
    sims = Simulators(world=example_world_path, state_dir=work / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = desktop_env(sims, work)
        first = run_bot(env, "run")
        after_first = export(sims)
        second = run_bot(env, "run")
        after_second = export(sims)
    finally:
        sims.stop()
    return {"work": work, "first": first, "second": second, "after_first": after_first,
            "after_second": after_second}


def test_every_basis_is_the_expected_one_written_once_by_the_desktop_client(desktop_run, example_world_path):
    first = desktop_run["first"]
    assert first.code == 0, first.output[-3000:]
    assert first.last_line.startswith("OK: 20 items processed")
    expected = load_world(example_world_path)["expected"]
    written = bases_by_application(desktop_run["after_first"])
    assert sorted(written) == sorted(expected)
    for application_id, want in expected.items():
        (basis,) = written[application_id]
        assert (basis["client"], basis["proposal"], basis["amount"], sorted(basis["findings"])) == (
            "desktop", want["proposal"], want["amount"], sorted(want.get("findings", []))), application_id
        assert basis["report_text"].strip()


def test_a_second_desktop_run_writes_nothing(desktop_run):
    second = desktop_run["second"]
    assert second.code == 0, second.output[-2000:]
    assert bases_by_application(desktop_run["after_second"]) == bases_by_application(desktop_run["after_first"])


def test_no_personal_data_in_the_desktop_runs_logs(desktop_run, example_world_path):
    numbers, names = world_people(load_world(example_world_path))
    for path in log_files(desktop_run["work"] / "output"):
        assert leaks(path.read_text(encoding="utf-8", errors="replace"), numbers, names) == [], path
    assert leaks(desktop_run["first"].output, numbers, names) == []


def sharpness(path) -> float:
    grey = Image.open(path).convert("L")
    return ImageStat.Stat(ImageChops.difference(grey, ImageChops.offset(grey, 1, 0))).mean[0]


def test_a_hanging_client_or_an_unexpected_dialog_fails_the_try_and_the_next_try_recovers(
        tmp_path, example_world_path):
    ids = ["ANS-2026-000001"]  # both faults hit its tries; one item keeps the test short
    world = subset_world(load_world(example_world_path), ids, tmp_path / "world.json")
    sims = Simulators(world=world, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = desktop_env(sims, tmp_path, BISTAND_ATTEMPTS="3",
                          SIM_DESKTOP_FAULTS="dialog-on-open,hang-after-save",
                          SIM_DESKTOP_FAULTS_DIR=str(tmp_path / "faults"))
        result = run_bot(env, "run")
        written = bases_by_application(export(sims))
    finally:
        sims.stop()
    assert result.code == 0, result.output[-3000:]
    summary = json.loads((tmp_path / "output" / "latest" / "run-summary.json").read_text())
    assert sum(item["attempts"] for item in summary["per_item"]) == len(ids) + 2  # one retry per fault
    expected = load_world(example_world_path)["expected"]
    for application_id in ids:
        (basis,) = written[application_id]  # the frozen client had saved: not written twice
        assert (basis["client"], basis["proposal"], basis["amount"]) == (
            "desktop", expected[application_id]["proposal"], expected[application_id]["amount"])
    log = (tmp_path / "output" / "latest" / "output.xml").read_text(encoding="utf-8")
    assert "ApplicationError: UNEXPECTED_DIALOG" in log and "ApplicationError: CLIENT_NOT_RESPONDING" in log
    shots = sorted((tmp_path / "output").glob("runs/*/failures/*-desktop-*.png"))
    assert len(shots) == 2
    assert all(sharpness(shot) < 1.0 for shot in shots), [sharpness(s) for s in shots]
    numbers, names = world_people(load_world(example_world_path))
    assert leaks(log, numbers, names) == []
