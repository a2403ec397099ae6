"""The dashboard's figures: the queue's outcome records (SQLite and PostgreSQL), the statistics
drawn from them, and the charts built from known rows (no browser)."""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from types import SimpleNamespace

import pytest

from bistand.bot.recording import outcome_of, record_outcome, relative_run_dir
from bistand.bot.summary import ItemResult
from bistand.core.models import Mode
from bistand.dashboard import charts
from bistand.dashboard.stats import (
    TIMEZONE,
    Bar,
    dashboard_stats,
    day_bounds,
    decided_bars,
    display_message,
    finding_bars,
    hourly_work,
    local_day,
    proposal_bars,
    seconds_distribution,
)
from bistand.queue.store import MIGRATIONS, ItemOutcome, open_queue
from bistand.report.labels import FINDING_TITLES


def queued(store, *application_ids: str) -> None:
    for application_id in application_ids:
        store.add(application_id, {"application_id": application_id, "case_number": "EB-2026-0001",
                                   "period": "2026-11"})


def work_through(store, application_id: str, outcome: ItemOutcome) -> None:
    """Claims the item, releases it as a runner would, and records the outcome after the release
    (the consumer's order: Release Input Work Item, then Finish Item)."""
    item = store.claim("runner-1", 30)
    assert item is not None and item.application_id == application_id
    if outcome.outcome == "DONE":
        store.complete(item.lease)
    elif outcome.outcome == "BUSINESS":
        store.fail(item.lease, "BUSINESS", outcome.code, "bad data")
    else:
        store.fail(item.lease, "APPLICATION", outcome.code, "fk: login: HTTP 503")
    store.record_outcome(outcome)


def outcome(application_id: str, kind: str = "DONE", **fields) -> ItemOutcome:
    return ItemOutcome(application_id=application_id, outcome=kind, mode="automated", runner="runner-1",
                       run_dir="runs/20261126T200000.000000Z-runner-1", **fields)


def at(hour: int, minute: int = 0, day: date = date(2026, 11, 26)) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TIMEZONE).timestamp()


# -- the store: migration 2, recording, reading -----------------------------------------------

def test_outcomes_are_recorded_and_read_back_with_the_items_state(queue_url):
    store = open_queue(queue_url, max_failures=1)
    try:
        assert store.migrate() == len(MIGRATIONS) >= 2
        queued(store, "ANS-1", "ANS-2", "ANS-3", "ANS-4")
        before = time.time()
        work_through(store, "ANS-1", outcome("ANS-1", proposal="approve", decided_by="robot", seconds=4.5))
        work_through(store, "ANS-2", outcome("ANS-2", proposal="manual_review", findings=["FRAME_MISSING"],
                                             decided_by="caseworker", seconds=7.25, attempts=2))
        work_through(store, "ANS-3", outcome("ANS-3", "BUSINESS", code="CASE_MISMATCH", decided_by="caseworker",
                                             seconds=1.0))
        work_through(store, "ANS-4", outcome("ANS-4", "PARKED", code="SYSTEM_UNAVAILABLE", seconds=30.0))
        latest = dict((o.application_id, (state, o)) for state, o in store.latest_outcomes() if o is not None)
        assert {k: v[0] for k, v in latest.items()} == {"ANS-1": "done", "ANS-2": "done", "ANS-3": "failed_business",
                                                        "ANS-4": "parked"}
        second = latest["ANS-2"][1]
        assert second.findings == ["FRAME_MISSING"] and second.attempts == 2 and second.seconds == 7.25
        assert second.started_at == pytest.approx(second.finished_at - 7.25)
        assert before - 5 <= second.finished_at <= time.time() + 5  # the database's clock
        window = store.outcomes_between(before - 60, time.time() + 60)
        assert [o.application_id for o in window] == ["ANS-1", "ANS-2", "ANS-3", "ANS-4"]
        assert store.outcomes_between(before + 3600, before + 7200) == []
        # retried and done: the latest outcome wins, the history keeps both
        assert store.retry("ANS-4")
        work_through(store, "ANS-4", outcome("ANS-4", proposal="approve", decided_by="robot", seconds=3.0))
        assert [o.outcome for o in store.outcomes_of("ANS-4")] == ["DONE", "PARKED"]
        states = {o.application_id: state for state, o in store.latest_outcomes()}
        assert states["ANS-4"] == "done"
        assert [o.application_id for o in store.recent_outcomes(3)] == ["ANS-4", "ANS-4", "ANS-3"]
    finally:
        store.close()


