"""The holes issue 15 found in the queue's guarantees, one test each (both backends where the
hole is not PostgreSQL's own): runners that die with an item, a release that meets a dropped
connection, a stale runner writing after a takeover, operator actions outside the state table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psycopg
import pytest
from RPA.Robocorp.WorkItems import State

from bistand.dashboard.stats import dashboard_stats
from bistand.queue.store import ActionRefused, LeaseLost, open_queue
from bistand.run.adapter import QueueAdapter
from tests.queue_clock import TestClock
from tests.simulator_process import ROOT

LEASE = 30


def payload(n: int) -> tuple[str, dict]:
    application_id = f"ANS-2026-{n:06d}"
    return application_id, {"application_id": application_id, "case_number": f"EB-2026-{n:04d}", "period": "2026-12"}


@pytest.fixture
def clock():
    return TestClock()


@pytest.fixture
def queue(queue_url, clock):
    store = open_queue(queue_url, retry_delays=[10, 20], max_failures=3, max_claims=3, clock=clock)
    yield store
    store.close()


def test_an_item_whose_runner_dies_every_time_is_parked_after_three_claims_not_claimed_for_ever(queue, clock):
    application_id, body = payload(1)
    queue.add(application_id, body)
    for crash in range(10):  # each runner takes the item and dies with it (kill -9, out of memory)
        queue.claim(f"runner-{crash}", LEASE)
        clock.advance(LEASE + 1)
    parked = queue.get(application_id)
    assert (parked.state, parked.error_code, parked.claims, parked.failures) == ("parked", "CLAIMS_EXHAUSTED", 3, 0)
    assert "påbörjades 3 gånger utan att avslutas" in parked.error_message
    assert parked.lease_owner is None and queue.counts()["parked"] == 1
    listed = dashboard_stats(queue).needs_action
    assert [(i.application_id, i.code) for i in listed] == [(application_id, "CLAIMS_EXHAUSTED")]


def test_a_parked_item_the_operator_retries_gets_one_more_claim(queue, clock):
    application_id, body = payload(1)
    queue.add(application_id, body)
    for crash in range(4):
        queue.claim(f"runner-{crash}", LEASE)
        clock.advance(LEASE + 1)
    assert queue.get(application_id).state == "parked"
    queue.retry(application_id)
    assert queue.claim("runner-after-retry", LEASE).open_claims == 4  # its count is kept
    clock.advance(LEASE + 1)  # and this runner dies too
    assert queue.claim("runner-next", LEASE) is None
    assert queue.get(application_id).state == "parked"


def test_queue_status_lists_an_item_parked_for_claims(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    store = open_queue(url, clock=clock)
    store.add(*payload(1))
    for crash in range(4):
        store.claim(f"runner-{crash}", LEASE)
        clock.advance(LEASE + 1)
    store.close()
    env = {**os.environ, "BISTAND_QUEUE_URL": url, "BISTAND_OUTPUT_DIR": str(tmp_path / "out")}
    result = subprocess.run([sys.executable, "-m", "bistand", "queue", "status", "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["counts"]["parked"] == 1
    assert [(p["application_id"], p["code"], p["claims"]) for p in status["parked"]] == [
        ("ANS-2026-000001", "CLAIMS_EXHAUSTED", 3)]


def test_a_release_that_meets_a_dropped_connection_is_saved_while_the_lease_holds(
        monkeypatch, postgres_database, postgres_server_url):
    monkeypatch.setenv("BISTAND_QUEUE_URL", postgres_database)
    monkeypatch.setenv("BISTAND_RUNNER_ID", "runner-a")
    setup = open_queue(postgres_database)
    setup.add(*payload(1))
    adapter = QueueAdapter()
    held = adapter.reserve_input()
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:  # the server ends the runner's connection
        admin.execute("SELECT pg_terminate_backend(%s)", (adapter.store._connection.info.backend_pid,))
    adapter.release_input(held, State.DONE)
    saved = setup.get(held)
    setup.close()
    assert adapter.last_state == "done"
    assert (saved.state, saved.lease_owner, saved.claims) == ("done", None, 1)


def test_a_stale_runner_changes_nothing_after_another_took_the_item_over(postgres_database, clock):
    """Two processes with one runner id (BISTAND_RUNNER_ID=$(hostname), a restarted runner while
    the old one hangs): the owner check alone lets the old one overwrite the new one's item."""
    old = open_queue(postgres_database, clock=clock)
    new = open_queue(postgres_database, clock=clock)
    old.add(*payload(1))
    stale = old.claim("host-1", LEASE)
    clock.advance(LEASE + 1)  # the old process hangs; its lease runs out
    current = new.claim("host-1", LEASE)
    assert current.lease_generation == stale.lease_generation + 1
    before = new.get(stale.application_id)
    assert old.heartbeat(stale.lease, LEASE) is False
    with pytest.raises(LeaseLost):
        old.fail(stale.lease, "APPLICATION", "TIMEOUT", "fk: timed out")
    with pytest.raises(LeaseLost):
        old.complete(stale.lease)
    assert old.unclaim(stale.lease) is False
    assert new.get(stale.application_id) == before
    assert new.complete(current.lease) == "done"
    old.close()
    new.close()


