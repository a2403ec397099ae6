"""Runners on the work queue, end to end: real simulators, Chromium, Robot Framework and the
project's own PostgreSQL (tools/postgres.sh).

- items a citizen filed for a period with no norm table never hold up the valid ones: they are
  parked at once and the exit code says so;
- a runner killed with SIGKILL while it holds a lease: another runner takes the item over when
  the lease runs out, and every application gets exactly one decision basis;
- two runners at once on the example world: exactly one decision basis per application;
- an item that kills every runner that takes it is parked after three claims (CLAIMS_EXHAUSTED),
  and the other items finish.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import httpx
import psycopg
import pytest

from bistand.queue.store import open_queue
from tests.bot_harness import bot_env, export, load_world, run_bot, start_runner, subset_world
from tests.queue_fixtures import wait_for_lease
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

VALID_TEN = [f"ANS-2026-{n:06d}" for n in (1, 2, 3, 4, 5, 6, 9, 12, 16, 18)]


def applicant_of(world: dict, application_id: str) -> tuple[str, str]:
    """(personnummer of the applicant, case number) of a world application."""
    application = next(a for a in world["applications"] if a["application_id"] == application_id)
    household = next(h for h in world["households"] if h["case_number"] == application["case_number"])
    applicant = next(m for m in household["members"] if m["role"] == "applicant")
    return applicant["personnummer"], household["case_number"]


def file_as_citizen(url: str, personnummer: str, period: str) -> str:
    """Files a re-application in the e-service's citizen pages; returns its application id."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
        client.post("/medborgare/login", data={"personnummer": personnummer}).raise_for_status()
        response = client.post("/medborgare/ny", data={"period": period, "bank_balance": "0"})
        response.raise_for_status()
        assert "/medborgare/ansokningar/" in str(response.url), response.text[-1500:]
        return response.url.path.rsplit("/", 1)[1]


def queue_status(env: dict[str, str]) -> dict:
    result = run_bot(env, "queue", "status", "--json", timeout=60)
    assert result.code == 0, result.output
    return json.loads(result.stdout)


def test_a_period_without_norm_table_is_parked_and_never_holds_up_the_valid_items(tmp_path, example_world_path):
    world = load_world(example_world_path)
    world_path = subset_world(world, VALID_TEN, tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_MAX_CONSECUTIVE_ERRORS="3")
        store = open_queue(f"sqlite:///{tmp_path / 'bot-state' / 'queue.db'}")
        poisoned = []
        for application_id in VALID_TEN[:5]:  # five citizens file for a period with no norm table
            personnummer, case_number = applicant_of(world, application_id)
            new_id = file_as_citizen(sims.urls["eservice"], personnummer, "2027-01")
            assert store.add(new_id, {"application_id": new_id, "case_number": case_number, "period": "2027-01"})
            poisoned.append(new_id)
        store.close()
        produced = run_bot(env, "produce")
        assert produced.code == 0, produced.output[-2000:]
        assert "Queued 10 new applications" in produced.output  # the five were queued first
        result = run_bot(env, "work", "--until-empty")
        status = queue_status(env)
        latest = export(sims)["latest_decision_basis"]
    finally:
        sims.stop()
    assert result.code == 6, result.output[-3000:]
    assert result.last_line.startswith("5 items parked (behöver åtgärd), 10 done")
    assert status["counts"]["done"] == 10 and status["counts"]["parked"] == 5
    assert {p["application_id"] for p in status["parked"]} == set(poisoned)
    assert all(p["code"] == "NORM_TABLE_MISSING" and "resources/norm" in p["message"] for p in status["parked"])
    assert all(p["failures"] == 1 for p in status["parked"])  # parked at once, not retried
    assert set(latest) == set(VALID_TEN) and all(entry["count"] == 1 for entry in latest.values())






def test_a_runner_killed_while_it_holds_a_lease_is_taken_over_with_one_decision_basis(
        tmp_path, example_world_path, postgres_database):
    ids = VALID_TEN[:3]
    world_path = subset_world(load_world(example_world_path), ids, tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_QUEUE_URL=postgres_database, BISTAND_LEASE_SECONDS="4")
        assert run_bot(env, "produce").code == 0
        doomed = start_runner(env, "runner-doomed")
        held = wait_for_lease(postgres_database, "runner-doomed")
        time.sleep(1.5)  # deliberately land inside the item (reading or writing it)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
        survivor = start_runner(env, "runner-survivor")
        output, _ = survivor.communicate(timeout=600)
        latest = export(sims)["latest_decision_basis"]
        status = queue_status(env)
        store = open_queue(postgres_database)
        taken_over = store.get(held)
        store.close()
    finally:
        sims.stop()
    assert survivor.returncode == 0, output[-3000:]
    assert status["counts"]["done"] == 3
    assert taken_over.claims == 2 and taken_over.state == "done"
    assert f"{held} DONE" in output  # the survivor finished the killed runner's item
    assert {application_id: entry["count"] for application_id, entry in latest.items()} == {i: 1 for i in ids}


