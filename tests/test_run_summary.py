"""The run summary: percentiles, counts, and an xlsx in which applicant text stays text."""

from __future__ import annotations

from datetime import UTC, datetime

import openpyxl

from bistand.bot.summary import ItemResult, RunSummary, safe_cell_text


def summary_of(seconds: list[float]) -> RunSummary:
    summary = RunSummary(mode="support", started_at=datetime.now(UTC))
    for index, value in enumerate(seconds, start=1):
        summary.add(ItemResult(application_id=f"ANS-2026-{index:06d}", outcome="DONE", seconds=value,
                               proposal="approve", findings=["COST_CAPPED"] if index % 2 else []))
    return summary


def test_median_and_95th_percentile_follow_the_item_durations():
    summary = summary_of([float(s) for s in range(1, 21)])
    assert summary.median_seconds == 10.5
    assert summary.percentile(0.95) == 19.0
    assert summary.as_json()["findings"] == {"COST_CAPPED": 10}


def test_formula_like_text_is_written_as_text(tmp_path):
    summary = summary_of([0.5])
    summary.add(ItemResult(application_id="ANS-2026-000099", outcome="BUSINESS", code="X",
                           message='=HYPERLINK("http://example.invalid","klicka")', seconds=0.1))
    _json, xlsx = summary.write(tmp_path)
    sheet = openpyxl.load_workbook(xlsx)["Ärenden"]
    messages = [row[3] for row in sheet.iter_rows(min_row=2)]
    assert messages[1].data_type == "s"
    assert messages[1].value.startswith("'=HYPERLINK")


def test_safe_cell_text_neutralises_every_formula_prefix():
    for prefix in "=+-@":
        assert safe_cell_text(f"{prefix}1+1").startswith("'")
    assert safe_cell_text("vanlig text") == "vanlig text"
