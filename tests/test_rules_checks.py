"""RULES.md §5 and §6: frame, population register, AF, CSN, expected incomes, first application; proposal."""

from __future__ import annotations

from datetime import date

import pytest

from bistand.core.engine import assess
from bistand.core.models import Mode, Proposal, Register
from bistand.core.rules.result import propose
from tests.builders import household


def only(assessment, code):
    matches = [f for f in assessment.findings if f.code == code]
    assert len(matches) == 1
    return matches[0]


# --- reference frame --------------------------------------------------------------------------

def test_a_missing_frame_blocks_and_the_result_is_the_norm_alone():
    assessment = assess(household().with_rent(7000).without_frame().build())
    assert only(assessment, "FRAME_MISSING").blocking
    assert (assessment.proposal, assessment.amount) == (Proposal.MANUAL_REVIEW, assessment.norm_total)


def test_an_invalid_frame_names_the_problem_and_ignores_conditions_and_expected_incomes():
    builder = household().requiring_af_registration().expecting_income("applicant", "barnbidrag")
    builder.with_invalid_frame("EB-2026-9999.xlsx, blad Kostnader, cell B4: text där ett belopp ska stå.")
    assessment = assess(builder.build())
    assert assessment.finding_codes == ["FRAME_INVALID"]
    assert "cell B4" in only(assessment, "FRAME_INVALID").message


def test_a_frame_ending_before_the_period_is_expired_but_its_caps_still_apply():
    builder = household().with_rent(8000, cap=7000).with_frame_valid(date(2026, 7, 1), date(2026, 11, 30))
    assessment = assess(builder.build())
    assert assessment.finding_codes == ["COST_CAPPED", "FRAME_EXPIRED"]
    assert assessment.cost_lines[0].approved == 7000


def test_a_frame_ending_mid_period_is_expired():
    builder = household().with_frame_valid(date(2026, 1, 1), date(2026, 12, 30))
    assert assess(builder.build()).finding_codes == ["FRAME_EXPIRED"]


def test_a_frame_covering_exactly_the_period_is_not_expired():
    builder = household().with_frame_valid(date(2026, 12, 1), date(2026, 12, 31))
    assert assess(builder.build()).findings == []


# --- Skatteverket -----------------------------------------------------------------------------

def test_someone_else_registered_at_the_address_is_a_household_mismatch():
    assessment = assess(household().with_someone_else_registered_at_the_address().build())
    found = only(assessment, "HOUSEHOLD_MISMATCH")
    assert found.source is Register.SKV and found.data["registered_not_declared"]


def test_a_declared_child_not_registered_at_the_address_is_a_household_mismatch():
    builder = household().with_child(5).not_in_population_register("child1")
    found = only(assess(builder.build()), "HOUSEHOLD_MISMATCH")
    assert found.data["not_registered_at_address"] == builder.pnr("child1").full


def test_an_applicant_unknown_to_skatteverket_is_a_mismatch_without_a_municipality_check():
    assessment = assess(household().not_in_population_register().registered_in("Lund").build())
    assert assessment.finding_codes == ["HOUSEHOLD_MISMATCH"]


def test_an_applicant_registered_in_another_municipality_blocks():
    assessment = assess(household().registered_in("Lund").build())
    found = only(assessment, "ADDRESS_OUTSIDE_MUNICIPALITY")
    assert found.blocking and found.data["registered_municipality"] == "Lund"


# --- Arbetsförmedlingen, CSN, expected incomes --------------------------------------------------

def test_af_condition_for_a_registered_person_is_met():
    builder = household().requiring_af_registration().af_shows("applicant", registered=True)
    assert assess(builder.build()).findings == []


def test_af_condition_for_a_person_not_registered_blocks():
    builder = household().requiring_af_registration().af_shows("applicant", registered=False)
    assert only(assess(builder.build()), "AF_NOT_REGISTERED").data["af_known"] == "yes"


def test_af_condition_for_a_person_unknown_to_af_counts_as_not_registered():
    builder = household().requiring_af_registration()
    assert only(assess(builder.build()), "AF_NOT_REGISTERED").data["af_known"] == "no"


def test_af_registration_starting_after_the_period_does_not_meet_the_condition():
    builder = household().requiring_af_registration().af_shows("applicant", registered=True, since=date(2027, 1, 1))
    assert "AF_NOT_REGISTERED" in assess(builder.build()).finding_codes


def test_an_adult_with_studiemedel_for_the_period_is_studying():
    builder = household().register_shows("applicant", "studiemedel", 11000).declaring("applicant", "studiemedel", 11000)
    found = only(assess(builder.build()), "STUDIES")
    assert found.blocking and found.data["studiemedel"] == 11000


def test_a_school_youth_with_studiemedel_is_not_a_studies_finding():
    builder = household().with_child(19, in_school=True).register_shows("child1", "studiemedel", 3000)
    builder.declaring("child1", "studiemedel", 3000)
    assert "STUDIES" not in assess(builder.build()).finding_codes


def test_an_expected_income_nobody_shows_is_informational():
    builder = household().expecting_income("applicant", "barnbidrag", 2500)
    found = only(assess(builder.build()), "EXPECTED_INCOME_MISSING")
    assert not found.blocking and found.data["expected_amount"] == 2500


