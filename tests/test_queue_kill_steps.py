"""Faults end to end, two runners on PostgreSQL (the example world).

kill -9 of a runner at each step of an item:
just after the claim, after the reads, in the middle of the write, after the write before the
release. The other runner takes the item over when the lease runs out; every application ends
with exactly one decision basis, equal to the world's `expected`, and nothing is left in progress.

The simulators' fault switch slows the decision-basis form and the e-service's status change of
each application by 1.5 s, so "in the middle of the write" and "after the write" are windows the
test can hit, not instants.

`pg_terminate_backend` of one runner's connection, twice, while it holds items: the same result.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest

from bistand.queue.store import QueueItem, open_queue
from bistand.settings import load
from tests.bot_harness import bot_env, export, load_world, run_bot, start_runner, subset_world
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

IDS = [f"ANS-2026-{n:06d}" for n in (1, 2, 3)]
SLOW_MS = 1500


def basis_path(case_number: str) -> str:
    return f"/arende/{quote(case_number, safe='')}/beslutsunderlag"


def kill_point(step: str, sims: Simulators, env: dict[str, str]) -> Callable[[QueueItem], bool]:
    """Whether the victim, holding `item`, has reached `step` of it."""
    reports = load(environ=env).reports_dir

    def written(item: QueueItem) -> bool:
        return item.application_id in export(sims)["latest_decision_basis"]

    def in_the_write(item: QueueItem) -> bool:
        rules = httpx.get(f"{sims.urls['casemgmt']}/_sim/faults", timeout=10).json()["faults"]
        rule = next(r for r in rules if r["path"] == basis_path(item.payload["case_number"]))
        return rule["requests_seen"] >= 2 and not written(item)  # the form, then its post (held 1.5 s)

    return {
        "claimed": lambda item: True,
        "read": lambda item: (reports / f"{item.application_id}.txt").exists() and not written(item),
        "writing": in_the_write,
        "written": written,
    }[step]


@pytest.mark.parametrize("step", ["claimed", "read", "writing", "written"])
def test_a_runner_killed_at_any_step_of_an_item_leaves_one_decision_basis_per_application(
        step, tmp_path, example_world_path, postgres_database):
    world = load_world(example_world_path)
    world_path = subset_world(world, IDS, tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port(),
                      faults=True).start(reset=True)
    store = open_queue(postgres_database)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_QUEUE_URL=postgres_database, BISTAND_LEASE_SECONDS="3",
                      BISTAND_IN_FLIGHT="1")
        assert run_bot(env, "produce").code == 0
        for item in store.items():
            httpx.post(f"{sims.urls['casemgmt']}/_sim/faults", timeout=10,
                       json={"path": basis_path(item.payload["case_number"]), "delay_ms": SLOW_MS}).raise_for_status()
            httpx.post(f"{sims.urls['eservice']}/_sim/faults", timeout=10,
                       json={"path": f"/inbox/{item.application_id}/status", "delay_ms": SLOW_MS}).raise_for_status()
        reached = kill_point(step, sims, env)
        victim, survivor = start_runner(env, "runner-victim"), start_runner(env, "runner-survivor")
        deadline = time.monotonic() + 300
        killed_in = None
        while killed_in is None:
            assert time.monotonic() < deadline and victim.poll() is None, f"the victim never reached {step}"
            held = [i for i in store.items("in_progress") if i.lease_owner == "runner-victim"]
            if held and reached(held[0]):
                os.killpg(victim.pid, signal.SIGKILL)
                killed_in = held[0].application_id
            time.sleep(0.05)  # poll the queue and the systems for the kill point
        victim.wait(timeout=30)
        output, _ = survivor.communicate(timeout=600)
        latest = export(sims)["latest_decision_basis"]
        counts = store.counts()
        taken_over = store.get(killed_in)
    finally:
        store.close()
        sims.stop()
    assert survivor.returncode == 0, output[-3000:]
    assert counts["in_progress"] == 0 and counts["done"] == len(IDS)
    assert taken_over.claims >= 2 and f"{killed_in} DONE" in output  # the survivor finished it
    assert {i: entry["count"] for i, entry in latest.items()} == {i: 1 for i in IDS}
    got = {i: (e["proposal"], e["amount"], sorted(e["findings"])) for i, e in latest.items()}
    assert got == {i: (e["proposal"], e["amount"], sorted(e.get("findings", [])))
                   for i, e in world["expected"].items() if i in IDS}


def test_a_runners_database_connection_ended_by_the_server_loses_and_doubles_nothing(
        tmp_path, example_world_path, postgres_database):
    """`pg_terminate_backend` of one runner's connection (found by its application_name) while it
    holds an item, and of its next connection too: each next call reconnects (a release is tried
    again), and every application still ends with one decision basis equal to `expected`."""
    import psycopg

    world = load_world(example_world_path)
    world_path = subset_world(world, IDS, tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port(),
                      faults=True).start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_QUEUE_URL=postgres_database, BISTAND_IN_FLIGHT="1")
        assert run_bot(env, "produce").code == 0
        for application_id in IDS:  # each item's status change takes 1.5 s: the runner holds it meanwhile
            httpx.post(f"{sims.urls['eservice']}/_sim/faults", timeout=10,
                       json={"path": f"/inbox/{application_id}/status", "delay_ms": SLOW_MS}).raise_for_status()
        runners = [start_runner({**env, "BISTAND_QUEUE_URL": f"{postgres_database}?application_name={name}"}, name)
                   for name in ("runner-cut", "runner-other")]
        ended: set[int] = set()
        cut = runners[0]
        deadline = time.monotonic() + 300
        with psycopg.connect(postgres_database, autocommit=True) as admin:
            while len(ended) < 2 and cut.poll() is None:  # up to two cuts, each of a fresh connection
                assert time.monotonic() < deadline
                pids = {pid for (pid,) in admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'runner-cut'").fetchall()} - ended
                if pids and held_by(postgres_database, "runner-cut"):
                    for pid in pids:
                        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    ended |= pids
                time.sleep(0.05)  # poll the server for the runner's next connection
        outputs = [runner.communicate(timeout=600)[0] for runner in runners]
        latest = export(sims)["latest_decision_basis"]
        store = open_queue(postgres_database)
        counts = store.counts()
        store.close()
    finally:
        sims.stop()
    assert ended, "the runner's connection was never ended: the test proves nothing"
    for runner, output in zip(runners, outputs, strict=True):
        assert runner.returncode == 0, output[-3000:]
    assert counts["in_progress"] == 0 and counts["done"] == len(IDS)
    got = {i: (e["proposal"], e["amount"], sorted(e["findings"]), e["count"]) for i, e in latest.items()}
    assert got == {i: (e["proposal"], e["amount"], sorted(e.get("findings", [])), 1)
                   for i, e in world["expected"].items() if i in IDS}


def held_by(url: str, owner: str) -> bool:
    store = open_queue(url)
    try:
        return any(i.lease_owner == owner for i in store.items("in_progress"))
    finally:
        store.close()
