"""A portal goes down: items fail as APPLICATION errors with evidence, and the run stops in time."""

from __future__ import annotations

import json

import httpx
import pytest

from bistand.queue.store import open_queue
from tests.bot_harness import bot_env, export, leaks, load_world, log_files, run_bot, subset_world, world_people
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def take_down(url: str) -> None:
    httpx.post(f"{url}/_sim/faults", json={"status": 503, "count": 100000}, timeout=10).raise_for_status()


@pytest.fixture
def small_world(tmp_path, example_world_path):
    def make(ids: list[str]):
        return subset_world(load_world(example_world_path), ids, tmp_path / "world.json")
    return make


def test_a_portal_that_is_down_fails_the_item_as_a_system_error_with_blurred_screenshot_and_trace(
        tmp_path, small_world, example_world_path):
    sims = Simulators(world=small_world(["ANS-2026-000001"]), state_dir=tmp_path / "sims",
                      base_port=free_base_port(), faults=True).start(reset=True)
    try:
        take_down(sims.urls["fk"])
        result = run_bot(bot_env(sims, tmp_path, "support", BISTAND_ATTEMPTS="2"), "run")
        written = export(sims)["latest_decision_basis"]
    finally:
        sims.stop()
    assert result.code == 1, result.output[-2000:]
    assert "failed on a system error" in result.last_line
    summary = json.loads((tmp_path / "output" / "latest" / "run-summary.json").read_text())
    assert summary["failures"] == [{
        "application_id": "ANS-2026-000001", "type": "APPLICATION", "code": "SYSTEM_UNAVAILABLE",
        "message": summary["failures"][0]["message"],
    }]
    assert "fk" in summary["failures"][0]["message"]
    assert written == {}
    last_try = tmp_path / "output" / "latest" / "failures" / "ANS-2026-000001-try2"
    assert (last_try / "trace-fk.zip").stat().st_size > 0
    assert list(last_try.glob("fk-*.png")), "no screenshot of the failing portal page"
    log = (tmp_path / "output" / "latest" / "output.xml").read_text(encoding="utf-8")  # log.html's source
    assert "ANS-2026-000001-try2/trace-fk.zip" in log and "ANS-2026-000001-try2/fk-0.png" in log
    numbers, names = world_people(load_world(example_world_path))
    for path in log_files(tmp_path / "output"):
        assert leaks(path.read_text(encoding="utf-8", errors="replace"), numbers, names) == [], path


def test_the_run_stops_after_too_many_system_errors_in_a_row(tmp_path, small_world):
    ids = ["ANS-2026-000001", "ANS-2026-000002", "ANS-2026-000003"]
    sims = Simulators(world=small_world(ids), state_dir=tmp_path / "sims", base_port=free_base_port(),
                      faults=True).start(reset=True)
    try:
        take_down(sims.urls["fk"])
        env = bot_env(sims, tmp_path, "support", BISTAND_ATTEMPTS="1", BISTAND_MAX_CONSECUTIVE_ERRORS="2")
        result = run_bot(env, "run")
    finally:
        sims.stop()
    assert result.code == 3, result.output[-2000:]
    assert result.last_line.startswith("Stopped: 2 system errors in a row on fk")
    summary = json.loads((tmp_path / "output" / "latest" / "run-summary.json").read_text())
    assert summary["items"] == 2
    status = json.loads(run_bot(env, "queue", "status", "--json").stdout)
    assert status["counts"]["pending"] == 3 and status["counts"]["done"] == 0  # two rescheduled, one untouched
    store = open_queue(f"sqlite:///{tmp_path / 'bot-state' / 'queue.db'}")
    failures = sorted(item.failures for item in store.items())
    store.close()
    assert failures == [0, 1, 1]
