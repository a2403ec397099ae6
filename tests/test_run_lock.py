"""Overlapping `make run`s and crash leftovers: the demo lock (the queue's leases are tested in
tests/test_queue_store.py and tests/test_queue_runners.py; they replace the old file ledger)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bistand.bot.lock import RunLock, RunLocked
from tests.simulator_process import ROOT


def test_a_second_make_run_refuses_at_once_and_leaves_the_live_runs_state_alone():
    state = ROOT / "state" / "demo-run" / "bot"
    marker = state / "live-run-marker"
    with RunLock(ROOT / "state" / "demo.lock"):
        state.mkdir(parents=True, exist_ok=True)
        marker.write_text("the live run's state", encoding="utf-8")
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "bistand", "demo"], cwd=ROOT, env=dict(os.environ),
                                capture_output=True, text=True, timeout=60)
        try:
            assert result.returncode == 4, result.stdout + result.stderr
            assert "another `make run` is active" in result.stdout.strip().splitlines()[-1]
            assert marker.read_text(encoding="utf-8") == "the live run's state"
            assert time.perf_counter() - started < 20
        finally:
            marker.unlink(missing_ok=True)


def test_a_crashed_holder_does_not_leave_the_lock_stuck(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys,time; from bistand.bot.lock import RunLock; RunLock(__import__('pathlib').Path(sys.argv[1]))"
         ".acquire(); print('held', flush=True); time.sleep(60)", str(tmp_path / "run.lock")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunLocked):
        RunLock(tmp_path / "run.lock").acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock = RunLock(tmp_path / "run.lock").acquire()
    lock.release()
