"""Faults a simulated system can inject, for tests of the bot's retries (never in the demo).

Enabled only when the simulators start with `--faults`; then each system answers
`/_sim/faults` from loopback only (the simulators may listen on other interfaces, the fault
switch never does):

- `POST /_sim/faults` with a JSON body (`FaultRequest`) sets the rule for one path prefix of this
  system (the same `path` again replaces it): fail the next `count` requests, fail a share
  (`failure_rate`, 0..1) of them, fail all of them during an outage window (`outage_seconds` from
  now or, with `outage_on_first_request`, from the rule's first request; or `outage_from`/`outage_to`),
  and delay every request by `delay_ms` plus up to `jitter_ms`; or `hold` its requests (a write
  the system received but has not saved yet) until `DELETE /_sim/faults` or
  `POST /_sim/faults/release` lets them through (at most `hold_max_seconds`). `method` limits a
  rule to one HTTP method (a form's POST, not the GET that shows it).
  Failures answer `status` (default 503). The random draws come from `seed`, so a test sees the
  same sequence every time. A bad body answers 400 with the reason.
- `GET /_sim/faults` shows the rules with what they have done so far; `DELETE` clears them.

A request is governed by the rule with the longest matching path prefix; `/_sim/*` never fails.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class FaultRequest(BaseModel):
    """The body of `POST /_sim/faults`."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field("/", pattern=r"^/", description="path prefix the rule applies to")
    status: int = Field(503, ge=400, le=599, description="HTTP status of a failed request")
    count: int = Field(0, ge=0, description="fail the next N requests")
    failure_rate: float = Field(0.0, ge=0, le=1, description="share of requests that fail, 0..1")
    delay_ms: int = Field(0, ge=0, le=120_000, description="added latency per request")
    jitter_ms: int = Field(0, ge=0, le=120_000, description="up to this much more latency, at random")
    outage_seconds: float | None = Field(None, gt=0, le=86_400, description="fail everything from now for N s")
    outage_from: datetime | None = None
    outage_to: datetime | None = None
    outage_on_first_request: bool = Field(
        False, description="the outage_seconds window starts at the rule's first request, not now")
    seed: int = Field(0, description="seed of the random draws (failure rate, jitter)")
    method: str | None = Field(None, pattern=r"^(GET|POST|PUT|PATCH|DELETE|HEAD)$",
                               description="only requests of this HTTP method (default: any)")
    hold: bool = Field(False, description="hold each request until the rules are released or cleared")
    hold_max_seconds: float = Field(120, gt=0, le=600, description="a held request goes on after this long")

    @model_validator(mode="after")
    def _one_outage_and_some_fault(self) -> FaultRequest:
        if self.outage_seconds is not None and (self.outage_from or self.outage_to):
            raise ValueError("give outage_seconds or outage_from/outage_to, not both")
        if self.outage_on_first_request and self.outage_seconds is None:
            raise ValueError("outage_on_first_request needs outage_seconds")
        if (self.outage_from is None) != (self.outage_to is None):
            raise ValueError("outage_from and outage_to go together")
        if self.outage_from and self.outage_to and _epoch(self.outage_to) <= _epoch(self.outage_from):
            raise ValueError("outage_to must be after outage_from")
        if not (self.count or self.failure_rate or self.delay_ms or self.jitter_ms or self.outage_seconds
                or self.outage_from or self.hold):
            raise ValueError("no fault given: set count, failure_rate, delay_ms/jitter_ms, an outage or hold")
        return self


def _epoch(moment: datetime) -> float:
    """A naive datetime is read as UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def reason(exc: ValidationError) -> str:
    """Pydantic's errors as one line: 'failure_rate: Input should be less than or equal to 1'."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