def test_skip_of_a_done_item_is_refused_and_says_why(queue):
    application_id, body = payload(1)
    queue.add(application_id, body)
    queue.complete(queue.claim("r", LEASE).lease)
    with pytest.raises(ActionRefused, match="läget är «klar»"):
        queue.skip(application_id, "handläggs manuellt")
    assert queue.get(application_id).state == "done"


def test_retry_of_a_pending_item_is_refused_and_keeps_its_failures(queue, clock):
    application_id, body = payload(1)
    queue.add(application_id, body)
    for _ in range(2):  # two system failures of three allowed
        queue.fail(queue.claim("r", LEASE).lease, "APPLICATION", "TIMEOUT", "fk: timed out")
        clock.advance(60)
    with pytest.raises(ActionRefused, match="läget är «väntar»"):
        queue.retry(application_id)
    assert queue.get(application_id).failures == 2
    assert queue.fail(queue.claim("r", LEASE).lease, "APPLICATION", "TIMEOUT", "fk: timed out") == "parked"


def test_the_queue_command_refuses_an_action_outside_the_table_with_a_reason_and_exit_2(tmp_path):
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    store = open_queue(url)
    application_id, body = payload(1)
    store.add(application_id, body)
    store.complete(store.claim("r", LEASE).lease)
    store.close()
    env = {**os.environ, "BISTAND_QUEUE_URL": url, "BISTAND_OUTPUT_DIR": str(tmp_path / "out")}

    def queue_command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bistand", "queue", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    skipped = queue_command("skip", application_id, "--reason", "handläggs manuellt")
    retried = queue_command("retry", application_id)
    assert skipped.returncode == 2 and "kan inte hoppas över: läget är «klar»" in skipped.stdout
    assert retried.returncode == 2 and "kan inte köas om: läget är «klar»" in retried.stdout
    store = open_queue(url)
    assert store.get(application_id).state == "done"
    store.close()


def test_a_runner_whose_lease_was_taken_over_is_told_before_its_write_and_its_release_changes_nothing(
        monkeypatch, queue_url):
    monkeypatch.setenv("BISTAND_QUEUE_URL", queue_url)
    monkeypatch.setenv("BISTAND_RUNNER_ID", "runner-a")
    adapter = QueueAdapter()
    adapter.store.add(*payload(1))
    held = adapter.reserve_input()
    adapter.confirm_lease(held)  # still ours: the write may go ahead
    later = open_queue(queue_url, clock=lambda: time.time() + 3600)  # an hour on: runner-a's lease ran out
    other = later.claim("runner-b", LEASE)
    assert other.application_id == held
    with pytest.raises(LeaseLost):
        adapter.confirm_lease(held)
    before = later.get(held)
    adapter.release_input(held, State.DONE)
    assert adapter.last_state == "lease_lost" and later.get(held) == before
    assert later.complete(other.lease) == "done"
    later.close()
