"""A clock the test moves: passed to the store (`open_queue(..., clock=clock)`) in place of the
database's, so lease expiry and retry delays happen when the test says, without waiting."""

from __future__ import annotations


class TestClock:
    __test__ = False  # not a test class

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
