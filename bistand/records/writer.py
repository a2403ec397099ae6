"""The one place a report is written: together with its decision record, never one without the other.

The text and HTML are rendered first; then, under the records folder's lock, the record is
sealed and written, the report files are written beside it under temporary names, and all are
renamed into place (the record first) before the head moves on. A failure before the renames
leaves neither; a crash between them leaves a record whose report is missing, which `records
verify` names. The PDF (printed later, from the same HTML) is not part of the record.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bistand.core.ids import checked_application_id
from bistand.core.models import Assessment, CaseBundle
from bistand.records.chain import RecordChain, write_private
from bistand.records.record import ReportFile, build_record
from bistand.report import html as html_report
from bistand.report import text as text_report

REPORT_KINDS = ("txt", "html")
"""The report files sealed with the record (the PDF prints afterwards and is not)."""


@dataclass(frozen=True)
class WrittenDecision:
    text: str
    html: str
    report_paths: dict[str, Path]
    """txt, html and pdf (the PDF's path, printed by the caller)."""
    record: dict[str, Any]
    record_path: Path


def report_paths(reports_dir: Path, application_id: str) -> dict[str, Path]:
    """The report files of an application; its id is checked first (a file name: never a path)."""
    name = checked_application_id(application_id)
    return {kind: reports_dir / f"{name}.{kind}" for kind in ("txt", "html", "pdf")}


def write_report_and_record(bundle: CaseBundle, assessment: Assessment, *, reports_dir: Path, records_dir: Path,
                            runner: str, guideline: str, norm_dir: Path) -> WrittenDecision:
    """Render the report, then write its text and HTML and the sealed decision record together."""
    text = text_report.render_text(bundle, assessment, guideline)
    html = html_report.render_html(bundle, assessment, guideline)
    paths = report_paths(reports_dir, assessment.application_id)
    contents = {"txt": text.encode("utf-8"), "html": html.encode("utf-8")}
    files = [ReportFile(kind, os.path.relpath(paths[kind], records_dir), hashlib.sha256(contents[kind]).hexdigest())
             for kind in REPORT_KINDS]
    record = build_record(bundle, assessment, runner=runner, guideline=guideline, norm_dir=norm_dir, reports=files)

    def stage_reports(_sealed: dict[str, Any]) -> list[tuple[Path, Path]]:
        staged: list[tuple[Path, Path]] = []
        try:
            for kind in REPORT_KINDS:
                # No fsync for the reports (as before records): the record on disk is the evidence,
                # and `explain` renders the same report from it byte for byte.
                staged.append((write_private(paths[kind], contents[kind], durable=False), paths[kind]))
        except BaseException:
            for temporary, _ in staged:
                temporary.unlink(missing_ok=True)
            raise
        return staged

    sealed, record_path = RecordChain(records_dir).append(record, assessment.application_id,
                                                          with_files=stage_reports)
    return WrittenDecision(text=text, html=html, report_paths=paths, record=sealed, record_path=record_path)