@dataclass
class FaultRule:
    request: FaultRequest
    remaining: int
    outage: tuple[float, float] | None
    random: random.Random
    seen: int = 0
    failed: int = 0
    released: bool = False
    held_now: int = 0

    @classmethod
    def from_request(cls, request: FaultRequest, now: float) -> FaultRule:
        outage = None
        if request.outage_on_first_request:
            outage = None  # set by the first request (`decide`)
        elif request.outage_seconds is not None:
            outage = (now, now + request.outage_seconds)
        elif request.outage_from and request.outage_to:
            outage = (_epoch(request.outage_from), _epoch(request.outage_to))
        return cls(request=request, remaining=request.count, outage=outage, random=random.Random(request.seed))

    def decide(self, now: float) -> tuple[float, int]:
        """(seconds to delay, status to fail with or 0) for one request (a held request's wait is
        `FaultState.apply`'s)."""
        self.seen += 1
        spec = self.request
        if spec.outage_on_first_request and self.outage is None:
            self.outage = (now, now + spec.outage_seconds)
        delay = spec.delay_ms / 1000
        if spec.jitter_ms:
            delay += self.random.uniform(0, spec.jitter_ms) / 1000
        in_outage = self.outage is not None and self.outage[0] <= now < self.outage[1]
        status = 0
        if self.remaining > 0:
            self.remaining -= 1
            status = spec.status
        elif in_outage or (spec.failure_rate and self.random.random() < spec.failure_rate):
            status = spec.status
        if status:
            self.failed += 1
        return delay, status

    def describe(self, now: float) -> dict:
        shown = self.request.model_dump(mode="json", exclude_defaults=True)
        shown["path"] = self.request.path
        shown.update(remaining_count=self.remaining, requests_seen=self.seen, requests_failed=self.failed)
        if self.request.hold:
            shown.update(requests_held=self.held_now, released=self.released)
        if self.outage:
            shown["outage_seconds_left"] = round(max(self.outage[1] - max(now, self.outage[0]), 0), 3)
        return shown


@dataclass
class FaultState:
    """The fault rules of one system, by path prefix."""

    rules: dict[str, FaultRule] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, request: FaultRequest) -> dict:
        with self.lock:
            rule = FaultRule.from_request(request, time.time())
            self.rules[request.path] = rule
            return rule.describe(time.time())

    def clear(self) -> None:
        with self.lock:
            for rule in self.rules.values():
                rule.released = True  # a held request goes on
            self.rules.clear()

    def release(self) -> list[dict]:
        """Lets every held request through (and the later ones of a hold rule); the rules stay."""
        with self.lock:
            for rule in self.rules.values():
                rule.released = True
            now = time.time()
            return [rule.describe(now) for _path, rule in sorted(self.rules.items())]

    def describe(self) -> list[dict]:
        with self.lock:
            now = time.time()
            return [rule.describe(now) for _path, rule in sorted(self.rules.items())]

    def _rule_for(self, path: str, method: str) -> FaultRule | None:
        matching = [p for p, rule in self.rules.items() if path.startswith(p)
                    and rule.request.method in (None, method.upper())]
        return self.rules[max(matching, key=len)] if matching else None

    def decide(self, path: str, method: str = "GET") -> tuple[float, int]:
        if path.startswith("/_sim"):
            return 0.0, 0
        with self.lock:
            rule = self._rule_for(path, method)
            return rule.decide(time.time()) if rule is not None else (0.0, 0)

    async def apply(self, path: str, method: str = "GET") -> int:
        """Wait out the rule's latency or hold; the status to fail with (0: serve normally)."""
        delay, status = self.decide(path, method)
        if delay > 0:
            await asyncio.sleep(delay)  # injected latency: the fault being simulated
        with self.lock:
            rule = None if path.startswith("/_sim") else self._rule_for(path, method)
            hold = rule is not None and rule.request.hold and not rule.released
            if hold:
                rule.held_now += 1
        if hold:
            ends = time.monotonic() + rule.request.hold_max_seconds
            try:
                while not rule.released and time.monotonic() < ends:
                    await asyncio.sleep(0.02)  # a request received, not yet served
            finally:
                with self.lock:
                    rule.held_now -= 1
        return status
