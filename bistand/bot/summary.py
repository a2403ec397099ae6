"""The run summary for the bot runner and the team lead: JSON, console text and an .xlsx.

No personal data: application ids, case numbers, codes, proposals and durations only.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Font
from pydantic import BaseModel

from bistand.report.plural import plural

Outcome = Literal["DONE", "BUSINESS", "APPLICATION", "PARKED"]


class ItemResult(BaseModel):
    application_id: str
    outcome: Outcome
    code: str = ""
    message: str = ""
    proposal: str = ""
    findings: list[str] = []
    seconds: float
    attempts: int = 1
    written: list[str] = []


class RunSummary(BaseModel):
    mode: str
    started_at: datetime
    finished_at: datetime | None = None
    items: list[ItemResult] = []
    stopped_reason: str = ""
    retried_requests: dict[str, int] = {}
    """System → requests tried again after a transient failure (timeout, 502/503/504) this run."""
    logins: dict[str, int] = {}
    """System → times the bot filled its login form this run (a kept login state needs none)."""
    context_renewals: int = 0
    """Times the browser contexts were renewed between items, logins kept (bistand.bot.recycle)."""
    parts: list[str] = []
    """A long batch run's Robot Framework runs, in order: each one's folder relative to the run
    folder ('.' is the run folder itself); empty for a run of one part."""

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        """A run-summary.json as written by `write`."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(mode=data["mode"], started_at=data["started_at"], finished_at=data.get("finished_at"),
                   items=[ItemResult(**item) for item in data.get("per_item", [])],
                   stopped_reason=data.get("stopped_reason", ""), retried_requests=data.get("retried_requests", {}),
                   logins=data.get("logins", {}), context_renewals=data.get("context_renewals", 0),
                   parts=data.get("parts", []))

    @classmethod
    def combined(cls, parts: dict[str, RunSummary]) -> RunSummary:
        """One summary for a batch run worked in several Robot Framework runs (folder → its summary,
        in order): every item, the counts added up, the last part's stop reason."""
        summaries = list(parts.values())

        def added(name: str) -> dict[str, int]:
            total: Counter[str] = Counter()
            for summary in summaries:
                total.update(getattr(summary, name))
            return dict(sorted(total.items()))

        return cls(mode=summaries[0].mode, started_at=summaries[0].started_at, finished_at=summaries[-1].finished_at,
                   items=[item for summary in summaries for item in summary.items],
                   stopped_reason=next((s.stopped_reason for s in reversed(summaries) if s.stopped_reason), ""),
                   retried_requests=added("retried_requests"), logins=added("logins"),
                   context_renewals=sum(s.context_renewals for s in summaries), parts=list(parts))

    def add(self, result: ItemResult) -> None:
        self.items.append(result)

    @property
    def outcome_counts(self) -> dict[str, int]:
        return dict(Counter(i.outcome for i in self.items))

    @property
    def finding_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(code for i in self.items for code in i.findings).items()))

    @property
    def proposal_counts(self) -> dict[str, int]:
        return dict(Counter(i.proposal for i in self.items if i.proposal))

    def percentile(self, q: float) -> float:
        values = sorted(i.seconds for i in self.items)
        if not values:
            return 0.0
        rank = max(0, math.ceil(q * len(values)) - 1)
        return values[rank]

    @property
    def median_seconds(self) -> float:
        return statistics.median(i.seconds for i in self.items) if self.items else 0.0

    def as_json(self) -> dict:
        return {
            "mode": self.mode,
            "started_at": self.started_at.isoformat(),
            "finished_at": (self.finished_at or datetime.now(UTC)).isoformat(),
            "items": len(self.items),
            "outcomes": self.outcome_counts,
            "proposals": self.proposal_counts,
            "findings": self.finding_counts,
            "median_seconds": round(self.median_seconds, 3),
            "p95_seconds": round(self.percentile(0.95), 3),
            "stopped_reason": self.stopped_reason,
            "retried_requests": self.retried_requests,
            "logins": self.logins,
            "context_renewals": self.context_renewals,
            "parts": self.parts,
            "failures": [
                {"application_id": i.application_id, "type": i.outcome, "code": i.code, "message": i.message}
                for i in self.items if i.outcome != "DONE"
            ],
            "per_item": [i.model_dump() for i in self.items],
        }

    def console_lines(self) -> list[str]:
        counts = self.outcome_counts
        lines = [
            f"Run summary ({self.mode}): {plural(len(self.items), 'item')}: "
            f"{counts.get('DONE', 0)} done, {plural(counts.get('BUSINESS', 0), 'business failure')}, "
            f"{plural(counts.get('APPLICATION', 0), 'system failure')} to retry, "
            f"{counts.get('PARKED', 0)} parked (behöver åtgärd)",
            f"  proposals: {', '.join(f'{k} {v}' for k, v in sorted(self.proposal_counts.items())) or '-'}",
            f"  findings:  {', '.join(f'{k} {v}' for k, v in self.finding_counts.items()) or '-'}",
            f"  seconds per application: median {self.median_seconds:.2f}, p95 {self.percentile(0.95):.2f}",
            f"  requests retried: {sum(self.retried_requests.values())}"
            + "".join(f", {system} {count}" for system, count in self.retried_requests.items() if count),
        ]
        if self.parts:
            lines.append(f"  Robot Framework runs: {len(self.parts)} ({', '.join(self.parts)}), "
                         f"browser contexts renewed {self.context_renewals} times")
        for item in self.items:
            if item.outcome != "DONE":
                lines.append(f"  FAILED {item.outcome} {item.application_id} {item.code}")
        if self.stopped_reason:
            lines.append(f"  stopped: {self.stopped_reason}")
        return lines

    def write(self, output_dir: Path) -> tuple[Path, Path]:
        output_dir.mkdir(parents=True, exist_ok=True)
        json_path = output_dir / "run-summary.json"
        json_path.write_text(json.dumps(self.as_json(), indent=1, ensure_ascii=False), encoding="utf-8")
        xlsx_path = output_dir / "run-summary.xlsx"
        write_xlsx(self, xlsx_path)
        return json_path, xlsx_path