def test_an_item_without_a_recorded_outcome_still_counts_with_its_state(queue_url):
    store = open_queue(queue_url)
    try:
        queued(store, "ANS-1", "ANS-2")
        store.complete(store.claim("r", 30).lease)  # finished before outcomes were recorded
        assert store.latest_outcomes() == [("done", None), ("pending", None)]
        assert decided_bars(store.latest_outcomes()) == [
            Bar(label="Beslutat av roboten", value=0), Bar(label="Till handläggare", value=0),
            Bar(label="Okänt", value=1)]
    finally:
        store.close()


def test_operator_actions_are_kept_with_who_did_them_and_personnummer_masked(queue_url):
    store = open_queue(queue_url)
    try:
        store.log_action("teamledare", "skip", "ANS-9", "sökande 19850312-1234 ringde")
        store.log_action("teamledare", "retry", "ANS-8")
        actions = store.recent_actions()
        assert [(a.action, a.application_id) for a in actions] == [("retry", "ANS-8"), ("skip", "ANS-9")]
        assert actions[1].username == "teamledare" and actions[1].reason == "sökande 19850312-XXXX ringde"
        store.clear()
        assert store.recent_actions() == [] and store.recent_outcomes() == []
    finally:
        store.close()


def test_the_dashboard_figures_add_up_to_the_queue_counts(queue_url):
    store = open_queue(queue_url, max_failures=1)
    try:
        queued(store, "ANS-1", "ANS-2", "ANS-3", "ANS-4", "ANS-5")
        work_through(store, "ANS-1", outcome("ANS-1", proposal="approve", decided_by="robot", seconds=2))
        work_through(store, "ANS-2", outcome("ANS-2", proposal="reject", findings=["NORM_UNVERIFIED"],
                                             decided_by="robot", seconds=3))
        work_through(store, "ANS-3", outcome("ANS-3", proposal="manual_review", decided_by="caseworker",
                                             findings=["INCOME_MISMATCH", "NORM_UNVERIFIED"], seconds=9))
        work_through(store, "ANS-4", outcome("ANS-4", "BUSINESS", code="CASE_MISMATCH", decided_by="caseworker",
                                             seconds=1))
        stats = dashboard_stats(store)
        counts = store.counts()
        assert stats.counts == counts
        assert sum(b.value for b in stats.proposals) == counts["done"] == 3
        assert sum(b.value for b in stats.decided) == counts["done"] + counts["failed_business"] == 4
        assert [(b.label, b.value) for b in stats.decided] == [
            ("Beslutat av roboten", 2), ("Till handläggare", 2), ("Okänt", 0)]
        assert stats.seconds.total == counts["done"]
        newest = store.recent_outcomes(10)
        assert stats.hourly.day == local_day(newest[0].finished_at)  # the day of the newest work by default
        assert stats.hourly.total == sum(local_day(o.finished_at) == stats.hourly.day for o in newest) >= 1
        assert [(i.application_id, i.code) for i in stats.needs_action] == [("ANS-4", "CASE_MISMATCH")]
        assert stats.needs_action[0].run_dir == "runs/20261126T200000.000000Z-runner-1"
    finally:
        store.close()


# -- the figures behind each chart ------------------------------------------------------------

def test_work_per_hour_counts_each_outcome_in_its_local_hour_of_the_day():
    day = date(2026, 11, 26)
    rows = [outcome("A", finished_at=at(8, 5)), outcome("B", finished_at=at(8, 59)),
            outcome("C", "BUSINESS", finished_at=at(9, 0)), outcome("D", "PARKED", finished_at=at(14, 30)),
            outcome("E", "APPLICATION", finished_at=at(14, 31)), outcome("F", finished_at=at(23, 59)),
            outcome("G", finished_at=at(0, 1, date(2026, 11, 27)))]  # the next day: not drawn
    hourly = hourly_work(day, rows)
    assert hourly.series["Klar"][8] == 2 and hourly.series["Klar"][23] == 1
    assert hourly.series["Affärsfel"][9] == 1 and hourly.series["Systemfel"][14] == 2
    assert hourly.total == 6
    assert hourly.rows == [(8, [2, 0, 0]), (9, [0, 1, 0]), (14, [0, 0, 2]), (23, [1, 0, 0])]


