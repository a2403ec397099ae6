"""The queue's store on both backends: once per application, leases, growing delays, parking."""

from __future__ import annotations

import threading
import time

import pytest

from bistand.queue.store import MIGRATIONS, ActionRefused, LeaseLost, open_queue

PAYLOAD = {"application_id": "ANS-2026-000001", "case_number": "EB-2026-0001", "period": "2026-12"}


def item(n: int, period: str = "2026-12") -> tuple[str, dict]:
    application_id = f"ANS-2026-{n:06d}"
    return application_id, {"application_id": application_id, "case_number": f"EB-2026-{n:04d}", "period": period}


@pytest.fixture
def queue(queue_url):
    store = open_queue(queue_url, retry_delays=[0.2, 0.4], max_failures=3)
    yield store
    store.close()


def test_an_application_is_queued_once_ever(queue):
    assert queue.add(*item(1)) is True
    assert queue.add(*item(1)) is False
    claimed = queue.claim("runner-a", 30)
    queue.complete(claimed.lease)
    assert queue.add(*item(1)) is False
    assert queue.counts()["done"] == 1 and sum(queue.counts().values()) == 1


def test_the_schema_is_migrated_once_and_reopening_keeps_the_items(queue_url):
    first = open_queue(queue_url)
    first.add(*item(1))
    first.close()
    second = open_queue(queue_url)
    assert second.migrate() == len(MIGRATIONS)
    assert [i.application_id for i in second.items()] == ["ANS-2026-000001"]
    second.close()


def test_a_claimed_item_is_leased_to_one_runner_only(queue):
    queue.add(*item(1))
    first = queue.claim("runner-a", 30)
    assert first.application_id == "ANS-2026-000001" and first.payload["period"] == "2026-12"
    assert queue.claim("runner-b", 30) is None
    with pytest.raises(LeaseLost):
        queue.complete(first.lease.model_copy(update={"owner": "runner-b"}))
    assert queue.complete(first.lease) == "done"


def test_an_expired_lease_returns_the_item_and_the_late_holder_cannot_release_it(queue):
    queue.add(*item(1))
    dead = queue.claim("dead-runner", 0.3)
    assert queue.claim("runner-b", 30) is None
    deadline = time.monotonic() + 10
    taken = None
    while taken is None and time.monotonic() < deadline:
        taken = queue.claim("runner-b", 30)
    assert taken is not None and taken.claims == 2
    assert queue.heartbeat(dead.lease, 30) is False
    with pytest.raises(LeaseLost):
        queue.complete(dead.lease)
    assert queue.complete(taken.lease) == "done"


def test_a_heartbeat_keeps_the_lease(queue):
    queue.add(*item(1))
    held = queue.claim("runner-a", 0.5)
    for _ in range(4):
        assert queue.heartbeat(held.lease, 0.5) is True
        assert queue.claim("runner-b", 30) is None
        time.sleep(0.2)  # part of the lease passes between heartbeats


def test_system_failures_are_rescheduled_with_growing_delays_then_parked(queue):
    queue.add(*item(1))
    claimed = queue.claim("r", 30)
    assert queue.fail(claimed.lease, "APPLICATION", "TIMEOUT", "fk: timed out") == "pending"
    first = queue.get("ANS-2026-000001")
    assert first.failures == 1 and first.next_try_at - first.updated_at == pytest.approx(0.2, abs=0.05)
    assert queue.claim("r", 30) is None  # not due yet
    while (claimed := queue.claim("r", 30)) is None:
        time.sleep(0.05)  # poll the queue until the item falls due
    assert queue.fail(claimed.lease, "APPLICATION", "TIMEOUT", "fk: timed out") == "pending"
    second = queue.get("ANS-2026-000001")
    assert second.next_try_at - second.updated_at == pytest.approx(0.4, abs=0.05)
    while (claimed := queue.claim("r", 30)) is None:
        time.sleep(0.05)
    assert queue.fail(claimed.lease, "APPLICATION", "TIMEOUT", "fk: timed out") == "parked"
    parked = queue.get("ANS-2026-000001")
    assert (parked.state, parked.error_code, parked.failures) == ("parked", "TIMEOUT", 3)
    assert "försök 3 av 3" in parked.error_message


def test_a_missing_norm_table_parks_at_once_with_what_to_do(queue):
    queue.add(*item(1, "2027-01"))
    claimed = queue.claim("r", 30)
    state = queue.fail(claimed.lease, "APPLICATION", "NORM_TABLE_MISSING", "no norm table for 2027")
    assert state == "parked"
    parked = queue.get("ANS-2026-000001")
    assert parked.failures == 1 and "resources/norm" in parked.error_message and "retry" in parked.error_message


def test_business_failures_end_the_item_and_messages_are_masked(queue):
    queue.add(*item(1))
    claimed = queue.claim("r", 30)
    assert queue.fail(claimed.lease, "BUSINESS", "FRAME_MISSING", "no frame for 19700215-5526") \
        == "failed_business"
    failed = queue.get("ANS-2026-000001")
    assert "19700215-5526" not in failed.error_message and failed.error_code == "FRAME_MISSING"
    assert queue.claim("r", 30) is None


def test_a_failing_item_never_holds_up_the_others(queue):
    queue.add(*item(1))
    queue.add(*item(2))
    claimed = queue.claim("r", 30)
    queue.fail(claimed.lease, "APPLICATION", "TIMEOUT", "fk: timed out")
    assert queue.claim("r", 30).application_id == "ANS-2026-000002"


def test_operators_retry_parked_items_and_skip_items(queue):
    for n in (1, 2, 3):
        queue.add(*item(n, "2027-01"))
        claimed = queue.claim("r", 30)
        queue.fail(claimed.lease, "APPLICATION", "NORM_TABLE_MISSING", "no norm table for 2027")
    assert queue.counts()["parked"] == 3
    assert queue.retry("ANS-2026-000001").state == "pending"
    assert queue.skip("ANS-2026-000002", "handläggs manuellt").state == "skipped"
    assert queue.retry_all_parked() == 1
    counts = queue.counts()
    assert (counts["pending"], counts["skipped"], counts["parked"]) == (2, 1, 0)
    assert queue.get("ANS-2026-000001").failures == 1  # the count of tries is kept
    with pytest.raises(ActionRefused, match="finns inte"):
        queue.retry("ANS-2026-999999")


def test_concurrent_runners_never_claim_the_same_item(queue_url):
    setup = open_queue(queue_url)
    for n in range(1, 41):
        setup.add(*item(n))
    setup.close()
    claimed: dict[str, list[str]] = {}

    def runner(name: str) -> None:
        store = open_queue(queue_url)
        mine = claimed.setdefault(name, [])
        while (got := store.claim(name, 30)) is not None:
            mine.append(got.application_id)
            store.complete(got.lease)
        store.close()

    threads = [threading.Thread(target=runner, args=(f"runner-{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    every = [a for ids in claimed.values() for a in ids]
    assert sorted(every) == [f"ANS-2026-{n:06d}" for n in range(1, 41)]
