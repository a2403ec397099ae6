"""Runners and portal health, without a browser: a runner registers, beats, falls silent after two
lease periods and its items show as taken over; stopped runners keep their exit code. Page objects
report each request's class and seconds; the recorder writes them per minute in one transaction
and several recorders add into the same rows; a system reads as failing from its recent minutes."""

from __future__ import annotations

import asyncio

import pytest

from bistand.core.errors import ApplicationError, BusinessError
from bistand.monitoring import runners
from bistand.monitoring.health import PortalHealth, minute_of, minutes_since, quantile_of, system_health
from bistand.pages.base import Credentials, PortalPage, TransientError, outcome_class
from bistand.queue.store import ItemOutcome, open_queue
from tests.queue_clock import TestClock

START = 1_800_000_000.0


@pytest.fixture
def clock():
    return TestClock(START)


def test_a_runner_beats_falls_silent_and_its_items_are_taken_over(queue_url, clock):
    store = open_queue(queue_url, clock=clock)
    store.add("ANS-2026-000001", {})
    key = runners.register(store, "runner-a", "work", lease_seconds=60)
    first = store.claim("runner-a", 60)
    assert runners.beat(store, key, "runner-a") == [first.application_id]
    [view] = runners.list_runners(store)
    assert (view.status, view.held_now, view.mode) == ("alive", 1, "work")
    clock.advance(121)  # two lease periods without a beat
    [view] = runners.list_runners(store)
    assert view.status == "silent"
    assert [(i.application_id, i.fate) for i in view.items] == [(first.application_id, "held")]
    assert store.claim("runner-b", 60).application_id == first.application_id  # its lease ran out
    [view] = runners.list_runners(store)
    assert [(i.fate, i.holder) for i in view.items] == [("taken_over", "runner-b")]
    assert view.held_now == 0 and view.taken_over[0].application_id == first.application_id
    store.close()


def test_a_stopped_runner_keeps_its_exit_code_and_the_run_that_stopped_names_the_system(tmp_path, clock):
    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    key = runners.register(store, "runner-a", "run", lease_seconds=60)
    runners.run_ended(store, key, 3, "5 system errors in a row on fk (limit 5): last SYSTEM_UNAVAILABLE")
    store.record_outcome(ItemOutcome(application_id="ANS-2026-000001", outcome="DONE", runner="runner-a"))
    store.record_outcome(ItemOutcome(application_id="ANS-2026-000002", outcome="APPLICATION", runner="runner-a"))
    runners.stopped(store, key, 3)
    [view] = runners.list_runners(store, day_start=START - 3600)
    assert (view.status, view.exit_code, view.last_run_code, view.last_run_system) == ("stopped", 3, 3, "fk")
    assert view.finished_today == 1  # a system error is not finished: the queue tries it again
    clock.advance(runners.STOPPED_SHOWN_SECONDS + 1)
    assert runners.list_runners(store) == []
    store.close()


