"""One decision record's content: the inputs as read, the rules and norm table applied, the outcome.

The record is plain JSON built from the models with `model_dump` (so a field added to a model
is recorded without a change here) and read back with `model_validate`, so `explain` can give
the stored inputs to the engine again. The seal (sequence, previous hash, own hash) is added by
`bistand.records.chain` when the record is appended.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import bistand
from bistand.core.engine import RULES_VERSION
from bistand.core.models import Assessment, CaseBundle, Mode
from bistand.core.norm import load_norm_table, table_path

SCHEMA_ID = "bistand-decision-record/1"
ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = ROOT / "resources" / "rules" / "RULES.md"
"""The rules as shipped with the code: a copy of the domain's RULES.md, updated with RULES_VERSION."""
SCHEMA_FILE = ROOT / "resources" / "schemas" / "decision-record.schema.json"
GENESIS = "0" * 64
"""The `previous_sha256` of the first record of a chain."""


def sha256_file(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def rules_fingerprint(rules_file: Path = RULES_FILE) -> dict[str, str]:
    """Which code and which rules decided: the package version, RULES_VERSION and the rules text's hash."""
    return {
        "bistand_version": bistand.__version__,
        "rules_version": RULES_VERSION,
        "rules_file": rules_file.name,
        "rules_sha256": sha256_file(rules_file) if rules_file.is_file() else "",
    }


def norm_fingerprint(year: int, norm_dir: Path) -> dict[str, Any]:
    """The norm table used: its year, the file's hash, and whether every figure is official.

    The figures themselves are in the outcome's norm lines (amount, status, table key per line).
    """
    table = load_norm_table(year, norm_dir)
    derived = [key for key, value in table.values() if value.status == "derived"]
    return {
        "year": int(year),
        "sha256": sha256_file(table_path(year, norm_dir.resolve())),
        "status": "derived" if derived else "official",
        "derived_keys": derived,
    }


@dataclass(frozen=True)
class ReportFile:
    """One report file written with the record: its path relative to the records folder, and hash."""

    kind: str
    relative_path: str
    sha256: str


def build_record(bundle: CaseBundle, assessment: Assessment, *, runner: str, guideline: str, norm_dir: Path,
                 reports: list[ReportFile]) -> dict[str, Any]:
    """The unsealed record of one assessment (the chain adds `seal`)."""
    return {
        "schema": SCHEMA_ID,
        "kind": "decision",
        "application_id": assessment.application_id,
        "case_number": assessment.case_number,
        "period": assessment.period,
        "decided": {
            "mode": Mode(assessment.mode).value,
            "runner": runner,
            "assessed_at": assessment.assessed_at.isoformat(),
        },
        "rules": rules_fingerprint(),
        "norm_table": norm_fingerprint(assessment.norm_year, norm_dir),
        "inputs": bundle.model_dump(mode="json"),
        "outcome": assessment.model_dump(mode="json"),
        "report": {
            "guideline": guideline,
            "files": {f.kind: {"path": f.relative_path, "sha256": f.sha256} for f in reports},
        },
    }


def bundle_of(record: dict[str, Any]) -> CaseBundle:
    """The inputs exactly as the bot read them, as the engine takes them."""
    return CaseBundle.model_validate(record["inputs"])


def assessment_of(record: dict[str, Any]) -> Assessment:
    """The outcome as it was decided."""
    return Assessment.model_validate(record["outcome"])


def mode_of(record: dict[str, Any]) -> Mode:
    return Mode(record["decided"]["mode"])


def sealed_at(record: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(record["seal"]["sealed_at"])
    except (KeyError, TypeError, ValueError):
        return None
