"""Portal health: how each system the bot drives answers, per minute, in the queue database.

Every read, login and write of a page object (bistand.pages.base `PortalPage.observed`) reports its
system, outcome class (ok, HTTP error, timeout, login failed, page not understood) and seconds to
a `PortalHealth` the run gives its page objects. It keeps them in memory, summed per (system,
minute, outcome class) with a latency histogram (`HEALTH_BUCKETS`), and writes what it has in one
transaction at the end of each item and at least once a minute: no database write per request,
and no personal data (no URL, no id, no message: a system key, a class, counts and seconds).

Several runners add into the same rows (`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`),
so the figures are the farm's, not one runner's. The dashboard's portal view, /metrics and the
`system_down` alert read them back through `system_health`.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from bistand.pages.base import PortalOutcome
from bistand.queue.store import HEALTH_BUCKETS, QueueStore

LOG = logging.getLogger(__name__)
OUTCOMES: tuple[PortalOutcome, ...] = ("ok", "http_error", "timeout", "login_failed", "page_changed")
OUTCOME_LABELS = {"ok": "Svarade", "http_error": "HTTP-fel eller nås inte", "timeout": "Tidsgräns",
                  "login_failed": "Inloggningen misslyckades", "page_changed": "Sidan gick inte att tolka"}
_BUCKET_COLUMNS = [f"b{i}" for i in range(len(HEALTH_BUCKETS) + 1)]
RETENTION_DAYS = 30
"""Portal-health minutes are kept this long (the dashboard shows an hour, the alerts minutes; /metrics
counts what is kept, so a counter drops when a month leaves: Prometheus reads that as a reset)."""


def minute_of(timestamp: float) -> float:
    return float(int(timestamp // 60) * 60)


@dataclass
class _Tally:
    requests: int = 0
    seconds_total: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(HEALTH_BUCKETS) + 1))

    def add(self, seconds: float) -> None:
        self.requests += 1
        self.seconds_total += seconds
        self.buckets[bisect.bisect_left(HEALTH_BUCKETS, seconds)] += 1


class PortalHealth:
    """The run's recorder (bistand.pages.base.HealthRecorder): buffers in memory, writes per minute.

    `attach(store)` names where to write and starts a thread that writes at least every
    `flush_seconds`; `flush()` writes now (the run control calls it when an item ends). Recording
    is bookkeeping: a write that fails is logged and its figures kept for the next try."""

    def __init__(self, clock: Callable[[], float] = time.time, flush_seconds: float = 60.0) -> None:
        self._clock = clock
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, float, str], _Tally] = {}
        self._streaks: dict[str, _Streak] = {}
        self._store: QueueStore | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.flushes = 0
        """Transactions written so far (what recording costs: see docs/operations.md)."""

    def record(self, system: str, outcome: PortalOutcome, seconds: float) -> None:
        now = self._clock()
        key = (system, minute_of(now), outcome)
        with self._lock:
            self._tallies.setdefault(key, _Tally()).add(max(0.0, seconds))
            self._streaks.setdefault(system, _Streak()).add(outcome == "ok", now)

    def attach(self, store: QueueStore | None, retention_days: float = RETENTION_DAYS) -> None:
        """Write to `store` from now on (None: keep nothing, e.g. a replay without the queue); minutes
        older than `retention_days` are deleted then (once per run: one indexed DELETE)."""
        if store is None or self._store is not None:
            return
        self._store = store
        try:
            with store.transaction() as execute:
                execute("DELETE FROM portal_health WHERE minute < ?", (store.now(execute) - retention_days * 86400,))
        except Exception as exc:  # noqa: BLE001 - bookkeeping
            LOG.warning("old portal health not deleted (%s)", type(exc).__name__)
        self._thread = threading.Thread(target=self._flush_every_minute, name="portal-health", daemon=True)
        self._thread.start()

    def _flush_every_minute(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def flush(self) -> int:
        """Writes what is buffered in one transaction; returns the rows written (0: nothing to write)."""
        if self._store is None:
            return 0
        with self._lock:
            tallies, self._tallies = self._tallies, {}
            streaks, self._streaks = self._streaks, {}
        if not tallies:
            return 0
        try:
            write_tallies(self._store, tallies, streaks)
        except Exception as exc:  # noqa: BLE001 - bookkeeping: kept for the next flush, never fails an item
            LOG.warning("portal health not written (%s); kept for the next try", type(exc).__name__)
            with self._lock:
                for system, streak in streaks.items():
                    self._streaks[system] = streak.then(self._streaks.get(system))
                for key, tally in tallies.items():
                    kept = self._tallies.setdefault(key, _Tally())
                    kept.requests += tally.requests
                    kept.seconds_total += tally.seconds_total
                    kept.buckets = [a + b for a, b in zip(kept.buckets, tally.buckets, strict=True)]
            return 0
        self.flushes += 1
        return len(tallies)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()


@dataclass
class _Streak:
    """Since the last flush: whether a request failed, the successes after the last failure, and when."""

    erred: bool = False
    ok_after: int = 0
    last_ok_at: float = 0.0
    last_error_at: float = 0.0

    def add(self, ok: bool, at: float) -> None:
        if ok:
            self.ok_after += 1
            self.last_ok_at = max(self.last_ok_at, at)
        else:
            self.erred, self.ok_after = True, 0
            self.last_error_at = max(self.last_error_at, at)

    def then(self, later: _Streak | None) -> _Streak:
        """This streak followed by `later` (a flush that failed, merged with what came since)."""
        if later is None:
            return self
        if later.erred:
            return later
        return _Streak(self.erred, self.ok_after + later.ok_after, max(self.last_ok_at, later.last_ok_at),
                       self.last_error_at)


def write_tallies(store: QueueStore, tallies: dict[tuple[str, float, str], _Tally],
                  streaks: dict[str, _Streak] | None = None) -> None:
    columns = ", ".join(_BUCKET_COLUMNS)
    marks = ", ".join("?" for _ in _BUCKET_COLUMNS)
    added = ", ".join(f"{c} = portal_health.{c} + excluded.{c}" for c in _BUCKET_COLUMNS)
    sql = (f"INSERT INTO portal_health (system, minute, outcome, requests, seconds_total, {columns}) "  # noqa: S608
           f"VALUES (?, ?, ?, ?, ?, {marks}) ON CONFLICT (system, minute, outcome) DO UPDATE SET "
           f"requests = portal_health.requests + excluded.requests, "
           f"seconds_total = portal_health.seconds_total + excluded.seconds_total, {added}")
    # The successes in a row since the last failure, across runners: a flush with a failure starts
    # the count afresh from what followed it; a flush without one adds to it.
    streak_sql = (
        "INSERT INTO portal_state (system, ok_streak, last_ok_at, last_error_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (system) DO UPDATE SET "
        "ok_streak = CASE WHEN ? THEN excluded.ok_streak ELSE portal_state.ok_streak + excluded.ok_streak END, "
        "last_ok_at = CASE WHEN excluded.last_ok_at > portal_state.last_ok_at THEN excluded.last_ok_at "
        "ELSE portal_state.last_ok_at END, "
        "last_error_at = CASE WHEN excluded.last_error_at > portal_state.last_error_at THEN excluded.last_error_at "
        "ELSE portal_state.last_error_at END")
    with store.transaction() as execute:
        for (system, minute, outcome), tally in sorted(tallies.items()):
            execute(sql, (system, minute, outcome, tally.requests, tally.seconds_total, *tally.buckets))
        for system, streak in sorted((streaks or {}).items()):
            execute(streak_sql, (system, streak.ok_after, streak.last_ok_at, streak.last_error_at, streak.erred))


class MinuteRow(BaseModel):
    system: str
    minute: float
    outcome: str
    requests: int
    seconds_total: float
    buckets: list[int]


def minutes_since(store: QueueStore, since: float) -> list[MinuteRow]:
    columns = ", ".join(_BUCKET_COLUMNS)
    with store.transaction() as execute:
        rows = execute(f"SELECT system, minute, outcome, requests, seconds_total, {columns} FROM portal_health "  # noqa: S608
                       "WHERE minute >= ? ORDER BY system, minute, outcome", (since,)).fetchall()
    return [MinuteRow(system=r[0], minute=r[1], outcome=r[2], requests=r[3], seconds_total=r[4], buckets=list(r[5:]))
            for r in rows]


def quantile_of(buckets: list[int], q: float) -> float:
    """The q-quantile of a bucketed distribution, linear within the bucket (as Prometheus'
    histogram_quantile); the open last bucket reads as its lower bound."""
    total = sum(buckets)
    if not total:
        return 0.0
    rank = q * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            lower = HEALTH_BUCKETS[index - 1] if index else 0.0
            if index >= len(HEALTH_BUCKETS):
                return lower
            upper = HEALTH_BUCKETS[index]
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return HEALTH_BUCKETS[-1]


class SystemHealth(BaseModel):
    """One system as the dashboard, the alerts and /metrics see it."""

    system: str
    status: str
    """`ok`, `failing` (the last minutes with traffic mostly errors), or `unknown` (no traffic)."""
    failing_since: float | None = None
    """The first minute of the failing minutes that run up to now (None when not failing)."""
    requests_hour: int = 0
    errors_hour: int = 0
    median_seconds_hour: float = 0.0
    requests_recent: int = 0
    errors_recent: int = 0
    last_seen_minute: float | None = None
    ok_streak: int = 0
    """Successful requests in a row since the last failure (all runners together)."""
    per_outcome_hour: dict[str, int] = {}
    per_outcome_total: dict[str, int] = {}
    buckets_total: list[int] = []
    seconds_total: float = 0.0

    @property
    def error_rate_hour(self) -> float:
        return self.errors_hour / self.requests_hour if self.requests_hour else 0.0

    @property
    def error_rate_recent(self) -> float:
        return self.errors_recent / self.requests_recent if self.requests_recent else 0.0


def system_health(store: QueueStore, systems: tuple[str, ...], now: float | None = None, window_minutes: float = 3,
                  error_rate: float = 0.5, min_requests: int = 2, since: float | None = None,
                  recover_after: int = 3) -> list[SystemHealth]:
    """Each system's state now, its last hour, and since when it fails (the earliest minute of the
    failing run of minutes that reaches now). `since`: how far back the totals reach (default: a day).

    - failing: at least `min_requests` requests in the last `window_minutes` and an error share of
      `error_rate` or more, and not `recover_after` successes in a row since the last failure;
    - ok: it answers (errors below the share, or `recover_after` successes in a row since the last
      failure: back before its errors have left the window);
    - unknown: nothing to go by (no traffic in the window, and the last thing seen was not a run of
      successes), so an alert about it stays as it is."""
    if now is None:
        with store.transaction() as execute:
            now = store.now(execute)
    rows = minutes_since(store, minute_of(now) - 86400 if since is None else since)
    with store.transaction() as execute:
        streaks = dict(execute("SELECT system, ok_streak FROM portal_state").fetchall())
    result = []
    for system in systems:
        mine = [r for r in rows if r.system == system]
        health = SystemHealth(system=system, status="unknown")
        hour_buckets = [0] * (len(HEALTH_BUCKETS) + 1)
        per_minute: dict[float, list[int]] = {}
        for row in mine:
            errors = row.requests if row.outcome != "ok" else 0
            per_minute.setdefault(row.minute, [0, 0])
            per_minute[row.minute][0] += row.requests
            per_minute[row.minute][1] += errors
            health.per_outcome_total[row.outcome] = health.per_outcome_total.get(row.outcome, 0) + row.requests
            health.buckets_total = [a + b for a, b in
                                    zip(health.buckets_total or [0] * len(row.buckets), row.buckets, strict=True)]
            health.seconds_total += row.seconds_total
            if row.minute >= now - 3600:
                health.requests_hour += row.requests
                health.errors_hour += errors
                health.per_outcome_hour[row.outcome] = health.per_outcome_hour.get(row.outcome, 0) + row.requests
                if row.outcome == "ok":
                    hour_buckets = [a + b for a, b in zip(hour_buckets, row.buckets, strict=True)]
            if row.minute >= minute_of(now) - window_minutes * 60:
                health.requests_recent += row.requests
                health.errors_recent += errors
        health.median_seconds_hour = round(quantile_of(hour_buckets, 0.5), 3)
        if per_minute:
            health.last_seen_minute = max(per_minute)
        streak = streaks.get(system, 0)
        health.ok_streak = streak
        if health.requests_recent >= min_requests and health.error_rate_recent >= error_rate \
                and streak < recover_after:
            health.status = "failing"
        elif (health.requests_recent and health.errors_recent == 0) or streak >= recover_after \
                or health.requests_recent >= min_requests:
            health.status = "ok"
        if health.status == "failing":
            since_minute = None
            for minute in sorted(per_minute, reverse=True):
                total, errors = per_minute[minute]
                if errors / total < error_rate:
                    break
                since_minute = minute
            health.failing_since = since_minute
        result.append(health)
    return result



class SystemTotals(BaseModel):
    """Everything kept for one system and outcome class (what /metrics counts)."""

    system: str
    outcome: str
    requests: int
    seconds_total: float
    buckets: list[int]


def totals(store: QueueStore) -> list[SystemTotals]:
    """Summed in the database: one row per system and class, whatever the number of minutes kept."""
    sums = ", ".join(f"SUM({c})" for c in _BUCKET_COLUMNS)
    with store.transaction() as execute:
        rows = execute(f"SELECT system, outcome, SUM(requests), SUM(seconds_total), {sums} FROM portal_health "  # noqa: S608
                       "GROUP BY system, outcome ORDER BY system, outcome").fetchall()
    return [SystemTotals(system=r[0], outcome=r[1], requests=int(r[2]), seconds_total=float(r[3]),
                         buckets=[int(v) for v in r[4:]]) for r in rows]
