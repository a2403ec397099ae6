"""`python -m bistand queue status|retry|skip` on a queue with parked items (no browser)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bistand.queue.store import open_queue
from tests.simulator_process import ROOT


def bistand(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BISTAND_STATE_DIR": str(tmp_path), "BISTAND_OUTPUT_DIR": str(tmp_path / "out")}
    return subprocess.run([sys.executable, "-m", "bistand", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_an_operator_sees_parked_items_retries_them_and_skips_one(tmp_path):
    store = open_queue(f"sqlite:///{tmp_path / 'queue.db'}")
    for n in (1, 2, 3):
        application_id = f"ANS-2026-{n:06d}"
        store.add(application_id, {"application_id": application_id, "case_number": "EB-2026-0001",
                                   "period": "2027-01"})
        store.fail(store.claim("r", 30).lease, "APPLICATION", "NORM_TABLE_MISSING", "no norm table for 2027")
    store.close()
    text = bistand(tmp_path, "queue", "status")
    assert text.returncode == 0
    assert "behöver åtgärd 3" in text.stdout
    assert "behöver åtgärd  ANS-2026-000002  NORM_TABLE_MISSING  no norm table for 2027" in text.stdout
    skipped = bistand(tmp_path, "queue", "skip", "ANS-2026-000001", "--reason", "handläggs manuellt")
    assert skipped.returncode == 0 and "skipped" in skipped.stdout
    retried = bistand(tmp_path, "queue", "retry", "--all-parked")
    assert retried.stdout.strip() == "2 parked items back in the queue"
    unknown = bistand(tmp_path, "queue", "retry", "ANS-2026-999999")
    assert unknown.returncode == 2
    status = json.loads(bistand(tmp_path, "queue", "status", "--json").stdout)
    assert status["counts"]["pending"] == 2 and status["counts"]["skipped"] == 1 and status["parked"] == []
    assert bistand(tmp_path, "queue", "retry").returncode == 2  # an id or --all-parked is required
