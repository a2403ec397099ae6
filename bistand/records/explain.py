"""How a decision was reached, from its record alone, and whether it would be the same today.

`explain_record` gives the report's own lines, rendered again from the stored inputs and outcome.
`reassess` hands the stored inputs to the engine installed now (the code, RULES_VERSION and the
norm tables in `norm_dir`) and lists, in Swedish, every line of the calculation that comes out
differently. Nothing here reads a portal: the record is all there is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import bistand
from bistand.core.engine import RULES_VERSION, assess
from bistand.core.errors import BistandError
from bistand.core.models import Assessment, Proposal
from bistand.core.norm import table_path
from bistand.records.chain import Entry, RecordChain
from bistand.records.record import assessment_of, bundle_of, mode_of, rules_fingerprint, sha256_file
from bistand.report import local_time
from bistand.report.labels import (
    COST_LABELS,
    DEFAULT_GUIDELINE,
    FINDING_TITLES,
    INCOME_LABELS,
    NORM_STATUS_LABELS,
    PROPOSAL_LABELS,
    format_kr,
    label,
    norm_key_label,
)
from bistand.report.text import render_text

SAME = "samma utfall"


@dataclass
class Reassessment:
    """A stored decision next to the same inputs assessed now."""

    application_id: str
    record_name: str
    sequence: int
    differences: list[str] = field(default_factory=list)
    changes_since: list[str] = field(default_factory=list)
    """What is installed differently now (rules, code, norm table): context, not differences."""
    error: str = ""
    stored: Assessment | None = None
    now: Assessment | None = None

    @property
    def same(self) -> bool:
        return not self.error and not self.differences

    def as_json(self) -> dict[str, Any]:
        return {"application_id": self.application_id, "record": self.record_name, "sequence": self.sequence,
                "same": self.same, "differences": self.differences, "changes_since": self.changes_since,
                "error": self.error,
                "stored": _short(self.stored), "now": _short(self.now)}


def _short(assessment: Assessment | None) -> dict[str, Any] | None:
    if assessment is None:
        return None
    return {"proposal": assessment.proposal.value, "amount": assessment.amount, "findings": assessment.finding_codes}


def latest_decisions(chain: RecordChain, since: datetime | None = None) -> list[Entry]:
    """The latest record of each application (a retried report supersedes the earlier one), in order."""
    latest: dict[str, Entry] = {}
    for entry in chain.entries():
        if entry.record is None or entry.kind != "decision":
            continue
        if since is not None and (entry.sealed_at is None or entry.sealed_at < since):
            continue
        latest[str(entry.record["application_id"])] = entry
    return sorted(latest.values(), key=lambda e: e.sequence)


def find_decision(chain: RecordChain, application_id: str) -> Entry | None:
    return next((e for e in reversed(latest_decisions(chain)) if e.record["application_id"] == application_id), None)


def explain_record(record: dict[str, Any]) -> str:
    """The report's text, rendered again from the record alone (the same lines as the report)."""
    guideline = record.get("report", {}).get("guideline") or DEFAULT_GUIDELINE
    return render_text(bundle_of(record), assessment_of(record), guideline)


def report_reproduced(record: dict[str, Any]) -> bool | None:
    """Whether the report rendered from the record is, byte for byte, the text report sealed with it
    (None when the record names no text report)."""
    sealed = record.get("report", {}).get("files", {}).get("txt", {}).get("sha256")
    if not sealed:
        return None
    return hashlib.sha256(explain_record(record).encode("utf-8")).hexdigest() == sealed


