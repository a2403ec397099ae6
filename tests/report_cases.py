"""Households whose reports the snapshot and layout tests render: built the same way every time.

The builders' personnummer serials are process-wide; each case starts them afresh, so a case's
report does not depend on which tests ran before it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import bistand
import tests.builders as builders
from bistand.core.engine import assess
from bistand.core.models import Assessment, CaseBundle, Mode, SourceRead
from tests.builders import HouseholdBuilder, household

NOW = datetime(2026, 11, 23, 8, 15, tzinfo=UTC)
COST_TYPES = ["hyra", "hushallsel", "hemforsakring", "fackavgift", "akassa", "arbetsresor", "barnomsorg",
              "lakarvard", "medicin", "tandvard", "glasogon", "ovrigt"]


def fresh(*, single: bool = True) -> HouseholdBuilder:
    builders._serials = itertools.count(100)
    return household(single=single)


def with_sources(bundle: CaseBundle) -> CaseBundle:
    systems = ["eservice", "casemgmt", "fk", "csn", "pm", "akassa", "af", "skv", "frame"]
    detail = {"eservice": "ANS-2026-900001", "casemgmt": "EB-2026-9999", "frame": "EB-2026-9999.xlsx"}
    return bundle.model_copy(update={"sources": [
        SourceRead(system=system, read_at=datetime(2026, 11, 23, 8, 14, index, tzinfo=UTC),
                   detail=detail.get(system, ""))
        for index, system in enumerate(systems)
    ]})


def single_person() -> CaseBundle:
    """One adult, rent above the frame, home insurance (no document needed), a salary that differs."""
    return with_sources(
        fresh().with_rent(7400, cap=6900).with_cost("hemforsakring", 180, attachments=()).with_cap("hemforsakring", 200)
        .declaring("applicant", "lon", 3000).salary_in_register("applicant", gross=4200, tax=900)
        .build())


def automated_decision() -> CaseBundle:
    """A reapplication the robot decides in automated mode: official norm values, no blocking finding."""
    return with_sources(fresh().with_rent(6200).with_cost("hushallsel", 300).with_cap("hushallsel", 400).build())


def household_of(children: int, costs: int = 0) -> CaseBundle:
    """Applicant, partner and `children` children of several ages, `costs` cost types, incomes for all."""
    builder = fresh(single=False)
    for index in range(children):
        builder.with_child([3, 5, 9, 9, 12, 13, 17][index % 7], in_school=True)
    for index, cost_type in enumerate(COST_TYPES[:costs]):
        builder.with_cost(cost_type, 100 * (index + 1), cap=100 * (index + 1) + 50)
    builder.declaring("applicant", "lon", 9000).salary_in_register("applicant", gross=12000, tax=3000)
    builder.declaring("partner", "sjukpenning", 4000).register_shows("partner", "sjukpenning", 4100)
    for number in range(1, children + 1):
        builder.declaring(f"child{number}", "barnbidrag", 1250).register_shows(f"child{number}", "barnbidrag", 1250)
    return with_sources(builder.build())


def household_of_nine() -> CaseBundle:
    return household_of(7, costs=4)


def assessed(bundle: CaseBundle, mode: Mode = Mode.SUPPORT) -> tuple[CaseBundle, Assessment]:
    return bundle, assess(bundle, mode, now=NOW)


def normalised(report: str) -> str:
    """A report with what changes between releases (the bot's version) replaced by a marker."""
    return report.replace(bistand.__version__, "<bot-version>")
