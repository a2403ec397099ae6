"""What the dashboard shows, computed from the queue's store: pure functions over its rows.

The counts per state are `QueueStore.counts()`, the call `queue status` makes, so the two never
disagree. Every other figure is drawn from the recorded outcomes (`item_outcomes`): per hour
over one day all work finished that day (a retried item counts each time it was worked on);
the distribution of seconds, the proposals, the findings and who decides from each item's
latest outcome, so they add up to the state counts.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from datetime import date, datetime, time, timedelta

from matplotlib.ticker import MaxNLocator
from pydantic import BaseModel

from bistand.core.models import Proposal
from bistand.core.personnummer import mask_personnummer_in_text
from bistand.monitoring.clock import TIMEZONE
from bistand.queue.store import STATES, ItemOutcome, OperatorAction, QueueItem, QueueStore
from bistand.report.labels import FINDING_TITLES, PROPOSAL_LABELS

STATE_LABELS = {"pending": "Väntar", "in_progress": "Pågår", "done": "Klara", "failed_business": "Affärsfel",
                "parked": "Behöver åtgärd", "skipped": "Hoppade över"}
OUTCOME_LABELS = {"DONE": "Klar", "BUSINESS": "Affärsfel", "APPLICATION": "Systemfel", "PARKED": "Behöver åtgärd"}
HOURLY_SERIES = ("Klar", "Affärsfel", "Systemfel")
DECIDED_LABELS = {"robot": "Beslutat av roboten", "caseworker": "Till handläggare", "": "Okänt"}
_AMOUNT = re.compile(r"\d[\d\s\u00a0.,]*\s*(?:kr|kronor|SEK)\b", re.IGNORECASE)


class Bar(BaseModel):
    label: str
    value: int


class HourlyWork(BaseModel):
    """Work finished per hour of one day (local time), one series per kind of outcome."""

    day: date
    series: dict[str, list[int]]  # label -> 24 counts

    @property
    def total(self) -> int:
        return sum(sum(values) for values in self.series.values())

    @property
    def rows(self) -> list[tuple[int, list[int]]]:
        """(hour, count per series) for the hours with any work."""
        per_hour = [(hour, [values[hour] for values in self.series.values()]) for hour in range(24)]
        return [(hour, counts) for hour, counts in per_hour if any(counts)]


class SecondsDistribution(BaseModel):
    """Seconds per finished application: histogram bins [edges[i], edges[i+1]) and key figures."""

    edges: list[float]
    counts: list[int]
    median: float = 0.0
    p95: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts)


class ListedItem(BaseModel):
    """A parked or failed item as the page lists it: codes and a masked message only."""

    application_id: str
    state: str
    code: str
    message: str
    failures: int
    updated_at: float
    run_dir: str = ""


class DashboardStats(BaseModel):
    counts: dict[str, int]
    hourly: HourlyWork
    seconds: SecondsDistribution
    proposals: list[Bar]
    findings: list[Bar]
    decided: list[Bar]
    needs_action: list[ListedItem]
    recent: list[ItemOutcome]
    actions: list[OperatorAction]


def display_message(message: str) -> str:
    """An error message fit for the page: personnummer and amounts masked (defence in depth; the
    bot's messages carry neither)."""
    return _AMOUNT.sub("… kr", mask_personnummer_in_text(message or ""))[:300]


def local_day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, TIMEZONE).date()


def day_bounds(day: date) -> tuple[float, float]:
    """[midnight, next midnight) of a local day in Unix seconds (23 or 25 hours at a DST change)."""
    start = datetime.combine(day, time(0), TIMEZONE)
    end = datetime.combine(day + timedelta(days=1), time(0), TIMEZONE)
    return start.timestamp(), end.timestamp()


