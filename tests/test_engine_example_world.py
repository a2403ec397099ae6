"""The example world's `expected` outcomes are what the rules engine concludes from the same data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bistand.core.engine import RULES_VERSION, assess
from bistand.core.models import Mode, Proposal
from bistand.core.world_bundles import bundles_from_world, expected_outcomes, outcome_of

SHARED_WORLD = Path("/work/shared/contracts/world-example.json")
REPO_WORLD = Path(__file__).resolve().parent.parent / "devdata" / "worlds" / "example.json"
WORLD = json.loads((SHARED_WORLD if SHARED_WORLD.is_file() else REPO_WORLD).read_text(encoding="utf-8"))
BUNDLES = bundles_from_world(WORLD)
EXPECTED = expected_outcomes(WORLD)
FIRST_APPLICATION_ID = "ANS-2026-000014"


def test_the_example_world_has_twenty_applications_all_with_expected_outcomes():
    assert len(BUNDLES) == 20
    assert set(BUNDLES) == set(EXPECTED)


@pytest.mark.parametrize("application_id", sorted(EXPECTED))
def test_support_mode_gives_the_expected_proposal_amount_and_findings(application_id):
    assessment = assess(BUNDLES[application_id], Mode.SUPPORT)
    assert outcome_of(assessment) == EXPECTED[application_id]


AUTOMATED_ONLY_BLOCKING = {"FIRST_APPLICATION", "NORM_UNVERIFIED"}


@pytest.mark.parametrize("application_id", sorted(EXPECTED))
def test_automated_mode_sends_first_applications_and_unverified_norms_to_a_caseworker(application_id):
    """RULES.md §5: FIRST_APPLICATION and NORM_UNVERIFIED block only in automated mode; the amount
    stays max(result, 0), so approve and reject keep their amounts."""
    expected = dict(EXPECTED[application_id])
    if AUTOMATED_ONLY_BLOCKING & set(expected["findings"]):
        expected["proposal"] = Proposal.MANUAL_REVIEW.value
    assert outcome_of(assess(BUNDLES[application_id], Mode.AUTOMATED)) == expected


def test_the_example_world_has_unverified_norms_decided_only_by_a_caseworker_in_automated_mode():
    unverified = {app for app, outcome in EXPECTED.items() if "NORM_UNVERIFIED" in outcome["findings"]}
    assert unverified == {"ANS-2026-000002", "ANS-2026-000003", "ANS-2026-000019"}
    assert EXPECTED[FIRST_APPLICATION_ID]["proposal"] == Proposal.APPROVE.value
    for application_id in unverified:
        assert assess(BUNDLES[application_id], Mode.AUTOMATED).proposal is Proposal.MANUAL_REVIEW


def test_an_assessment_is_deterministic_and_carries_versions():
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    first = assess(BUNDLES["ANS-2026-000009"], now=now)
    second = assess(BUNDLES["ANS-2026-000009"], now=now)
    assert first == second
    assert first.rules_version == RULES_VERSION
    assert first.norm_year == 2026
    assert first.result == first.norm_total + first.costs_total - first.incomes_total


def test_invalid_frame_problem_names_the_file_sheet_and_cell():
    assessment = assess(BUNDLES["ANS-2026-000017"])
    invalid = next(f for f in assessment.findings if f.code == "FRAME_INVALID")
    assert "EB-2026-0017.xlsx" in invalid.message
    assert "blad Kostnader" in invalid.message and "cell B2" in invalid.message
