"""The alerts' state machine: an incident opens and is sent once, repeats only after the configured
interval, sends one resolved message when its condition clears, and two evaluators over the same
database send one alert, not two (on SQLite and PostgreSQL). A send that fails is tried again."""

from __future__ import annotations

import threading

import pytest

from bistand.monitoring.alerts import AlertEvaluator, AlertMessage
from bistand.queue.store import ItemOutcome, open_queue
from bistand.settings import AlertSettings, load
from tests.queue_clock import TestClock as Clock


class Outbox:
    def __init__(self, fail: int = 0) -> None:
        self.sent: list[AlertMessage] = []
        self.fail = fail
        self.lock = threading.Lock()

    def send(self, message: AlertMessage) -> None:
        with self.lock:
            if self.fail:
                self.fail -= 1
                raise ConnectionRefusedError("mail server away")
            self.sent.append(message)

    def kinds(self) -> list[tuple[str, str]]:
        return [(m.status, m.rule) for m in self.sent]


def only_parked_rule(repeat_minutes: float = 60) -> AlertSettings:
    settings = AlertSettings(repeat_minutes=repeat_minutes, dashboard_url="https://bistand.example/")
    for name in type(settings.rules).model_fields:
        getattr(settings.rules, name).enabled = name == "items_parked"
    return settings


def park(store, application_id: str, code: str = "SYSTEM_UNAVAILABLE") -> None:
    store.add(application_id, {"application_id": application_id})
    item = store.claim("runner-a", 60)
    store.max_failures = 1
    assert store.fail(item.lease, "APPLICATION", code, "fk: HTTP 503") == "parked"


@pytest.fixture
def clock():
    return Clock(1_800_000_000.0)


def test_an_incident_is_sent_once_repeated_after_the_interval_and_resolved_once(tmp_path, clock):
    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    outbox = Outbox()
    evaluator = AlertEvaluator(store, only_parked_rule(repeat_minutes=30), outbox, clock=clock)
    assert evaluator.evaluate() == []
    park(store, "ANS-2026-000001")
    first = evaluator.evaluate()
    assert [(m.status, m.rule, m.sent_count) for m in first] == [("firing", "items_parked", 1)]
    assert "1 ärenden behöver åtgärd" in first[0].summary and "SYSTEM_UNAVAILABLE 1" in first[0].summary
    assert first[0].dashboard == "https://bistand.example/"
    park(store, "ANS-2026-000002")
    for _ in range(5):  # more parked items, evaluated again and again: the same incident, no new alert
        clock.advance(5 * 60)
        assert evaluator.evaluate() == []
    clock.advance(5 * 60 + 1)  # 30 minutes since the first send
    repeat = evaluator.evaluate()
    assert [(m.status, m.sent_count, m.incident_id) for m in repeat] == [("firing", 2, first[0].incident_id)]
    assert "2 ärenden" in repeat[0].summary
    store.skip("ANS-2026-000001", "handläggs för hand")
    store.skip("ANS-2026-000002", "handläggs för hand")
    resolved = evaluator.evaluate()
    assert [(m.status, m.incident_id) for m in resolved] == [("resolved", first[0].incident_id)]
    assert evaluator.evaluate() == [] and evaluator.open_incidents() == []
    park(store, "ANS-2026-000003")
    again = evaluator.evaluate()  # the condition back: a new incident
    assert [m.status for m in again] == ["firing"] and again[0].incident_id != first[0].incident_id
    assert outbox.kinds() == [("firing", "items_parked")] * 2 + [("resolved", "items_parked"),
                                                                 ("firing", "items_parked")]
    store.close()


def test_a_failed_send_is_tried_again_at_the_next_evaluation(tmp_path, clock):
    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    outbox = Outbox(fail=1)
    evaluator = AlertEvaluator(store, only_parked_rule(), outbox, clock=clock)
    park(store, "ANS-2026-000001")
    assert evaluator.evaluate() == []
    assert outbox.sent == []
    clock.advance(20)
    assert [m.sent_count for m in evaluator.evaluate()] == [1]
    assert evaluator.evaluate() == []
    store.close()


def test_two_evaluators_send_one_alert_and_one_resolved_message(queue_url, clock):
    """Two hosts evaluate at the same moments, each with its own connection: one message each time."""
    stores = [open_queue(queue_url, clock=clock) for _ in range(2)]
    outbox = Outbox()
    evaluators = [AlertEvaluator(s, only_parked_rule(), outbox, clock=clock, name=f"host-{i}")
                  for i, s in enumerate(stores)]
    park(stores[0], "ANS-2026-000001")

    def together() -> None:
        start = threading.Barrier(len(evaluators))

        def run(evaluator) -> None:
            start.wait()
            for _ in range(5):
                evaluator.evaluate()

        threads = [threading.Thread(target=run, args=(e,)) for e in evaluators]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    together()
    assert outbox.kinds() == [("firing", "items_parked")]
    stores[1].skip("ANS-2026-000001", "för hand")
    together()
    assert outbox.kinds() == [("firing", "items_parked"), ("resolved", "items_parked")]
    for store in stores:
        store.close()


def test_the_alerts_configuration_reads_the_yaml_and_the_environment():
    settings = load({"BISTAND_ALERT_SMTP_HOST": "mail.kommun.se",
                     "BISTAND_ALERT_SMTP_TO": "a@k.se, b@k.se",
                     "BISTAND_ALERT_WEBHOOK_URL": "https://hooks.example/x",
                     "BISTAND_ALERT_RULE_OLDEST_PENDING_MINUTES": "10",
                     "BISTAND_ALERT_RULE_NO_RUNNER_DAYS": "mon,tue"}).alerts
    assert settings.smtp.host == "mail.kommun.se" and settings.smtp.to == ["a@k.se", "b@k.se"]
    assert settings.webhook.url == "https://hooks.example/x" and settings.can_send
    assert settings.rules.oldest_pending.minutes == 10
    assert settings.rules.no_runner.days == ["mon", "tue"]
    assert not load({}).alerts.can_send