class Recorded:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def record(self, system: str, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        self.events.append((system, outcome))


@pytest.mark.parametrize(("error", "expected"), [
    (TransientError("TIMEOUT", "fk: x timed out"), "timeout"),
    (TransientError("SYSTEM_UNAVAILABLE", "fk: answered HTTP 503"), "http_error"),
    (ApplicationError("LOGIN_FAILED", "fk: login was refused"), "login_failed"),
    (ApplicationError("PAGE_CHANGED", "fk: no table"), "page_changed"),
    (BusinessError("FRAME_MISSING", "no frame"), None),
    (asyncio.CancelledError(), None),
])
def test_each_failure_has_its_class(error, expected):
    assert outcome_class(error) == expected


def test_a_page_object_reports_each_try_with_its_class():
    recorded = Recorded()
    page = PortalPage(None, "http://127.0.0.1:1", Credentials(username="u", password="p"),  # noqa: S106
                      health=recorded)
    page.system = "fk"

    async def tries() -> None:
        async with page.observed():
            pass
        with pytest.raises(TransientError):
            async with page.observed():
                raise TransientError("TIMEOUT", "fk: timed out")
        with pytest.raises(BusinessError):
            async with page.observed():
                raise BusinessError("X", "bad data is not the portal's failure")

    asyncio.run(tries())
    assert recorded.events == [("fk", "ok"), ("fk", "timeout")]


def test_the_recorder_writes_per_minute_in_one_transaction_and_recorders_add_up(tmp_path, clock):
    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    recorders = [PortalHealth(clock=clock), PortalHealth(clock=clock)]
    assert recorders[0].flush() == 0  # not attached: nothing written, nothing lost
    for recorder in recorders:
        recorder.attach(store)
        for _ in range(20):
            recorder.record("fk", "ok", 0.2)
        recorder.record("fk", "http_error", 0.01)
        recorder.record("csn", "ok", 3.0)
    recorders[0].record("pm", "ok", 0.5)
    assert [r.flush() for r in recorders] == [4, 3]  # rows (system, minute, class), in one transaction each
    assert [r.flushes for r in recorders] == [1, 1]
    rows = {(r.system, r.outcome): r for r in minutes_since(store, 0)}
    assert rows[("fk", "ok")].requests == 40 and rows[("fk", "http_error")].requests == 2
    assert rows[("fk", "ok")].buckets[2] == 40  # 0.2 s: the (0.1, 0.25] bucket
    fk, csn, pm = system_health(store, ("fk", "csn", "pm"), now=clock())
    assert (fk.status, fk.requests_hour, fk.errors_hour) == ("ok", 42, 2)
    assert 0.1 < fk.median_seconds_hour <= 0.25
    assert (csn.status, csn.requests_recent) == ("ok", 2)
    assert pm.status == "ok"  # one request, no error: it answers
    [af] = system_health(store, ("af",), now=clock())
    assert af.status == "unknown"  # no traffic: nothing to tell
    for recorder in recorders:
        recorder.close()
    store.close()


def test_a_system_fails_from_its_recent_minutes_says_since_when_and_is_back_after_three_successes(
        queue_url, clock):
    store = open_queue(queue_url, clock=clock)
    recorder = PortalHealth(clock=clock)
    recorder.attach(store)
    for _ in range(5):
        recorder.record("fk", "ok", 0.1)
    clock.advance(60)
    down_from = clock() // 60 * 60
    for minute in range(3):
        for _ in range(4):
            recorder.record("fk", "http_error", 0.01)
        recorder.flush()
        if minute < 2:
            clock.advance(60)
    [fk] = system_health(store, ("fk",), now=clock(), window_minutes=1, min_requests=3)
    assert (fk.status, fk.failing_since, fk.ok_streak) == ("failing", down_from, 0)
    clock.advance(3 * 60)  # nothing asked since: the last thing seen was a failure
    [fk] = system_health(store, ("fk",), now=clock(), window_minutes=1, min_requests=3)
    assert fk.status == "unknown"
    other = PortalHealth(clock=clock)  # another runner: its two successes and this one's one add up
    other.attach(store)
    for _ in range(4):
        recorder.record("fk", "http_error", 0.01)
    recorder.record("fk", "ok", 0.1)
    recorder.flush()
    [fk] = system_health(store, ("fk",), now=clock(), window_minutes=1, min_requests=3)
    assert (fk.status, fk.ok_streak) == ("failing", 1)
    other.record("fk", "ok", 0.1)
    other.record("fk", "ok", 0.1)
    other.flush()
    [fk] = system_health(store, ("fk",), now=clock(), window_minutes=1, min_requests=3)
    assert (fk.status, fk.ok_streak, fk.errors_recent) == ("ok", 3, 4)  # back, though its errors are still recent
    for each in (recorder, other):
        each.close()
    store.close()


def test_quantiles_of_the_buckets_interpolate_like_prometheus():
    assert quantile_of([0] * 10, 0.5) == 0.0
    assert quantile_of([0, 0, 10, 0, 0, 0, 0, 0, 0, 0], 0.5) == pytest.approx(0.175)
    assert quantile_of([0] * 9 + [4], 0.5) == 30.0


def test_minutes_older_than_the_retention_are_deleted_when_a_run_attaches(tmp_path, clock):
    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    old = PortalHealth(clock=clock)
    old.attach(store)
    old.record("fk", "ok", 0.1)
    old.close()
    clock.advance(29 * 86400)
    recent = PortalHealth(clock=clock)
    recent.attach(store)
    recent.record("fk", "ok", 0.1)
    recent.close()
    assert len(minutes_since(store, 0)) == 2
    clock.advance(2 * 86400)  # the first minute is 31 days old now
    PortalHealth(clock=clock).attach(store)
    assert [row.minute for row in minutes_since(store, 0)] == [minute_of(START + 29 * 86400)]
    store.close()
