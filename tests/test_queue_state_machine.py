"""The store as a state machine (hypothesis), on SQLite and on PostgreSQL: three runners, each
with its own connection, and a clock the test moves, doing claim, heartbeat, complete, fail,
unclaim, lease expiry, crash and the operator's retry and skip in any order.

After every step: at most one runner holds an item with a valid token; every change of an
item's state is a move of the table in bistand/queue/states.py; a write with a stale token (or an
operator action the table refuses) changes nothing. At the end every item can be brought to
rest (done, failed, parked or skipped) by runners that keep working.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from bistand.queue.states import FINAL, allowed, is_transition
from bistand.queue.store import ActionRefused, Lease, LeaseLost, QueueItem, QueueStore, open_queue
from tests.queue_clock import TestClock

LEASE = 30.0
ITEMS = [f"ANS-2026-{n:06d}" for n in (1, 2)]
RUNNERS = ["runner-a", "runner-b", "runner-c"]
MAX_FAILURES, MAX_CLAIMS = 3, 3


def machine_for(stores: list[QueueStore], clock: TestClock) -> type[RuleBasedStateMachine]:
    """The machine over the given stores (one connection per runner; the first also operates)."""

    class QueueMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.leases: dict[str, list[Lease]] = {runner: [] for runner in RUNNERS}
            self.issued: list[Lease] = []
            """Every lease ever given, also those of runners that crashed or were paused."""
            self.store = dict(zip(RUNNERS, stores, strict=True))
            self.before: dict[str, QueueItem] = {}

        @initialize()
        def fresh_queue(self) -> None:
            stores[0].clear()
            for application_id in ITEMS:
                stores[0].add(application_id, {"application_id": application_id})
            self.before = self.snapshot()

        # -- what a runner does ----------------------------------------------------------
        @rule(runner=st.sampled_from(RUNNERS))
        def claim(self, runner: str) -> None:
            item = self.store[runner].claim(runner, LEASE)
            if item is None:
                return
            was = self.before[item.application_id]
            assert item.lease_generation == was.lease_generation + 1, "a claim gives a new generation"
            due = was.state == "pending" and was.next_try_at <= clock.now
            expired = was.state == "in_progress" and was.lease_until < clock.now and was.open_claims < MAX_CLAIMS
            assert due or expired, f"claimed an item that was {was.state}"
            self.leases[runner].append(item.lease)
            self.issued.append(item.lease)

        @rule(runner=st.sampled_from(RUNNERS), pick=st.integers(0, 5))
        def heartbeat(self, runner: str, pick: int) -> None:
            lease = self.pick(runner, pick)
            if lease is not None:
                alive = self.store[runner].heartbeat(lease, LEASE)
                assert alive == self.current(lease), "a heartbeat succeeds exactly for the current lease"
                if not alive:
                    self.assert_unchanged()

        @rule(runner=st.sampled_from(RUNNERS), pick=st.integers(0, 5),
              how=st.sampled_from(["complete", "business", "application", "norm_missing", "unclaim"]))
        def release(self, runner: str, pick: int, how: str) -> None:
            lease = self.pick(runner, pick)
            if lease is None:
                return
            current = self.current(lease)
            store = self.store[runner]
            if how == "unclaim":
                assert store.unclaim(lease) == current
            else:
                try:
                    if how == "complete":
                        store.complete(lease)
                    elif how == "business":
                        store.fail(lease, "BUSINESS", "FRAME_MISSING", "bad data")
                    elif how == "application":
                        store.fail(lease, "APPLICATION", "TIMEOUT", "fk: timed out")
                    else:
                        store.fail(lease, "APPLICATION", "NORM_TABLE_MISSING", "no norm table")
                    assert current, "a stale lease was allowed to release the item"
                except LeaseLost:
                    assert not current, "the current holder could not release its item"
            if not current:
                self.assert_unchanged()
            self.leases[runner].remove(lease)

        @rule(pick=st.integers(0, 20), how=st.sampled_from(["heartbeat", "complete", "application", "unclaim"]))
        def paused_runner_wakes_up(self, pick: int, how: str) -> None:
            """A runner that hung (a long GC pause, a cut network) writes with whatever lease it
            had: it succeeds only when nobody took the item over meanwhile."""
            if not self.issued:
                return
            lease = self.issued[pick % len(self.issued)]
            current = self.current(lease)
            store = self.store[lease.owner]
            try:
                if how == "heartbeat":
                    assert store.heartbeat(lease, LEASE) == current
                elif how == "unclaim":
                    assert store.unclaim(lease) == current
                elif how == "complete":
                    store.complete(lease)
                    assert current, "a stale lease was allowed to complete the item"
                else:
                    store.fail(lease, "APPLICATION", "TIMEOUT", "fk: timed out")
                    assert current, "a stale lease was allowed to fail the item"
            except LeaseLost:
                assert not current, "the current holder could not release its item"
            if not current:
                self.assert_unchanged()

        @rule(runner=st.sampled_from(RUNNERS))
        def crash(self, runner: str) -> None:
            """kill -9: the runner forgets what it held; the leases run out in the database."""
            self.leases[runner] = []

        @rule(seconds=st.sampled_from([1.0, 11.0, LEASE / 2, LEASE + 1, 2 * LEASE]))
        def time_passes(self, seconds: float) -> None:
            clock.advance(seconds)

        # -- what an operator does -------------------------------------------------------
        @rule(application_id=st.sampled_from(ITEMS), action=st.sampled_from(["retry", "skip"]))
        def operator(self, application_id: str, action: str) -> None:
            state = self.before[application_id].state
            try:
                if action == "retry":
                    stores[0].retry(application_id)
                else:
                    stores[0].skip(application_id, "handläggs manuellt")
                assert allowed(action, state), f"{action} was accepted for a {state} item"
            except ActionRefused:
                assert not allowed(action, state), f"{action} was refused for a {state} item"
                self.assert_unchanged()
            after = stores[0].get(application_id)
            assert (after.failures, after.claims) == (self.before[application_id].failures,
                                                      self.before[application_id].claims), "counts kept"

        # -- after every step ------------------------------------------------------------
        @invariant()
        def moves_follow_the_table_and_one_valid_holder_per_item(self) -> None:
            if not self.before:
                return
            now = self.snapshot()
            for application_id, item in now.items():
                was = self.before[application_id]
                assert was.state == item.state or is_transition(was.state, item.state), \
                    f"{application_id}: {was.state} -> {item.state} is not in the table"
                holders = [runner for runner, leases in self.leases.items() for lease in leases
                           if lease.application_id == application_id and self.valid(lease, item)]
                assert len(holders) <= 1, f"{application_id} held with a valid token by {holders}"
            self.before = now

        def teardown(self) -> None:
            """Runners that keep working bring every item to rest."""
            worker = stores[1]
            for _ in range(60):
                if all(item.state in FINAL for item in self.snapshot().values()):
                    return
                clock.advance(LEASE + 25)
                while (item := worker.claim("runner-z", LEASE)) is not None:
                    worker.fail(item.lease, "APPLICATION", "TIMEOUT", "fk: timed out")
            raise AssertionError(f"items never came to rest: {[i.state for i in self.snapshot().values()]}")

        # -- helpers ---------------------------------------------------------------------
        def snapshot(self) -> dict[str, QueueItem]:
            return {item.application_id: item for item in stores[0].items()}

        def pick(self, runner: str, pick: int) -> Lease | None:
            leases = self.leases[runner]
            return leases[pick % len(leases)] if leases else None

        def current(self, lease: Lease) -> bool:
            """The item is in progress under this very lease (owner and generation)."""
            item = self.before[lease.application_id]
            return (item.state == "in_progress" and item.lease_owner == lease.owner
                    and item.lease_generation == lease.generation)

        def valid(self, lease: Lease, item: QueueItem) -> bool:
            return (item.state == "in_progress" and item.lease_generation == lease.generation
                    and item.lease_owner == lease.owner and item.lease_until >= clock.now)

        def assert_unchanged(self) -> None:
            assert self.snapshot() == self.before, "a refused or stale write changed the queue"

    return QueueMachine


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_store_keeps_its_guarantees_under_any_interleaving(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path / 'queue.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_database")
    clock = TestClock()
    stores = [open_queue(url, retry_delays=[10, 20], max_failures=MAX_FAILURES, max_claims=MAX_CLAIMS, clock=clock)
              for _ in RUNNERS]
    try:
        run_state_machine_as_test(
            machine_for(stores, clock),
            settings=settings(max_examples=200, stateful_step_count=30, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow]),
        )
    finally:
        for store in stores:
            store.close()