@pytest.mark.parametrize("shown_by", ["register", "declaration"])
def test_an_expected_income_shown_by_a_register_or_the_declaration_is_not_missing(shown_by):
    builder = household().expecting_income("applicant", "barnbidrag")
    if shown_by == "register":
        builder.register_shows("applicant", "barnbidrag", 1250)
    builder.declaring("applicant", "barnbidrag", 1250 if shown_by == "declaration" else 0)
    assert "EXPECTED_INCOME_MISSING" not in assess(builder.build()).finding_codes


# --- first application, modes and the proposal -------------------------------------------------

def test_a_first_application_is_informational_in_support_mode():
    assessment = assess(household().first_application().build(), Mode.SUPPORT)
    assert not only(assessment, "FIRST_APPLICATION").blocking
    assert assessment.proposal is Proposal.APPROVE


def test_a_first_application_blocks_in_automated_mode_with_the_same_amount():
    support = assess(household().first_application().build(), Mode.SUPPORT)
    automated = assess(household().first_application().build(), Mode.AUTOMATED)
    assert only(automated, "FIRST_APPLICATION").blocking
    assert (automated.proposal, automated.amount, automated.mode) == (Proposal.MANUAL_REVIEW, support.amount,
                                                                      Mode.AUTOMATED)


def test_incomes_above_the_need_give_a_reject_with_zero():
    builder = household().register_shows("applicant", "sjukersattning", 20000)
    builder.declaring("applicant", "sjukersattning", 20000)
    assessment = assess(builder.build())
    assert assessment.result < 0
    assert (assessment.proposal, assessment.amount) == (Proposal.REJECT, 0)


def test_a_negative_result_under_manual_review_shows_zero():
    builder = household().register_shows("applicant", "sjukersattning", 20000)
    assessment = assess(builder.build())
    assert (assessment.proposal, assessment.amount) == (Proposal.MANUAL_REVIEW, 0)


def test_a_result_of_exactly_zero_is_a_reject():
    assert propose(0, []) == (Proposal.REJECT, 0)


def test_findings_are_sorted_blocking_first_then_by_code():
    builder = (household().with_rent(8000, cap=7000).with_bank_balance(5000).registered_in("Lund")
               .register_shows("applicant", "pension", 100))
    codes = [f.code for f in assess(builder.build()).findings]
    assert codes == ["ADDRESS_OUTSIDE_MUNICIPALITY", "INCOME_UNDECLARED", "ASSETS_COUNTED", "COST_CAPPED"]


# --- one month, one decision (DUPLICATE_PERIOD) -------------------------------------------------

def duplicates(assessment):
    return [f for f in assessment.findings if f.code == "DUPLICATE_PERIOD"]


@pytest.mark.parametrize("mode", [Mode.SUPPORT, Mode.AUTOMATED])
def test_a_second_application_for_the_same_month_blocks_in_both_modes_and_is_named(mode):
    plain = assess(household().with_rent(6000).build(), mode)
    twice = assess(household().with_rent(6000).with_other_application("ANS-2026-900002", status="Beslutad").build(),
                   mode)
    found = only(twice, "DUPLICATE_PERIOD")
    assert found.blocking and found.source is Register.ESERVICE
    assert found.data["other_application"] == "ANS-2026-900002" and found.data["status"] == "Beslutad"
    assert "ANS-2026-900002" in found.message and found.message.startswith(
        "Ansökan gäller en månad som redan har ett beslut eller en annan ansökan")
    assert (twice.proposal, twice.amount) == (Proposal.MANUAL_REVIEW, plain.amount)


def test_each_of_several_other_applications_is_named_in_the_order_they_came_in():
    bundle = (household().with_other_application("ANS-2026-900009", received=date(2026, 11, 23))
              .with_other_application("ANS-2026-900003", received=date(2026, 11, 22)).build())
    assert [f.data["other_application"] for f in duplicates(assess(bundle))] == ["ANS-2026-900003", "ANS-2026-900009"]


def test_a_decision_in_the_case_history_for_the_month_blocks_and_is_named_by_period_and_decision():
    assessment = assess(household().with_decision_for("2026-12", "reject", 0).build(), Mode.AUTOMATED)
    found = only(assessment, "DUPLICATE_PERIOD")
    assert found.blocking and found.source is Register.CASEMGMT
    assert (found.data["decision_period"], found.data["decision"]) == ("2026-12", "reject")
    assert "2026-12" in found.message and "avslå" in found.message
    assert assessment.proposal is Proposal.MANUAL_REVIEW


def test_a_decision_registered_on_another_application_names_it_and_its_date():
    assessment = assess(household().with_registered_decision("ANS-2026-900007", registered="2026-11-24 10:15").build())
    found = only(assessment, "DUPLICATE_PERIOD")
    assert (found.data["other_application"], found.data["decided"]) == ("ANS-2026-900007", "2026-11-24 10:15")
    assert "ANS-2026-900007" in found.message and "2026-11-24 10:15" in found.message


def test_the_applications_own_decision_on_a_rerun_is_not_another_decision():
    assessment = assess(household().with_rent(6000).with_registered_decision("ANS-2026-900001").build(),
                        Mode.AUTOMATED)
    assert duplicates(assessment) == []
    assert assessment.proposal is Proposal.APPROVE


def test_the_same_households_applications_and_decisions_for_other_months_are_not_duplicates():
    bundle = (household().with_previous_decisions("approve", "approve")
              .with_other_application("ANS-2026-900002", period="2026-11")
              .with_registered_decision("ANS-2026-900002", period="2026-11").build())
    assert duplicates(assess(bundle, Mode.AUTOMATED)) == []