def record_header(entry: Entry) -> list[str]:
    """Where the record comes from and what decided, in Swedish (no personal data)."""
    record = entry.record
    rules, norm, decided = record.get("rules", {}), record.get("norm_table", {}), record.get("decided", {})
    sealed = entry.sealed_at
    status = {"official": "officiell", "derived": "delvis härledd"}.get(norm.get("status"), norm.get("status", "–"))
    return [
        f"Beslutspost nr {entry.sequence} ({entry.path.name}), förseglad {local_time(sealed, seconds=True)}",
        "Förseglingen: " + ("intakt" if not entry.problem else f"ÄNDRAD efter förseglingen ({entry.problem})"),
        f"Regler {rules.get('rules_version', '–')} (RULES.md sha256 {str(rules.get('rules_sha256', ''))[:12]}), "
        f"bistand {rules.get('bistand_version', '–')}, normtabell {norm.get('year', '–')} "
        f"(sha256 {str(norm.get('sha256', ''))[:12]}, {status})",
        f"Läge: {decided.get('mode', '–')}, körning {decided.get('runner', '–')}, "
        f"bedömd {local_time(_time(decided.get('assessed_at')), seconds=True)}",
        "Rapporten nedan är återskapad ur posten: " + {
            True: "identisk med den rapport som förseglades med beslutet",
            False: "SKILJER SIG från den rapport som förseglades med beslutet",
            None: "posten anger ingen förseglad rapport"}[report_reproduced(record)],
    ]


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def installed_now(norm_dir: Path, year: int | None = None) -> str:
    """What the re-assessment uses, in one line."""
    line = f"regler {RULES_VERSION}, bistand {bistand.__version__}, normtabeller i {norm_dir}"
    if year is not None and table_path(year, norm_dir.resolve()).is_file():
        line += f" (normtabell {year}: sha256 {sha256_file(table_path(year, norm_dir.resolve()))[:12]})"
    return line


def reassess(entry: Entry, norm_dir: Path) -> Reassessment:
    """The stored inputs assessed again with the engine and norm tables installed now."""
    record = entry.record
    result = Reassessment(str(record.get("application_id", "?")), entry.path.name, entry.sequence)
    try:
        stored = assessment_of(record)
        bundle = bundle_of(record)
    except (KeyError, ValueError) as exc:
        result.error = f"posten kan inte läsas som indata: {type(exc).__name__}"
        return result
    result.stored = stored
    result.changes_since = changes_since(record, stored.norm_year, norm_dir)
    try:
        now = assess(bundle, mode_of(record), now=stored.assessed_at, norm_dir=norm_dir)
    except BistandError as exc:
        result.error = f"{exc.code}: {exc.message}"
        return result
    result.now = now
    result.differences = differences(stored, now)
    return result


def changes_since(record: dict[str, Any], year: int, norm_dir: Path) -> list[str]:
    """Rules, code or norm table installed now that differ from the record's (context for a difference)."""
    then, now = record.get("rules", {}), rules_fingerprint()
    notes = []
    if then.get("rules_version") != now["rules_version"]:
        notes.append(f"Regelversion: {then.get('rules_version')} → {now['rules_version']}")
    if then.get("rules_sha256") != now["rules_sha256"]:
        notes.append("RULES.md har ändrats sedan beslutet")
    if then.get("bistand_version") != now["bistand_version"]:
        notes.append(f"bistand: {then.get('bistand_version')} → {now['bistand_version']}")
    path = table_path(year, norm_dir.resolve())
    norm_hash = sha256_file(path) if path.is_file() else ""
    if norm_hash != record.get("norm_table", {}).get("sha256"):
        notes.append(f"Normtabellen för {year} är en annan fil än vid beslutet" if norm_hash
                     else f"Ingen normtabell för {year} finns installerad")
    return notes


def _kr_change(what: str, before: int | None, after: int | None) -> str:
    return f"{what}: {format_kr(before)} → {format_kr(after)}"


