"""A bot runner's night: the consumer is killed mid-run, the next run finishes the job.

Every application must end with exactly one decision basis, however the run was cut.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.bot_harness import bot_env, export, load_world, run_bot, subset_world
from tests.simulator_process import ROOT, Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PROGRESS = re.compile(r"^\[\d+/\d+\] ANS-")


def run_and_kill(env: dict[str, str], after_items: int, extra_delay: float) -> str:
    """Start a run; SIGKILL its whole process group (runner, robot, Chromium) once `after_items`
    progress lines were printed, plus `extra_delay` seconds (to land inside an item)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bistand", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    seen: list[str] = []
    reached = threading.Event()

    def pump() -> None:
        for line in process.stdout:
            seen.append(line)
            if sum(1 for s in seen if PROGRESS.match(s)) >= after_items:
                reached.set()

    threading.Thread(target=pump, daemon=True).start()
    if not reached.wait(timeout=300):
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError("the run never reached the kill point:\n" + "".join(seen[-30:]))
    if extra_delay:
        time.sleep(extra_delay)  # deliberately land somewhere inside the next item
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return "".join(seen)


CRASH_SAMPLE = [f"ANS-2026-{n:06d}" for n in (1, 2, 3, 5, 6, 9, 12, 16, 18)]


def test_killed_runs_resume_and_every_application_has_exactly_one_decision_basis(tmp_path, example_world_path):
    world_path = subset_world(load_world(example_world_path), CRASH_SAMPLE, tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_LEASE_SECONDS="3")
        run_and_kill(env, after_items=3, extra_delay=0)     # between items
        partial = export(sims)["latest_decision_basis"]
        assert 3 <= len(partial) < len(CRASH_SAMPLE)
        run_and_kill(env, after_items=2, extra_delay=0.4)   # inside an item
        final = run_bot(env, "run")
        assert final.code == 0, final.output[-3000:]
        latest = export(sims)["latest_decision_basis"]
    finally:
        sims.stop()
    assert set(latest) == set(CRASH_SAMPLE)
    assert {application_id: entry["count"] for application_id, entry in latest.items()} == {
        application_id: 1 for application_id in latest
    }
