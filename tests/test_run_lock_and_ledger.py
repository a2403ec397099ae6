"""Overlapping scheduled runs and crash leftovers: the lock and the work-item ledger."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bistand.bot.ledger import Ledger
from bistand.bot.lock import RunLock, RunLocked
from tests.simulator_process import ROOT


def test_a_second_run_exits_at_once_with_its_own_code_while_one_is_active(tmp_path):
    env = {**os.environ, "BISTAND_STATE_DIR": str(tmp_path), "BISTAND_OUTPUT_DIR": str(tmp_path / "out")}
    with RunLock(tmp_path / "run.lock"):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "bistand", "run"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 4
    assert "another bistand run is active" in result.stdout.strip().splitlines()[-1]
    assert time.perf_counter() - started < 20


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


def test_the_ledger_queues_an_application_once_and_resumes_unfinished_ones(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    assert ledger.queue("ANS-2026-000001", "EB-2026-0001", "2026-12") is True
    assert ledger.queue("ANS-2026-000001", "EB-2026-0001", "2026-12") is False
    assert ledger.queue("ANS-2026-000002", "EB-2026-0002", "2026-12") is True
    ledger.finish("ANS-2026-000001", "done")
    ledger.finish("ANS-2026-000002", "application", "TIMEOUT")
    reopened = Ledger(tmp_path / "ledger.json")
    assert [e.application_id for e in reopened.unfinished()] == ["ANS-2026-000002"]
    assert reopened.state_of("ANS-2026-000001") == "done"
    assert reopened.queue("ANS-2026-000001", "EB-2026-0001", "2026-12") is False