def hourly_work(day: date, outcomes: list[ItemOutcome]) -> HourlyWork:
    series = {label: [0] * 24 for label in HOURLY_SERIES}
    for outcome in outcomes:
        finished = datetime.fromtimestamp(outcome.finished_at, TIMEZONE)
        if finished.date() != day:
            continue
        label = {"DONE": "Klar", "BUSINESS": "Affärsfel"}.get(outcome.outcome, "Systemfel")
        series[label][finished.hour] += 1
    return HourlyWork(day=day, series=series)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, as the run summary computes it."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def seconds_distribution(seconds: list[float], bins: int = 12) -> SecondsDistribution:
    """A histogram over nice bin edges (0, 5, 10, ... or 0, 0.5, 1, ...) from 0 to past the slowest."""
    if not seconds:
        return SecondsDistribution(edges=[0.0, 1.0], counts=[0])
    top = max(seconds)
    edges = [float(e) for e in MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(0, top or 1) if e >= 0]
    if edges[-1] <= top:  # the slowest falls into the last bin, never on its open end
        edges.append(edges[-1] + (edges[1] - edges[0]))
    counts = [0] * (len(edges) - 1)
    for value in seconds:
        index = next(i for i in range(len(counts)) if edges[i] <= value < edges[i + 1])
        counts[index] += 1
    return SecondsDistribution(edges=edges, counts=counts, median=statistics.median(seconds),
                               p95=percentile(seconds, 0.95))


def proposal_bars(latest: list[tuple[str, ItemOutcome | None]]) -> list[Bar]:
    """Proposals of the done items, in the report's words, every proposal shown (even at 0)."""
    found = Counter(o.proposal for state, o in latest if state == "done" and o is not None and o.outcome == "DONE")
    return [Bar(label=PROPOSAL_LABELS[p], value=found.get(p.value, 0)) for p in Proposal]


def finding_bars(latest: list[tuple[str, ItemOutcome | None]]) -> list[Bar]:
    """Findings per code over the done items, most frequent first."""
    found = Counter(code for state, o in latest if state == "done" and o is not None and o.outcome == "DONE"
                    for code in o.findings)
    return [Bar(label=finding_label(code), value=count)
            for code, count in sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))]


def finding_label(code: str) -> str:
    """The finding in Swedish first, its code beside it (as in the caseworker's report)."""
    title = FINDING_TITLES.get(code)
    return f"{title} ({code})" if title else code


def decided_bars(latest: list[tuple[str, ItemOutcome | None]]) -> list[Bar]:
    """Who decides the finished items (done and failed for bad data): the robot, a caseworker,
    or unknown (finished before outcomes were recorded). Adds up to done + failed_business."""
    found: Counter[str] = Counter()
    for state, outcome in latest:
        if state not in ("done", "failed_business"):
            continue
        expected = "DONE" if state == "done" else "BUSINESS"
        who = outcome.decided_by if outcome is not None and outcome.outcome == expected else ""
        found[who] += 1
    return [Bar(label=DECIDED_LABELS[key], value=found.get(key, 0)) for key in ("robot", "caseworker", "")]


def listed(item: QueueItem, latest: dict[str, ItemOutcome]) -> ListedItem:
    outcome = latest.get(item.application_id)
    return ListedItem(application_id=item.application_id, state=item.state, code=item.error_code,
                      message=display_message(item.error_message), failures=item.failures,
                      updated_at=item.updated_at, run_dir=outcome.run_dir if outcome else "")


def dashboard_stats(store: QueueStore, day: date | None = None) -> DashboardStats:
    """Everything the page shows, read from the store in one go."""
    counts = store.counts()
    latest = store.latest_outcomes()
    newest = store.recent_outcomes(20)
    day = day or (local_day(newest[0].finished_at) if newest else datetime.now(TIMEZONE).date())
    start, end = day_bounds(day)
    done_seconds = [o.seconds for state, o in latest if state == "done" and o is not None and o.outcome == "DONE"]
    by_id = {o.application_id: o for _state, o in latest if o is not None}
    needs_action = [listed(item, by_id) for state in ("parked", "failed_business") for item in store.items(state)]
    return DashboardStats(
        counts={state: counts[state] for state in STATES},
        hourly=hourly_work(day, store.outcomes_between(start, end)),
        seconds=seconds_distribution(done_seconds),
        proposals=proposal_bars(latest), findings=finding_bars(latest), decided=decided_bars(latest),
        needs_action=needs_action, recent=newest, actions=store.recent_actions(10),
    )