def test_a_day_is_bounded_at_local_midnight_even_when_the_clocks_change():
    start, end = day_bounds(date(2026, 10, 25))  # summer time ends: 25 hours
    assert end - start == 25 * 3600
    assert datetime.fromtimestamp(start, TIMEZONE).hour == 0


def test_seconds_fall_into_nice_bins_with_median_and_95th_percentile():
    distribution = seconds_distribution([1.2, 2.2, 3.4, 4.0, 9.9])
    assert distribution.edges == [float(e) for e in range(11)]
    assert distribution.counts == [0, 1, 1, 1, 1, 0, 0, 0, 0, 1]
    assert distribution.median == 3.4 and distribution.p95 == 9.9
    slowest_on_an_edge = seconds_distribution([5.0, 10.0])
    assert sum(slowest_on_an_edge.counts) == 2 and slowest_on_an_edge.edges[-1] > 10.0
    assert seconds_distribution([]).total == 0


def test_proposals_show_every_kind_and_findings_the_most_frequent_first():
    latest = [("done", outcome("A", proposal="approve", findings=["NORM_UNVERIFIED"])),
              ("done", outcome("B", proposal="approve", findings=["COST_CAPPED", "NORM_UNVERIFIED"])),
              ("done", outcome("C", proposal="manual_review", findings=["FRAME_MISSING"])),
              ("parked", outcome("D", "PARKED", code="SYSTEM_UNAVAILABLE")),
              ("pending", outcome("E", proposal="approve", findings=["STALE"]))]  # retried: not counted
    assert [(b.label, b.value) for b in proposal_bars(latest)] == [
        ("Bevilja", 2), ("Avslå", 0), ("Manuell handläggning", 1)]
    assert [(b.label, b.value) for b in finding_bars(latest)] == [
        (f"{FINDING_TITLES[code]} ({code})", count)  # Swedish first, the code beside it
        for code, count in (("NORM_UNVERIFIED", 2), ("COST_CAPPED", 1), ("FRAME_MISSING", 1))]


def test_a_message_on_the_page_never_shows_a_personnummer_or_an_amount():
    shown = display_message("skv: 198503121234 refused; declared 12 345 kr, found 9 000 kronor")
    assert "1234" not in shown.split("XXXX")[0][-4:] and "198503121234" not in shown
    assert "12 345" not in shown and "9 000" not in shown and shown.count("… kr") == 2


# -- the charts: the known figures are what is drawn ------------------------------------------

def bar_ids(svg: str, prefix: str) -> list[str]:
    return re.findall(rf'<g id="({prefix}-[^"]+)"', svg)


def test_the_hourly_chart_draws_one_bar_per_outcome_and_hour_with_swedish_axes():
    rows = [outcome("A", finished_at=at(8, 5)), outcome("B", finished_at=at(8, 9)),
            outcome("C", "BUSINESS", finished_at=at(13, 0))]
    hourly = hourly_work(date(2026, 11, 26), rows)
    svg = charts.hourly_chart(hourly)
    assert svg.startswith("<svg ") and 'data-chart="per-timme"' in svg
    assert sorted(bar_ids(svg, "timme")) == ["timme-08-klar-2", "timme-13-affarsfel-1"]
    for text in ("Ärenden per timme", "Timme (2026-11-26, svensk tid)", "Ärenden", "Klar", "Affärsfel"):
        assert f">{text}<" in svg


def test_the_bar_charts_draw_the_known_values():
    bars = [Bar(label="NORM_UNVERIFIED", value=5), Bar(label="COST_CAPPED", value=2)]
    svg = charts.bar_chart(bars, "fynd", "Fynd per kod", "Klara ärenden med fyndet", "Inga fynd ännu")
    assert sorted(bar_ids(svg, "fynd")) == ["fynd-cost-capped-2", "fynd-norm-unverified-5"]
    assert ">NORM_UNVERIFIED<" in svg and "> 5<" in svg and ">Fynd per kod<" in svg
    seconds = charts.seconds_chart(seconds_distribution([1.2, 2.2, 3.4, 4.0, 9.9]))
    assert sorted(bar_ids(seconds, "sekunder")) == [f"sekunder-{i}-1" for i in (1, 2, 3, 4, 9)]
    assert ">median 3,4 s<" in seconds and ">Sekunder per ärende<" in seconds
    decided = charts.decided_chart([Bar(label="Beslutat av roboten", value=3), Bar(label="Till handläggare", value=1),
                                    Bar(label="Okänt", value=0)])
    assert sorted(bar_ids(decided, "beslut")) == ["beslut-beslutat-av-roboten-3", "beslut-till-handlaggare-1"]
    assert ">75 %<" in decided


