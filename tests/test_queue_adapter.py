"""The queue behind rpaframework's work-item interface, on both backends (no browser)."""

from __future__ import annotations

import threading

import pytest
from RPA.Robocorp.WorkItems import EmptyQueue, State, WorkItems

from bistand.queue.store import open_queue
from bistand.run.adapter import QueueAdapter


@pytest.fixture
def queue_env(monkeypatch, queue_url):
    monkeypatch.setenv("BISTAND_QUEUE_URL", queue_url)
    monkeypatch.setenv("BISTAND_RUNNER_ID", "runner-test")
    monkeypatch.setenv("BISTAND_RETRY_DELAYS", "60")
    monkeypatch.setenv("BISTAND_MAX_FAILURES", "2")
    return queue_url


def payload(n: int) -> dict:
    return {"application_id": f"ANS-2026-{n:06d}", "case_number": f"EB-2026-{n:04d}", "period": "2026-12"}


def test_rpaframework_loads_the_adapter_by_its_dotted_name(queue_env, monkeypatch):
    monkeypatch.setenv("RPA_WORKITEMS_ADAPTER", "bistand.run.adapter.QueueAdapter")
    library = WorkItems(autoload=False)
    assert isinstance(library.adapter, QueueAdapter)


def test_the_producer_role_queues_saved_outputs_once(queue_env, monkeypatch):
    monkeypatch.setenv("BISTAND_QUEUE_ROLE", "producer")
    monkeypatch.setenv("RPA_WORKITEMS_ADAPTER", "bistand.run.adapter.QueueAdapter")
    library = WorkItems(autoload=False)
    library.get_input_work_item()
    for n in (1, 2, 1):
        library.create_output_work_item(variables=payload(n), save=True)
    with pytest.raises(EmptyQueue):
        library.get_input_work_item()  # one trigger item only
    store = open_queue(queue_env)
    assert [i.application_id for i in store.items("pending")] == ["ANS-2026-000001", "ANS-2026-000002"]
    store.close()


def test_releases_map_to_queue_states(queue_env):
    store = open_queue(queue_env)
    for n in (1, 2, 3, 4):
        store.add(payload(n)["application_id"], payload(n))
    adapter = QueueAdapter()
    first = adapter.reserve_input()
    assert adapter.load_payload(first) == payload(1)
    adapter.release_input(first, State.DONE)
    second = adapter.reserve_input()
    adapter.release_input(second, State.FAILED, {"type": "BUSINESS", "code": "FRAME_MISSING", "message": "x"})
    third = adapter.reserve_input()
    adapter.release_input(third, State.FAILED, {"type": "APPLICATION", "code": "TIMEOUT", "message": "fk: slow"})
    assert adapter.last_state == "pending"
    fourth = adapter.reserve_input()
    adapter.release_input(fourth, State.FAILED,
                          {"type": "APPLICATION", "code": "NORM_TABLE_MISSING", "message": "no norm table for 2027"})
    assert adapter.last_state == "parked"
    with pytest.raises(EmptyQueue):
        adapter.reserve_input()  # the rescheduled item is not due for a minute
    states = {i.application_id: i.state for i in store.items()}
    store.close()
    assert states == {"ANS-2026-000001": "done", "ANS-2026-000002": "failed_business",
                      "ANS-2026-000003": "pending", "ANS-2026-000004": "parked"}


def test_a_polling_runner_takes_an_item_queued_later_and_stops_when_asked(queue_env, monkeypatch):
    monkeypatch.setenv("BISTAND_QUEUE_UNTIL_EMPTY", "0")
    monkeypatch.setenv("BISTAND_QUEUE_POLL_SECONDS", "0.1")
    adapter = QueueAdapter()
    got: list[object] = []
    reserved = threading.Event()

    def runner() -> None:
        try:
            got.append(adapter.reserve_input())
            reserved.set()
            adapter.release_input(got[0], State.DONE)
            adapter.reserve_input()
        except EmptyQueue as exc:
            got.append(exc)

    thread = threading.Thread(target=runner)
    thread.start()
    store = open_queue(queue_env)
    store.add("ANS-2026-000007", payload(7))
    assert reserved.wait(30)
    adapter._stop.set()  # what SIGTERM does
    thread.join(timeout=30)
    assert got[0] == "ANS-2026-000007" and isinstance(got[1], EmptyQueue)
    assert store.get("ANS-2026-000007").state == "done"
    store.close()