def safe_cell_text(value: object) -> str:
    """Text that a spreadsheet can never take for a formula (OWASP CSV/formula injection)."""
    text = "" if value is None else str(value)
    text = "".join(ch for ch in text if ch in "\t\n" or ord(ch) >= 32)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _put(ws, row: int, col: int, value: object) -> None:
    cell = ws.cell(row=row, column=col)
    if isinstance(value, int | float) and not isinstance(value, bool):
        cell.value = value
    else:
        cell.value = safe_cell_text(value)
        cell.data_type = "s"  # openpyxl would otherwise write a leading '=' as a formula


def write_xlsx(summary: RunSummary, path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sammanfattning"
    data = summary.as_json()
    rows = [
        ("Läge", data["mode"]), ("Start", data["started_at"]), ("Slut", data["finished_at"]),
        ("Ärenden", data["items"]), ("Klara", data["outcomes"].get("DONE", 0)),
        ("Affärsfel", data["outcomes"].get("BUSINESS", 0)), ("Systemfel", data["outcomes"].get("APPLICATION", 0)),
        ("Parkerade (behöver åtgärd)", data["outcomes"].get("PARKED", 0)),
        ("Median sekunder per ärende", data["median_seconds"]), ("95:e percentilen sekunder", data["p95_seconds"]),
        ("Avbruten", data["stopped_reason"]),
    ]
    for r, (label, value) in enumerate(rows, start=1):
        _put(ws, r, 1, label)
        ws.cell(row=r, column=1).font = Font(bold=True)
        _put(ws, r, 2, value)
    r = len(rows) + 2
    _put(ws, r, 1, "Notering (kod)")
    _put(ws, r, 2, "Antal")
    for code, count in data["findings"].items():
        r += 1
        _put(ws, r, 1, code)
        _put(ws, r, 2, count)
    ws.column_dimensions["A"].width = 32
    ws.column_dimensions["B"].width = 28

    items = wb.create_sheet("Ärenden")
    headers = ["Ansökan", "Utfall", "Kod", "Meddelande", "Förslag", "Noteringar", "Sekunder", "Försök"]
    for c, h in enumerate(headers, start=1):
        _put(items, 1, c, h)
        items.cell(row=1, column=c).font = Font(bold=True)
    for r, item in enumerate(summary.items, start=2):
        values = [item.application_id, item.outcome, item.code, item.message, item.proposal,
                  ", ".join(item.findings), round(item.seconds, 3), item.attempts]
        for c, v in enumerate(values, start=1):
            _put(items, r, c, v)
    for col, width in zip("ABCDEFGH", (18, 12, 24, 60, 14, 50, 10, 8), strict=True):
        items.column_dimensions[col].width = width
    wb.save(path)
