"""One function from a case bundle to an assessment: RULES.md §1–§6 composed in order.

`RULES_VERSION` names the version of RULES.md the code implements ("<year>.<month>-<n>");
bump it whenever a rule's behaviour changes, and record the change in docs/rules.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import bistand
from bistand.core.models import Assessment, CaseBundle, Finding, Mode
from bistand.core.norm import load_norm_table
from bistand.core.rules.checks import (
    af_condition_findings,
    duplicate_period_findings,
    expected_income_findings,
    first_application_findings,
    frame_findings,
    population_findings,
    studies_findings,
)
from bistand.core.rules.costs import cost_lines
from bistand.core.rules.household import household_structure_findings
from bistand.core.rules.incomes import asset_excess, income_lines
from bistand.core.rules.norm_rules import norm_lines, norm_unverified_findings
from bistand.core.rules.result import calculate_result, propose

RULES_VERSION = "2026.12-1"


def _finding_order(found: Finding) -> tuple:
    return (not found.blocking, found.code, sorted((k, str(v)) for k, v in found.data.items()), found.message)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Deterministic order: blocking first, then by code, then by the data that raised them."""
    return sorted(findings, key=_finding_order)


def assess(
    bundle: CaseBundle, mode: Mode = Mode.SUPPORT, *, now: datetime | None = None, norm_dir: Path | None = None
) -> Assessment:
    """Apply RULES.md to one application, with the norm tables in `norm_dir` (default resources/norm/).

    Raises ApplicationError when the period's norm table is missing.
    """
    application, frame = bundle.application, bundle.frame
    mode = Mode(mode)
    norm_year = application.period_start.year
    table = load_norm_table(norm_year, norm_dir)

    findings: list[Finding] = household_structure_findings(application)
    lines_norm, norm_found = norm_lines(application, table)
    lines_cost, cost_found = cost_lines(application, frame)
    lines_income, income_found = income_lines(application, bundle.records, bundle.case)
    excess, assets_found = asset_excess(application, frame)
    findings += norm_found + cost_found + income_found + ([assets_found] if assets_found else [])
    findings += frame_findings(frame, application.period)
    findings += population_findings(application, bundle.records)
    findings += af_condition_findings(application, frame, bundle.records)
    findings += studies_findings(application, bundle.records)
    findings += expected_income_findings(application, frame, bundle.records)
    findings += first_application_findings(application, mode)
    findings += duplicate_period_findings(application, bundle.case, bundle.case_applications)
    findings += norm_unverified_findings(lines_norm, table, mode)
    findings = sort_findings(findings)

    norm_total = sum(line.amount for line in lines_norm)
    costs_total = sum(line.approved for line in lines_cost)
    incomes_total = sum(line.counted for line in lines_income) + excess
    result = calculate_result(norm_total, costs_total, incomes_total)
    proposal, amount = propose(result, findings)
    return Assessment(
        application_id=application.application_id, case_number=application.case_number,
        period=application.period, mode=mode, norm_year=norm_year,
        norm_lines=lines_norm, cost_lines=lines_cost, income_lines=lines_income, asset_excess=excess,
        findings=findings, norm_total=norm_total, costs_total=costs_total, incomes_total=incomes_total,
        result=result, proposal=proposal, amount=amount,
        bot_version=bistand.__version__, rules_version=RULES_VERSION,
        assessed_at=now or datetime.now(UTC),
    )
