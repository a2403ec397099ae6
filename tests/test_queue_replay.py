"""A stored work item replays through rpaframework's FileAdapter, without the queue."""

from __future__ import annotations

import json

import pytest

from tests.bot_harness import bot_env, export, load_world, run_bot, subset_world
from tests.simulator_process import ROOT, Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_replaying_a_stored_work_item_processes_it_with_the_file_adapter(tmp_path, example_world_path):
    world_path = subset_world(load_world(example_world_path), ["ANS-2026-000001"], tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "support")
        result = run_bot(env, "replay", str(ROOT / "devdata" / "work-items-in" / "approve-single" / "work-items.json"))
        latest = export(sims)["latest_decision_basis"]
    finally:
        sims.stop()
    assert result.code == 0, result.output[-3000:]
    assert result.last_line == "OK: 1 item processed (1 done, 0 business failures)"
    assert latest["ANS-2026-000001"]["count"] == 1
    run_dir = (tmp_path / "output" / "latest").resolve()
    assert run_dir.name.endswith("-replay") and (run_dir / "log.html").exists()
    assert json.loads((run_dir / "run-summary.json").read_text())["outcomes"] == {"DONE": 1}
    assert not (tmp_path / "bot-state" / "queue.db").exists()  # the queue was not involved