def test_two_runners_on_the_example_world_write_exactly_one_decision_basis_each(
        tmp_path, example_world_path, postgres_database):
    world_path = subset_world(load_world(example_world_path), VALID_TEN, tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_QUEUE_URL=postgres_database)
        assert run_bot(env, "produce").code == 0
        runners = [start_runner(env, f"runner-{n}") for n in (1, 2)]
        outputs = [runner.communicate(timeout=900)[0] for runner in runners]
        latest = export(sims)["latest_decision_basis"]
    finally:
        sims.stop()
    for runner, output in zip(runners, outputs, strict=True):
        assert runner.returncode == 0, output[-3000:]
    done = [[line.split()[1] for line in output.splitlines() if line.startswith("[") and " DONE " in line]
            for output in outputs]
    assert all(done), "each runner should have worked some items"
    assert sorted(done[0] + done[1]) == sorted(VALID_TEN)
    assert {application_id: entry["count"] for application_id, entry in latest.items()} == {i: 1 for i in VALID_TEN}


def wait_until_holding(url: str, owner: str, application_id: str, timeout: float = 300) -> None:
    """Returns as soon as `owner` holds the lease on `application_id`."""
    store = open_queue(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            item = store.get(application_id)
            if item.state == "in_progress" and item.lease_owner == owner:
                return
            time.sleep(0.05)  # poll the queue
    finally:
        store.close()
    raise AssertionError(f"{owner} never held {application_id}")


def test_an_item_that_kills_its_runner_every_time_is_parked_after_three_claims_and_the_others_finish(
        tmp_path, example_world_path, postgres_database):
    ids = VALID_TEN[:4]
    poisoned = ids[0]  # due first: each new runner takes it as soon as the last one's lease ran out
    world_path = subset_world(load_world(example_world_path), ids, tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_QUEUE_URL=postgres_database, BISTAND_LEASE_SECONDS="3",
                      BISTAND_MAX_CLAIMS="3", BISTAND_IN_FLIGHT="1")
        assert run_bot(env, "produce").code == 0
        for death in range(3):  # the item kills whichever runner takes it (a page that hangs Chromium)
            name = f"runner-{death}"
            runner = start_runner(env, name)
            wait_until_holding(postgres_database, name, poisoned)
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait(timeout=30)
        survivor = start_runner(env, "runner-survivor")
        output, _ = survivor.communicate(timeout=600)
        status = queue_status(env)
        latest = export(sims)["latest_decision_basis"]
        store = open_queue(postgres_database)
        parked = store.get(poisoned)
        store.close()
    finally:
        sims.stop()
    assert survivor.returncode == 0, output[-3000:]
    assert (parked.state, parked.error_code, parked.claims, parked.failures) == ("parked", "CLAIMS_EXHAUSTED", 3, 0)
    assert status["counts"]["done"] == 3 and status["counts"]["in_progress"] == 0
    assert [(p["application_id"], p["code"]) for p in status["parked"]] == [(poisoned, "CLAIMS_EXHAUSTED")]
    assert all(latest[i]["count"] == 1 for i in ids[1:])
    assert latest.get(poisoned, {"count": 0})["count"] <= 1


def test_a_runner_whose_lease_was_taken_over_writes_nothing_for_that_item_and_goes_on(
        tmp_path, example_world_path, postgres_database):
    """The runner reads slowly (Försäkringskassan answers after 1.5 s); meanwhile its lease is
    taken over. It stops the item before its first write, says so, and works on; once the other
    holder hands the item back it takes it again: one decision basis per application."""
    ids = VALID_TEN[:2]
    taken_over = ids[0]
    world_path = subset_world(load_world(example_world_path), ids, tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port(),
                      faults=True).start(reset=True)
    store = open_queue(postgres_database)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_QUEUE_URL=postgres_database, BISTAND_IN_FLIGHT="1")
        assert run_bot(env, "produce").code == 0
        httpx.post(f"{sims.urls['fk']}/_sim/faults", json={"delay_ms": 1500}, timeout=10).raise_for_status()
        runner = start_runner(env, "runner-slow")
        lines: list[str] = []
        stopped = threading.Event()

        def pump() -> None:
            for line in runner.stdout:
                lines.append(line)
                if "LEASE_LOST" in line:
                    stopped.set()

        threading.Thread(target=pump, daemon=True).start()
        wait_until_holding(postgres_database, "runner-slow", taken_over)
        with psycopg.connect(postgres_database, autocommit=True) as admin:  # its lease runs out (a long pause)
            admin.execute("UPDATE work_items SET lease_until = 0 WHERE application_id = %s", (taken_over,))
        other = store.claim("runner-other", 600)
        assert other.application_id == taken_over
        assert stopped.wait(300), "".join(lines[-30:])
        assert taken_over not in export(sims)["latest_decision_basis"]  # stopped before its first write
        assert store.get(taken_over).lease_generation == other.lease_generation  # and changed nothing
        store.unclaim(other.lease)  # the other runner hands it back: the slow runner takes it again
        assert runner.wait(timeout=600) == 0, "".join(lines[-30:])
        latest = export(sims)["latest_decision_basis"]
        counts = store.counts()
    finally:
        store.close()
        sims.stop()
    output = "".join(lines)
    assert f"{taken_over} LEASE_LOST" in output and f"{taken_over} DONE" in output
    assert counts["done"] == 2 and counts["in_progress"] == 0
    assert {application_id: entry["count"] for application_id, entry in latest.items()} == {i: 1 for i in ids}