def differences(stored: Assessment, now: Assessment) -> list[str]:
    """Every line of the calculation that differs, in the report's order and words (no names)."""
    lines: list[str] = []
    if stored.proposal != now.proposal:
        lines.append(f"Förslag: {label(PROPOSAL_LABELS, Proposal(stored.proposal))} → "
                     f"{label(PROPOSAL_LABELS, Proposal(now.proposal))}")
    if stored.amount != now.amount:
        lines.append(_kr_change("Belopp", stored.amount, now.amount))

    def norm_key(line) -> tuple[str, str]:
        return (line.table_key or line.label, line.personnummer.full if line.personnummer is not None else "")

    def norm_name(line) -> str:
        who = f", {line.personnummer}" if line.personnummer is not None else ""
        return f"Norm {line.label} ({norm_key_label(line.table_key)}{who})" if line.table_key else \
            f"Norm {line.label}{who}"

    lines += _lines_by_key(stored.norm_lines, now.norm_lines, norm_key, norm_name,
                           lambda line: (line.amount, line.status),
                           lambda name, a, b: f"{name}: {format_kr(a.amount)} ({label(NORM_STATUS_LABELS, a.status)})"
                                              f" → {format_kr(b.amount)} ({label(NORM_STATUS_LABELS, b.status)})")
    lines += _lines_by_key(stored.cost_lines, now.cost_lines, lambda c: c.type.value,
                           lambda c: f"Kostnad {label(COST_LABELS, c.type)}",
                           lambda c: (c.approved, c.cap, c.document_amount),
                           lambda name, a, b: f"{name}: godkänt {format_kr(a.approved)} → {format_kr(b.approved)}"
                                              + ("" if a.cap == b.cap else
                                                 f", tak {format_kr(a.cap)} → {format_kr(b.cap)}"))
    lines += _lines_by_key(stored.income_lines, now.income_lines, lambda i: (i.personnummer.full, i.type.value),
                           lambda i: f"Inkomst {label(INCOME_LABELS, i.type)}, {i.personnummer}",
                           lambda i: (i.counted, i.register_amount, i.job_stimulus_deduction),
                           lambda name, a, b: _kr_change(f"{name}, räknat", a.counted, b.counted))
    for what, before, after in (("Tillgångar över buffert", stored.asset_excess, now.asset_excess),
                                ("Norm totalt", stored.norm_total, now.norm_total),
                                ("Kostnader totalt", stored.costs_total, now.costs_total),
                                ("Inkomster totalt", stored.incomes_total, now.incomes_total),
                                ("Resultat", stored.result, now.result)):
        if before != after:
            lines.append(_kr_change(what, before, after))
    lines += _finding_differences(stored, now)
    return lines


def _lines_by_key(before, after, key, name, value, describe) -> list[str]:
    old = {key(line): line for line in before}
    new = {key(line): line for line in after}
    lines = []
    for k in [*old, *(k for k in new if k not in old)]:
        a, b = old.get(k), new.get(k)
        if a is None:
            lines.append(f"{name(b)}: ny rad")
        elif b is None:
            lines.append(f"{name(a)}: raden faller bort")
        elif value(a) != value(b):
            lines.append(describe(name(a), a, b))
    return lines


def _finding_differences(stored: Assessment, now: Assessment) -> list[str]:
    def described(findings) -> dict[tuple[str, bool], int]:
        counts: dict[tuple[str, bool], int] = {}
        for found in findings:
            counts[(found.code, found.blocking)] = counts.get((found.code, found.blocking), 0) + 1
        return counts

    before, after = described(stored.findings), described(now.findings)
    lines = []
    for (code, blocking) in sorted(set(before) | set(after)):
        title = FINDING_TITLES.get(code, "")
        name = f"Notering {code}{f' ({title})' if title else ''}{', blockerande' if blocking else ''}"
        a, b = before.get((code, blocking), 0), after.get((code, blocking), 0)
        if a and not b:
            lines.append(f"{name}: faller bort")
        elif b and not a:
            lines.append(f"{name}: tillkommer")
        elif a != b:
            lines.append(f"{name}: {a} → {b} gånger")
    return lines
