"""`/metrics`: the farm in Prometheus' text format (prometheus-client), read from the queue database
at each scrape, so every dashboard instance serves the same figures and nothing is kept in memory.

A collector of our own over the store, in a registry of the app's own (no process-global state):

- `bistand_queue_items{state}` and `bistand_queue_oldest_pending_seconds`;
- `bistand_items_finished_total{outcome}` and `bistand_application_seconds` (a histogram of the
  seconds per finished application, DONE and BUSINESS);
- `bistand_runners{status}` (alive, silent, stopped in the last day);
- `bistand_portal_requests_total{system,outcome}`, `bistand_portal_request_seconds{system}` (a
  histogram), `bistand_portal_error_ratio{system}` (the alert's window), `bistand_portal_failing{system}`;
- `bistand_alerts_open{rule}`.

No label holds personal data (states, outcomes, system keys, rule names). Access: a bearer token
(`BISTAND_METRICS_TOKEN`); without one configured /metrics answers 404 (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from bistand.monitoring.health import HEALTH_BUCKETS, OUTCOMES, system_health, totals
from bistand.monitoring.runners import counts as runner_counts
from bistand.monitoring.runners import list_runners
from bistand.queue.store import QueueStore
from bistand.settings import SYSTEMS, AlertSettings

APPLICATION_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class FarmCollector(Collector):
    def __init__(self, store: QueueStore, alerts: AlertSettings, systems: tuple[str, ...] = SYSTEMS) -> None:
        self.store = store
        self.alerts = alerts
        self.systems = systems

    def collect(self) -> Iterator[Metric]:
        store = self.store
        items = GaugeMetricFamily("bistand_queue_items", "Work items per state", labels=["state"])
        for state, count in store.counts().items():
            items.add_metric([state], count)
        yield items
        buckets_sql = ", ".join(f"SUM(CASE WHEN seconds <= {b} THEN 1 ELSE 0 END)" for b in APPLICATION_BUCKETS)
        with store.transaction() as execute:
            now = store.now(execute)
            oldest = execute("SELECT MIN(created_at) FROM work_items WHERE state = 'pending'").fetchone()[0]
            finished = dict(execute("SELECT outcome, COUNT(*) FROM item_outcomes GROUP BY outcome").fetchall())
            row = execute(f"SELECT COUNT(*), COALESCE(SUM(seconds), 0), {buckets_sql} FROM item_outcomes "  # noqa: S608
                          "WHERE outcome IN ('DONE', 'BUSINESS')").fetchone()
            open_alerts = dict(execute("SELECT rule, COUNT(*) FROM incidents WHERE resolved_at IS NULL "
                                       "GROUP BY rule").fetchall())
        yield GaugeMetricFamily("bistand_queue_oldest_pending_seconds", "Age of the oldest pending work item "
                                "(0 when none is pending)", value=max(0.0, now - oldest) if oldest else 0.0)
        outcomes = CounterMetricFamily("bistand_items_finished", "Work finished per outcome (a retried item "
                                       "counts each time)", labels=["outcome"])
        for outcome in ("DONE", "BUSINESS", "APPLICATION", "PARKED"):
            outcomes.add_metric([outcome], finished.get(outcome, 0))
        yield outcomes
        total, seconds, *cumulative = row
        histogram = HistogramMetricFamily("bistand_application_seconds", "Seconds per finished application")
        points = [(str(b), int(c or 0)) for b, c in zip(APPLICATION_BUCKETS, cumulative, strict=True)]
        histogram.add_metric([], [*points, ("+Inf", int(total))], sum_value=float(seconds or 0))
        yield histogram
        runners = GaugeMetricFamily("bistand_runners", "Runners by status (stopped: in the last day)",
                                    labels=["status"])
        for status, count in runner_counts(list_runners(store, now=now)).items():
            runners.add_metric([status], count)
        yield runners
        rule = self.alerts.rules.system_down
        healths = system_health(store, self.systems, now, rule.window_minutes, rule.error_rate, rule.min_requests)
        kept = totals(store)
        requests = CounterMetricFamily("bistand_portal_requests", "Requests to each system by outcome class",
                                       labels=["system", "outcome"])
        latency = HistogramMetricFamily("bistand_portal_request_seconds", "Seconds per request to each system",
                                        labels=["system"])
        ratio = GaugeMetricFamily("bistand_portal_error_ratio", f"Share of failed requests over the last "
                                  f"{rule.window_minutes:g} minutes", labels=["system"])
        failing = GaugeMetricFamily("bistand_portal_failing", "1 when the system is failing now (as the "
                                    "system_down alert judges it)", labels=["system"])
        for health in healths:
            mine = [row for row in kept if row.system == health.system]
            for outcome in OUTCOMES:
                requests.add_metric([health.system, outcome],
                                    sum(row.requests for row in mine if row.outcome == outcome))
            counts = [sum(column) for column in zip(*(row.buckets for row in mine), strict=True)] \
                or [0] * (len(HEALTH_BUCKETS) + 1)
            running, points = 0, []
            for bound, count in zip(HEALTH_BUCKETS, counts, strict=False):
                running += count
                points.append((str(bound), running))
            points.append(("+Inf", sum(counts)))
            latency.add_metric([health.system], points, sum_value=sum(row.seconds_total for row in mine))
            ratio.add_metric([health.system], health.error_rate_recent)
            failing.add_metric([health.system], 1 if health.status == "failing" else 0)
        yield from (requests, latency, ratio, failing)
        alerts = GaugeMetricFamily("bistand_alerts_open", "Open incidents per alert rule", labels=["rule"])
        for name in type(self.alerts.rules).model_fields:
            alerts.add_metric([name], open_alerts.get(name, 0))
        yield alerts


def registry_for(store: QueueStore, alerts: AlertSettings) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FarmCollector(store, alerts))
    return registry
