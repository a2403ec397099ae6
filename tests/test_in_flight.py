"""How many applications a runner keeps moving (issue 10 part 6): the run control's arithmetic
over the queue adapter's items in hand and the context's running steps (no browser)."""

from __future__ import annotations

import concurrent.futures
from collections import deque

import pytest

from bistand.bot.context import ItemWork, RunContext
from bistand.bot.keywords.run_control import IN_HAND_PER_FLIGHT, RunControlKeywords
from bistand.bot.prepare import InFlight
from bistand.settings import load


class Adapter:
    """The queue adapter's ahead interface over a list of due application ids."""

    def __init__(self, due: int) -> None:
        self.due = deque(f"ANS-2026-{n:06d}" for n in range(2, due + 2))
        self.ahead: deque[str] = deque()

    def reserve_ahead(self, count: int):
        taken = [self.due.popleft() for _ in range(min(count, len(self.due)))]
        self.ahead.extend(taken)
        return [(i, {"application_id": i, "case_number": "EB-1", "period": "2026-12"}) for i in taken]


class Flight(InFlight):
    """Applications taken ahead get a future the test settles by hand (no browser)."""

    def start_ahead(self, work: ItemWork) -> None:
        self.ctx.items[work.application_id] = work
        work.ahead = concurrent.futures.Future()


@pytest.fixture
def control():
    ctx = RunContext(load(environ={"BISTAND_IN_FLIGHT": "3"}))
    ctx.current_id = "ANS-2026-000001"
    run_control = RunControlKeywords(ctx, Flight(ctx), work_items=None)
    run_control.items_started = 1
    return run_control


def test_in_flight_counts_the_suites_item_and_those_still_running_ahead(control):
    adapter = Adapter(due=20)
    control._take_ahead(adapter, 0)
    assert list(adapter.ahead) == ["ANS-2026-000002", "ANS-2026-000003"]  # 3 in flight with the suite's
    control._take_ahead(adapter, 0)
    assert len(adapter.ahead) == 2  # nothing finished: nothing more taken
    control.ctx.items["ANS-2026-000002"].ahead.set_result(None)
    control._take_ahead(adapter, 0)  # one finished while the suite waits: the next one starts
    assert list(adapter.ahead)[-1] == "ANS-2026-000004" and control.flight.in_flight() == 3


def test_items_waiting_in_hand_are_capped_and_the_items_limit_holds(control):
    adapter = Adapter(due=50)
    for _ in range(20):  # every application ahead finishes at once, again and again
        control._take_ahead(adapter, 0)
        for work in control.ctx.items.values():
            if not work.ahead.done():
                work.ahead.set_result(None)
    assert len(adapter.ahead) == IN_HAND_PER_FLIGHT * 3
    limited = Adapter(due=50)
    control.ctx.items.clear()
    control._take_ahead(limited, 2)  # --items 2: the suite's and one more
    assert list(limited.ahead) == ["ANS-2026-000002"]


def test_one_at_a_time_takes_nothing_ahead():
    ctx = RunContext(load(environ={"BISTAND_IN_FLIGHT": "1"}))
    run_control = RunControlKeywords(ctx, Flight(ctx), work_items=None)
    adapter = Adapter(due=5)
    run_control._take_ahead(adapter, 0)
    assert not adapter.ahead