def test_a_heartbeat_keeps_a_long_item_leased(queue_env, monkeypatch):
    monkeypatch.setenv("BISTAND_LEASE_SECONDS", "0.6")
    store = open_queue(queue_env)
    store.add("ANS-2026-000001", payload(1))
    adapter = QueueAdapter()
    item = adapter.reserve_input()
    expired = threading.Event()
    expired.wait(1.5)  # longer than the lease: only the heartbeat keeps it
    assert store.claim("runner-other", 30) is None
    adapter.release_input(item, State.DONE)
    assert store.get(item).state == "done"
    store.close()


def test_items_taken_ahead_come_first_stay_leased_and_go_back_untouched(queue_env, monkeypatch):
    """Several applications in flight: the runner takes items ahead of the suite; they are handed
    out in the order taken, kept alive by the heartbeat, and one handed back is pending again with
    no try counted, due at once for another runner."""
    monkeypatch.setenv("BISTAND_LEASE_SECONDS", "0.6")
    store = open_queue(queue_env)
    for n in (1, 2, 3, 4):
        store.add(payload(n)["application_id"], payload(n))
    adapter = QueueAdapter()
    current = adapter.reserve_input()
    ahead = adapter.reserve_ahead(2)
    assert current == "ANS-2026-000001"
    assert [item_id for item_id, _ in ahead] == ["ANS-2026-000002", "ANS-2026-000003"]
    assert ahead[0][1] == payload(2)
    threading.Event().wait(1.5)  # longer than the lease: only the heartbeat keeps all three
    assert store.claim("runner-other", 30).application_id == "ANS-2026-000004"
    adapter.release_input(current, State.DONE)
    assert adapter.reserve_input() == "ANS-2026-000002"
    adapter.hand_back("ANS-2026-000003")
    back = store.get("ANS-2026-000003")
    assert (back.state, back.failures, back.claims, back.lease_owner) == ("pending", 0, 0, None)
    assert store.claim("runner-other", 30).application_id == "ANS-2026-000003"
    adapter.release_input("ANS-2026-000002", State.DONE)
    assert adapter.reserve_ahead(3) == []  # nothing due: never waits
    store.close()


def test_a_stop_signal_robot_framework_took_before_the_adapter_existed_ends_the_wait(queue_env, monkeypatch):
    """SIGTERM while a run starts reaches Robot Framework's handler, not the adapter's: the adapter
    must still end the run instead of polling for new items until rotation."""
    import signal

    from robot.running.signalhandler import STOP_SIGNAL_MONITOR

    from bistand.run.watch_adapter import WatchAdapter

    monkeypatch.setenv("BISTAND_QUEUE_UNTIL_EMPTY", "0")
    monkeypatch.setenv("BISTAND_QUEUE_POLL_SECONDS", "0.05")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    monkeypatch.setattr(STOP_SIGNAL_MONITOR, "_signal_count", 1)
    try:
        for adapter_class in (QueueAdapter, WatchAdapter):
            adapter = adapter_class()
            adapter.first_call = False  # a watch adapter would log in first (no browser here)
            outcome: list[BaseException] = []

            def reserve(adapter=adapter, outcome=outcome) -> None:
                try:
                    adapter.reserve_input()
                except BaseException as exc:  # noqa: BLE001 - what ended the wait is the result
                    outcome.append(exc)

            waiter = threading.Thread(target=reserve, daemon=True)
            waiter.start()
            waiter.join(timeout=10)
            adapter._stop.set()  # never leave a polling thread behind
            assert not waiter.is_alive(), f"{adapter_class.__name__} kept waiting for items"
            assert isinstance(outcome[0], EmptyQueue)
        monkeypatch.setattr(STOP_SIGNAL_MONITOR, "_signal_count", 0)
        assert not QueueAdapter()._stop.is_set()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
