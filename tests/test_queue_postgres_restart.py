"""PostgreSQL restarted while two runners hold items, end to end (the example world, automated mode).

Two batch runners (`python -m bistand work --until-empty`) share a PostgreSQL cluster of this
test's own (`private_postgres`: the shared cluster of the other tests is never restarted). When
both hold a lease, the cluster is restarted (`pg_ctl -m fast`: every connection drops). Both ride
it out: heartbeats, the lease check before each write, releases and claims reconnect. Every
application ends with exactly one decision basis, equal to the world's `expected`, no decision,
payment or registration twice, and nothing in progress.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from bistand.queue.store import open_queue
from tests.bot_harness import (
    bot_env,
    duplicate_writes,
    expected_bases,
    export,
    fault_figures,
    load_world,
    run_bot,
    runner_lines,
    start_runner,
    written_bases,
)
from tests.queue_fixtures import wait_until_each_holds
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

RUNNERS = ["runner-a", "runner-b"]


def test_two_runners_ride_out_a_postgresql_restart_while_both_hold_items(
        tmp_path, example_world_path, private_postgres):
    started = time.monotonic()
    world = load_world(example_world_path)
    sims = Simulators(world=example_world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(
        reset=True)
    url = private_postgres.url
    runners = {}
    try:
        env = bot_env(sims, tmp_path, "automated", BISTAND_QUEUE_URL=url, BISTAND_IN_FLIGHT="1",
                      BISTAND_LEASE_SECONDS="10")
        produced = run_bot(env, "produce")
        assert produced.code == 0, produced.output[-2000:]
        runners = {name: start_runner(env, name) for name in RUNNERS}
        held = wait_until_each_holds(url, RUNNERS)
        restart_seconds = private_postgres.restart()  # while both hold an item
        outputs = {name: runner.communicate(timeout=600)[0] for name, runner in runners.items()}
        data = export(sims)
        store = open_queue(url)
        items = {item.application_id: item for item in store.items()}
        store.close()
    finally:
        for runner in runners.values():
            if runner.poll() is None:
                os.killpg(runner.pid, signal.SIGKILL)
        sims.stop()
    for name, runner in runners.items():
        assert runner.returncode == 0, f"{name}:\n{outputs[name][-3000:]}"
    figures = fault_figures("PostgreSQL restarted while both runners hold items", data,
                            {i: item.state for i, item in items.items()}, outputs)
    claims = {application_id: items[application_id].claims for application_id in held.values()}
    print(f"restart took {restart_seconds:.1f} s; held then (claims at the end): {claims}; "
          f"wall time {time.monotonic() - started:.0f} s")
    assert set(held.values()) <= set(items)
    for name, application_id in held.items():  # the items held across the restart were finished
        assert items[application_id].state == "done", (name, application_id)
    assert all(runner_lines(outputs[name], "DONE") for name in RUNNERS), "each runner should finish items"
    assert sorted(sum((runner_lines(o, "DONE") for o in outputs.values()), [])) == sorted(world["expected"])
    assert figures["left_behind"] == [] and not any(item.state == "in_progress" for item in items.values())
    assert {i: e["count"] for i, e in data["latest_decision_basis"].items()} == {i: 1 for i in world["expected"]}
    assert written_bases(data) == expected_bases(world, "automated")
    assert duplicate_writes(data) == {kind: {} for kind in duplicate_writes(data)}
    decided = {i for i, (proposal, _, _) in expected_bases(world, "automated").items()
               if proposal in ("approve", "reject")}
    assert figures["decisions"] == len(decided) and figures["payments"] > 0  # the writes a duplicate would hurt
