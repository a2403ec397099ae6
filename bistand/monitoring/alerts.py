"""Alerts: configured rules over the queue database, each firing opens one incident, sent once.

Any runner (from its heartbeat thread), the dashboard or `python -m bistand alerts` may run an
`AlertEvaluator`; several may run at once on several hosts. The incident's row is the lock:

- a rule that fires inserts the open incident for its key (`rule:subject`); a unique index over
  the open incidents lets one insert win, and every evaluator then tries to *claim the send*
  with one `UPDATE … WHERE last_sent_at IS NULL OR last_sent_at <= now - repeat`: the database
  lets exactly one evaluator change the row, and only that one sends;
- an open incident whose rule no longer fires is resolved by one `UPDATE … WHERE resolved_at IS
  NULL` and the resolved message claimed the same way (`resolved_sent_at`);
- a send that fails gives its claim back, so the next evaluation (on any host) tries again;
- a rule that cannot tell (a system without traffic in its window) leaves its incident as it is.

An alert holds no personal data: rule, system, counts, codes, times and a link to the dashboard.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel

from bistand.monitoring.clock import TIMEZONE
from bistand.monitoring.health import OUTCOME_LABELS, system_health
from bistand.monitoring.runners import list_runners
from bistand.queue.store import QueueStore
from bistand.settings import SYSTEMS, AlertSettings

LOG = logging.getLogger(__name__)
RULE_TITLES = {
    "system_down": "Ett system svarar inte",
    "items_parked": "Ärenden behöver åtgärd",
    "producer_failed": "Producenten misslyckades",
    "no_runner": "Ingen robot är igång",
    "watcher_silent": "En bevakande robot har tystnat",
    "oldest_pending": "Ärenden väntar för länge",
    "watch_latency": "Bevakningens svarstid är över målet",
}
RULE_PAGES = {"system_down": "/portaler", "no_runner": "/robotar", "watcher_silent": "/robotar",
              "producer_failed": "/robotar"}


class Finding(BaseModel):
    """A rule that fires now, for one subject (a system, a host, or '' for the whole queue)."""

    rule: str
    subject: str = ""
    summary: str
    detail: dict[str, object] = {}

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"


class Verdict(BaseModel):
    """What the rules say now: what fires, and the keys they cannot decide (left as they are)."""

    firing: list[Finding] = []
    undecided: set[str] = set()


class Incident(BaseModel):
    incident_id: str
    alert_key: str
    rule: str
    subject: str
    summary: str
    detail: dict[str, object]
    opened_at: float
    last_seen_at: float
    last_sent_at: float | None = None
    sends: int = 0
    resolved_at: float | None = None
    resolved_sent_at: float | None = None


_INCIDENT_COLUMNS = ("incident_id, alert_key, rule, subject, summary, detail, opened_at, last_seen_at, last_sent_at, "
                     "sends, resolved_at, resolved_sent_at")


def _incident(row: tuple) -> Incident:
    values = dict(zip([c.strip() for c in _INCIDENT_COLUMNS.split(",")], row, strict=True))
    values["detail"] = json.loads(values["detail"] or "{}")
    return Incident.model_validate(values)


class AlertMessage(BaseModel):
    """What is sent: by e-mail as text, to a webhook as this JSON."""

    status: Literal["firing", "resolved"]
    rule: str
    title: str
    subject: str
    summary: str
    detail: dict[str, object]
    incident_id: str
    opened_at: str
    resolved_at: str | None = None
    sent_count: int
    dashboard: str = ""

    def email_subject(self) -> str:
        what = f"{self.title}: {self.subject}" if self.subject else self.title
        return f"[bistand] {'LARM' if self.status == 'firing' else 'ÅTGÄRDAT'}: {what}"

    def email_text(self) -> str:
        lines = [self.summary, ""]
        if self.status == "firing":
            lines.append(f"Öppnat {self.opened_at}" + (f" (påminnelse {self.sent_count - 1})"
                                                       if self.sent_count > 1 else ""))
        else:
            lines.append(f"Öppnat {self.opened_at}, åtgärdat {self.resolved_at}.")
        lines += [f"Regel: {self.rule}", f"Incident: {self.incident_id}"]
        if self.dashboard:
            lines.append(f"Översikt: {self.dashboard}")
        lines += ["", "Larmet innehåller inga personuppgifter: koder, antal, system och länkar."]
        return "\n".join(lines)


class Notifier(Protocol):
    def send(self, message: AlertMessage) -> None:
        """Delivers the message or raises."""


def local(timestamp: float | None, timezone) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone).strftime("%Y-%m-%d %H:%M:%S")


class AlertEvaluator:
    """Evaluates the configured rules and sends what the incidents call for (see the module doc).

    `clock` replaces the database's clock (tests); `systems` are the systems the bot drives."""

    def __init__(self, store: QueueStore, settings: AlertSettings, notifier: Notifier,
                 systems: tuple[str, ...] = SYSTEMS, timezone=None, clock: Callable[[], float] | None = None,
                 name: str = "") -> None:
        self.store = store
        self.settings = settings
        self.notifier = notifier
        self.systems = systems
        self.timezone = timezone or TIMEZONE
        self._clock = clock
        self.name = name
        self._last_run = float("-inf")

    def now(self) -> float:
        if self._clock is not None:
            return self._clock()
        with self.store.transaction() as execute:
            return self.store.now(execute)

    def maybe_evaluate(self) -> list[AlertMessage]:
        """`evaluate()` when `evaluate_every_seconds` have passed since the last time (heartbeats)."""
        if time.monotonic() - self._last_run < self.settings.evaluate_every_seconds:
            return []
        self._last_run = time.monotonic()
        return self.evaluate()

    # -- the rules -------------------------------------------------------------------------
    def verdict(self, now: float) -> Verdict:
        rules = self.settings.rules
        verdict = Verdict()
        checks = [
            (rules.system_down.enabled, self._system_down),
            (rules.items_parked.enabled, self._items_parked),
            (rules.producer_failed.enabled, self._producer_failed),
            (rules.no_runner.enabled, self._no_runner),
            (rules.watcher_silent.enabled, self._watcher_silent),
            (rules.oldest_pending.enabled, self._oldest_pending),
            (rules.watch_latency.enabled, self._watch_latency),
        ]
        for enabled, check in checks:
            if enabled:
                check(now, verdict)
        return verdict

    def _system_down(self, now: float, verdict: Verdict) -> None:
        rule = self.settings.rules.system_down
        with self.store.transaction() as execute:
            stopped = dict(execute(
                "SELECT last_run_system, MAX(last_run_at) FROM runners WHERE last_run_code = 3 AND last_run_at >= ? "
                "AND last_run_system <> '' GROUP BY last_run_system",
                (now - rule.stopped_run_minutes * 60,)).fetchall())
        for health in system_health(self.store, self.systems, now, rule.window_minutes, rule.error_rate,
                                    rule.min_requests):
            system = health.system
            stopped_run = system in stopped and (health.last_seen_minute is None
                                                 or health.status != "ok")
            if health.status == "failing" or stopped_run:
                failed = {OUTCOME_LABELS[o]: n for o, n in sorted(health.per_outcome_hour.items()) if o != "ok" and n}
                parts = [f"{system} svarar inte"]
                if health.requests_recent:
                    window = "den senaste minuten" if rule.window_minutes == 1 else \
                        f"de senaste {rule.window_minutes:g} minuterna"
                    parts.append(f"{health.errors_recent} av {health.requests_recent} förfrågningar misslyckades "
                                 f"{window}")
                if stopped_run:
                    parts.append("en körning stoppades (kod 3) av fel i rad på systemet")
                summary = ": ".join(parts[:2]) + ("; " + parts[2] if len(parts) > 2 else "")
                if health.failing_since:
                    summary += f"; fel sedan {local(health.failing_since, self.timezone)[11:16]}"
                verdict.firing.append(Finding(rule="system_down", subject=system, summary=summary + ".", detail={
                    "system": system, "requests": health.requests_recent, "errors": health.errors_recent,
                    "errors_by_class_last_hour": failed, "failing_since": local(health.failing_since, self.timezone),
                    "run_stopped": stopped_run}))
            elif health.status == "unknown":
                verdict.undecided.add(f"system_down:{system}")

    def _items_parked(self, now: float, verdict: Verdict) -> None:
        with self.store.transaction() as execute:
            codes = Counter(dict(execute("SELECT error_code, COUNT(*) FROM work_items WHERE state = 'parked' "
                                         "GROUP BY error_code").fetchall()))
        total = sum(codes.values())
        if total >= self.settings.rules.items_parked.threshold:
            listed = ", ".join(f"{code or 'okänd kod'} {count}" for code, count in codes.most_common())
            verdict.firing.append(Finding(
                rule="items_parked", summary=f"{total} ärenden behöver åtgärd (koder: {listed}).",
                detail={"parked": total, "codes": dict(codes)}))

    def _producer_failed(self, now: float, verdict: Verdict) -> None:
        window = self.settings.rules.producer_failed.window_minutes * 60
        with self.store.transaction() as execute:
            row = execute("SELECT exit_code, stopped_at, runner_id FROM runners WHERE mode IN ('run', 'produce') "
                          "AND stopped_at >= ? ORDER BY stopped_at DESC LIMIT 1", (now - window,)).fetchone()
        if row is not None and row[0] == 5:
            verdict.firing.append(Finding(
                rule="producer_failed",
                summary=f"Producenten kunde inte köa inkorgen (kod 5) {local(row[1], self.timezone)[11:16]}: "
                        "e-tjänsten nås inte eller inloggningen nekas; inga nya ärenden köas.",
                detail={"exit_code": 5, "at": local(row[1], self.timezone), "runner": row[2]}))

    def _in_hours(self, now: float, rule) -> bool:
        moment = datetime.fromtimestamp(now, self.timezone)
        return rule.covers(moment.hour, moment.weekday())

    def _no_runner(self, now: float, verdict: Verdict) -> None:
        rule = self.settings.rules.no_runner
        if not self._in_hours(now, rule):
            return
        runners = list_runners(self.store, now=now)
        alive = sum(1 for r in runners if r.status == "alive")
        if alive < rule.min_alive:
            silent = sum(1 for r in runners if r.status == "silent")
            verdict.firing.append(Finding(
                rule="no_runner", summary=f"{alive} robotar igång (minst {rule.min_alive} under {rule.hours}); "
                                          f"{silent} tysta.", detail={"alive": alive, "silent": silent}))

    def _watcher_silent(self, now: float, verdict: Verdict) -> None:
        rule = self.settings.rules.watcher_silent
        if not self._in_hours(now, rule):
            return
        latest: dict[str, object] = {}
        for runner in sorted(list_runners(self.store, now=now), key=lambda r: r.started_at):
            if runner.mode == "watch":
                latest[runner.host] = runner  # the host's newest watcher
        for host, runner in sorted(latest.items()):
            if runner.status == "silent":
                verdict.firing.append(Finding(
                    rule="watcher_silent", subject=host,
                    summary=f"Bevakningen på {host} ({runner.runner_id}) har inte hörts av sedan "
                            f"{local(runner.last_seen_at, self.timezone)[11:16]}; dess ärenden tas över när "
                            "lånet löper ut.",
                    detail={"host": host, "runner": runner.runner_id, "items_held": len(runner.held)}))

    def _oldest_pending(self, now: float, verdict: Verdict) -> None:
        rule = self.settings.rules.oldest_pending
        with self.store.transaction() as execute:
            oldest, count = execute(
                "SELECT MIN(created_at), COUNT(*) FROM work_items WHERE state = 'pending'").fetchone()
        if oldest is not None and now - oldest > rule.minutes * 60:
            minutes = int((now - oldest) // 60)
            verdict.firing.append(Finding(
                rule="oldest_pending", summary=f"Det äldsta väntande ärendet har väntat {minutes} minuter "
                                               f"(gräns {rule.minutes:g}); {count} väntar.",
                detail={"oldest_minutes": minutes, "pending": count}))

    def _watch_latency(self, now: float, verdict: Verdict) -> None:
        rule = self.settings.rules.watch_latency
        with self.store.transaction() as execute:
            latencies = [row[0] for row in execute(
                "SELECT o.finished_at - w.created_at FROM item_outcomes o JOIN work_items w "
                "ON w.application_id = o.application_id WHERE o.finished_at >= ? AND o.outcome IN ('DONE', 'BUSINESS') "
                "AND o.runner IN (SELECT runner_id FROM runners WHERE mode = 'watch')",
                (now - rule.window_minutes * 60,)).fetchall()]
        if len(latencies) < rule.min_items:
            verdict.undecided.add("watch_latency:")
            return
        median = statistics.median(latencies)
        if median > rule.target_seconds:
            verdict.firing.append(Finding(
                rule="watch_latency",
                summary=f"Median {median:.0f} s från köad till klar för {len(latencies)} ärenden "
                        f"de senaste {rule.window_minutes:g} minuterna (mål {rule.target_seconds:g} s).",
                detail={"median_seconds": round(median, 1), "items": len(latencies)}))

    # -- incidents ---------------------------------------------------------------------------
    def open_incidents(self) -> list[Incident]:
        with self.store.transaction() as execute:
            rows = execute(f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE resolved_at IS NULL "  # noqa: S608
                           "ORDER BY opened_at").fetchall()
        return [_incident(r) for r in rows]

    def evaluate(self) -> list[AlertMessage]:
        """Runs the rules once and sends what this evaluator claimed; returns what it sent."""
        now = self.now()
        verdict = self.verdict(now)
        sent: list[AlertMessage] = []
        firing = {finding.key: finding for finding in verdict.firing}
        for finding in firing.values():
            message = self._fire(finding, now)
            if message is not None:
                sent.append(message)
        for incident in self.open_incidents():
            if incident.alert_key not in firing and incident.alert_key not in verdict.undecided:
                self._resolve(incident, now)
        sent += self._send_resolved(now)
        return sent

    def _fire(self, finding: Finding, now: float) -> AlertMessage | None:
        repeat = self.settings.repeat_minutes * 60
        detail = json.dumps(finding.detail, ensure_ascii=False, sort_keys=True)
        with self.store.transaction() as execute:
            execute(f"INSERT INTO incidents ({_INCIDENT_COLUMNS}) "  # noqa: S608
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL, NULL) ON CONFLICT DO NOTHING",
                    (uuid.uuid4().hex, finding.key, finding.rule, finding.subject, finding.summary[:500], detail,
                     now, now))
            row = execute(f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE alert_key = ? AND resolved_at IS NULL",  # noqa: S608
                          (finding.key,)).fetchone()
            incident = _incident(row)
            claimed = execute(
                "UPDATE incidents SET last_sent_at = ?, sends = sends + 1, summary = ?, detail = ?, last_seen_at = ? "
                "WHERE incident_id = ? AND resolved_at IS NULL AND (last_sent_at IS NULL OR last_sent_at <= ?)",
                (now, finding.summary[:500], detail, now, incident.incident_id, now - repeat)).rowcount == 1
            if not claimed:
                execute("UPDATE incidents SET summary = ?, detail = ?, last_seen_at = ? WHERE incident_id = ?",
                        (finding.summary[:500], detail, now, incident.incident_id))
        if not claimed:
            return None
        message = self._message("firing", incident.model_copy(update={
            "summary": finding.summary, "detail": finding.detail, "sends": incident.sends + 1}))
        try:
            self.notifier.send(message)
        except Exception as exc:  # noqa: BLE001 - give the claim back: the next evaluation tries again
            LOG.warning("alert %s not sent (%s); tried again at the next evaluation", finding.key, type(exc).__name__)
            with self.store.transaction() as execute:
                execute("UPDATE incidents SET last_sent_at = ?, sends = sends - 1 WHERE incident_id = ? "
                        "AND last_sent_at = ?", (incident.last_sent_at, incident.incident_id, now))
            return None
        LOG.info("alert sent: %s (incident %s, send %d)", finding.key, incident.incident_id, message.sent_count)
        return message

    def _resolve(self, incident: Incident, now: float) -> None:
        with self.store.transaction() as execute:
            execute("UPDATE incidents SET resolved_at = ? WHERE incident_id = ? AND resolved_at IS NULL",
                    (now, incident.incident_id))

    def _send_resolved(self, now: float) -> list[AlertMessage]:
        """Resolved messages for incidents that were sent and not yet told resolved (claimed one by one)."""
        sent = []
        with self.store.transaction() as execute:
            rows = execute(f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE resolved_at IS NOT NULL "  # noqa: S608
                           "AND resolved_sent_at IS NULL AND sends > 0 AND resolved_at >= ?", (now - 86400,)).fetchall()
        for incident in map(_incident, rows):
            with self.store.transaction() as execute:
                claimed = execute("UPDATE incidents SET resolved_sent_at = ? WHERE incident_id = ? "
                                  "AND resolved_sent_at IS NULL", (now, incident.incident_id)).rowcount == 1
            if not claimed:
                continue
            message = self._message("resolved", incident)
            try:
                self.notifier.send(message)
            except Exception as exc:  # noqa: BLE001 - give the claim back
                LOG.warning("resolved message for %s not sent (%s)", incident.alert_key, type(exc).__name__)
                with self.store.transaction() as execute:
                    execute("UPDATE incidents SET resolved_sent_at = NULL WHERE incident_id = ? "
                            "AND resolved_sent_at = ?", (incident.incident_id, now))
                continue
            LOG.info("resolved sent: %s (incident %s)", incident.alert_key, incident.incident_id)
            sent.append(message)
        return sent

    def _message(self, status: Literal["firing", "resolved"], incident: Incident) -> AlertMessage:
        base = self.settings.dashboard_url.rstrip("/")
        return AlertMessage(
            status=status, rule=incident.rule, title=RULE_TITLES.get(incident.rule, incident.rule),
            subject=incident.subject, summary=incident.summary, detail=incident.detail,
            incident_id=incident.incident_id, opened_at=local(incident.opened_at, self.timezone) or "",
            resolved_at=local(incident.resolved_at, self.timezone), sent_count=max(incident.sends, 1),
            dashboard=f"{base}{RULE_PAGES.get(incident.rule, '/')}" if base else "")


def recent_incidents(store: QueueStore, limit: int = 20) -> list[Incident]:
    with store.transaction() as execute:
        rows = execute(f"SELECT {_INCIDENT_COLUMNS} FROM incidents ORDER BY opened_at DESC LIMIT ?",  # noqa: S608
                       (limit,)).fetchall()
    return [_incident(r) for r in rows]