def only(rule: str, **fields) -> AlertSettings:
    settings = AlertSettings()
    for name in type(settings.rules).model_fields:
        getattr(settings.rules, name).enabled = name == rule
    for key, value in fields.items():
        setattr(getattr(settings.rules, rule), key, value)
    return settings


def test_a_system_down_alerts_once_names_it_and_resolves_when_it_answers_three_times_in_a_row(tmp_path, clock):
    from bistand.monitoring.health import PortalHealth

    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    health = PortalHealth(clock=clock)
    health.attach(store)
    outbox = Outbox()
    evaluator = AlertEvaluator(store, only("system_down", window_minutes=1), outbox, clock=clock)
    for _ in range(10):
        health.record("fk", "ok", 0.1)
        health.record("csn", "ok", 0.1)
    health.flush()
    assert evaluator.evaluate() == []
    for _ in range(3):
        clock.advance(20)
        for _ in range(5):
            health.record("fk", "http_error", 0.02)
        health.flush()
        evaluator.evaluate()
    assert [(m.status, m.subject) for m in outbox.sent] == [("firing", "fk")]
    assert outbox.sent[0].summary.startswith("fk svarar inte: ")
    assert outbox.sent[0].detail["errors_by_class_last_hour"] == {"HTTP-fel eller nås inte": 10}  # 10 of 20: half
    for _ in range(3):
        health.record("fk", "ok", 0.1)
    health.flush()
    evaluator.evaluate()
    assert [(m.status, m.subject) for m in outbox.sent] == [("firing", "fk"), ("resolved", "fk")]
    health.close()
    store.close()


def test_a_run_stopped_on_a_system_alerts_even_with_no_traffic_since(tmp_path, clock):
    from bistand.monitoring import runners

    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    outbox = Outbox()
    evaluator = AlertEvaluator(store, only("system_down"), outbox, clock=clock)
    key = runners.register(store, "runner-a", "work", 60)
    runners.run_ended(store, key, 3, "5 system errors in a row on skv (limit 5): last TIMEOUT")
    runners.stopped(store, key, 3)
    evaluator.evaluate()
    assert [(m.status, m.subject, m.detail["run_stopped"]) for m in outbox.sent] == [("firing", "skv", True)]
    clock.advance(31 * 60)  # the stopped run is old and nothing has been asked since: nothing to go by
    evaluator.evaluate()
    assert len(outbox.sent) == 1 and [i.subject for i in evaluator.open_incidents()] == ["skv"]
    store.close()


def firing(evaluator, now: float) -> dict[str, str]:
    return {finding.key: finding.summary for finding in evaluator.verdict(now).firing}


def test_each_rule_fires_on_its_threshold_and_not_below(tmp_path):
    """The queue's rules at a moment the test picks: a Tuesday 10:00 in Stockholm (office hours)."""
    from datetime import datetime

    from bistand.monitoring import runners
    from bistand.monitoring.clock import TIMEZONE

    tuesday = datetime(2026, 12, 8, 10, 0, tzinfo=TIMEZONE).timestamp()
    clock = Clock(tuesday)
    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    settings = AlertSettings()
    settings.rules.oldest_pending.minutes = 30
    settings.rules.watch_latency.target_seconds = 60
    evaluator = AlertEvaluator(store, settings, Outbox(), clock=clock)
    assert set(firing(evaluator, clock())) == {"no_runner:"}  # office hours, nobody alive
    assert set(firing(evaluator, clock() + 9 * 3600)) == set()  # 19:00: outside the hours
    watcher = runners.register(store, "host-a-watch", "watch", 60)
    store.add("ANS-2026-000001", {})
    clock.advance(29 * 60)
    runners.beat(store, watcher, "host-a-watch")
    assert set(firing(evaluator, clock())) == set()  # 29 minutes pending, a watcher alive
    clock.advance(2 * 60 + 1)
    host = runners.list_runners(store)[0].host
    assert set(firing(evaluator, clock())) == {"oldest_pending:", "no_runner:", f"watcher_silent:{host}"}
    # 31 minutes pending; the watcher not heard for two lease periods: silent, and so nobody is alive
    runners.beat(store, watcher, "host-a-watch")
    store.complete(store.claim("host-a-watch", 60).lease)  # the old one done at last
    for number in range(2, 5):  # the watcher finishes three items, each 90 s after it was queued
        application_id = f"ANS-2026-00000{number}"
        store.add(application_id, {})
        clock.advance(90)
        item = store.claim("host-a-watch", 60)
        assert item.application_id == application_id
        store.complete(item.lease)
        store.record_outcome(ItemOutcome(application_id=application_id, outcome="DONE", runner="host-a-watch"))
    runners.beat(store, watcher, "host-a-watch")
    fired = firing(evaluator, clock())
    assert "watch_latency:" in fired and fired["watch_latency:"].startswith("Median 90 s från köad till klar")
    producer = runners.register(store, "host-b", "produce", 60)
    runners.stopped(store, producer, 5)
    assert "producer_failed:" in firing(evaluator, clock())
    later = runners.register(store, "host-b", "run", 60)
    clock.advance(1)
    runners.stopped(store, later, 0)  # the next run queued the inbox: the producer works again
    assert "producer_failed:" not in firing(evaluator, clock())
    store.close()