def test_a_code_with_markup_is_drawn_as_text_never_as_markup():
    svg = charts.bar_chart([Bar(label='<script>alert(1)</script>', value=2)], "fynd", "Fynd", "Ärenden", "-")
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_every_chart_renders_with_an_empty_queue(tmp_path):
    store = open_queue(f"sqlite:///{tmp_path / 'queue.db'}")
    stats = dashboard_stats(store)
    store.close()
    drawn = [charts.hourly_chart(stats.hourly), charts.seconds_chart(stats.seconds),
             charts.bar_chart(stats.proposals, "forslag", "Förslag per kod", "Klara ärenden", "Inga ännu"),
             charts.bar_chart(stats.findings, "fynd", "Fynd per kod", "Ärenden", "Inga fynd ännu"),
             charts.decided_chart(stats.decided)]
    assert all(svg.startswith("<svg ") and "</svg>" in svg for svg in drawn)
    assert ">Inga ärenden hanterade denna dag<" in drawn[0] and ">Inga fynd ännu<" in drawn[3]
    assert ">Inga avslutade ärenden ännu<" in drawn[4]


def test_swedish_numbers_use_a_decimal_comma_and_spaced_thousands():
    assert charts.swedish_number(1.5) == "1,5" and charts.swedish_number(1200) == "1\u2009200"
    assert charts.swedish_number(3) == "3"


# -- the bot's hook ---------------------------------------------------------------------------

def item_work(proposal: str = "approve", kind: str = "reapplication", blocking: bool = False):
    from bistand.core.models import Proposal

    assessment = SimpleNamespace(proposal=Proposal(proposal), blocking_findings=["X"] if blocking else [])
    bundle = SimpleNamespace(application=SimpleNamespace(kind=kind))
    return SimpleNamespace(bundle=bundle, assessment=assessment)


def test_the_outcome_says_who_decides_as_the_bots_write_back_does():
    result = ItemResult(application_id="ANS-1", outcome="DONE", proposal="approve", seconds=2.5, attempts=1)
    assert outcome_of(result, item_work(), Mode.AUTOMATED, "r", "runs/x").decided_by == "robot"
    assert outcome_of(result, item_work(), Mode.SUPPORT, "r", "runs/x").decided_by == "caseworker"
    assert outcome_of(result, item_work(kind="first"), Mode.AUTOMATED, "r", "").decided_by == "caseworker"
    assert outcome_of(result, item_work(blocking=True), Mode.AUTOMATED, "r", "").decided_by == "caseworker"
    failed = ItemResult(application_id="ANS-1", outcome="APPLICATION", code="TIMEOUT", seconds=9, attempts=3)
    assert outcome_of(failed, item_work(), Mode.AUTOMATED, "r", "").decided_by == ""
    recorded = outcome_of(result, item_work(), Mode.AUTOMATED, "runner-7", "runs/x")
    assert (recorded.mode, recorded.runner, recorded.run_dir) == ("automated", "runner-7", "runs/x")
    assert recorded.seconds == 2.5


def test_a_recording_error_is_logged_and_never_fails_the_item(tmp_path, caplog):
    store = open_queue(f"sqlite:///{tmp_path / 'queue.db'}")
    store.close()  # a closed connection: recording fails
    result = ItemResult(application_id="ANS-1", outcome="DONE", proposal="approve", seconds=1.0)
    settings = SimpleNamespace(mode=Mode.SUPPORT, output_dir=tmp_path, runner_id="r1")
    record_outcome(result, item_work(), settings, tmp_path / "runs" / "r1", store=store)  # must not raise
    assert "outcome of ANS-1 not recorded" in caplog.text


def test_the_run_dir_is_kept_relative_to_the_output_folder(tmp_path):
    assert relative_run_dir(tmp_path / "runs" / "20261126T2000Z-r", tmp_path) == "runs/20261126T2000Z-r"
    assert relative_run_dir(tmp_path.parent, tmp_path) == ""
