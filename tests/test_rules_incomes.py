"""RULES.md §4: incomes against registers, job stimulus and assets."""

from __future__ import annotations

import pytest

from bistand.core.engine import assess
from bistand.core.models import IncomeType, Register
from bistand.core.rules.incomes import job_stimulus_deduction
from tests.builders import household

SIX_APPROVALS = ("approve",) * 6


def income_line(assessment, pnr, income_type):
    return next(line for line in assessment.income_lines
                if line.personnummer == pnr and line.type is IncomeType(income_type))


def only(assessment, code):
    matches = [f for f in assessment.findings if f.code == code]
    assert len(matches) == 1
    return matches[0]


def test_a_declared_income_equal_to_the_register_is_counted_without_findings():
    builder = household().declaring("applicant", "sjukpenning", 6200).register_shows("applicant", "sjukpenning", 6200)
    assessment = assess(builder.build())
    line = income_line(assessment, builder.pnr("applicant"), "sjukpenning")
    assert (line.declared, line.register_amount, line.counted, line.source_register) == (6200, 6200, 6200, Register.FK)
    assert assessment.findings == []


def test_a_declared_income_different_from_the_register_counts_the_register():
    builder = household().declaring("applicant", "sjukpenning", 5000).register_shows("applicant", "sjukpenning", 6200)
    assessment = assess(builder.build())
    assert income_line(assessment, builder.pnr("applicant"), "sjukpenning").counted == 6200
    mismatch = only(assessment, "INCOME_MISMATCH")
    assert mismatch.blocking and mismatch.source is Register.FK
    assert mismatch.data["personnummer"] == builder.pnr("applicant").full
    assert (mismatch.data["declared"], mismatch.data["register_amount"]) == (5000, 6200)


def test_an_undeclared_register_income_is_counted_and_blocks():
    builder = household().register_shows("applicant", "akassa_ersattning", 9100)
    assessment = assess(builder.build())
    line = income_line(assessment, builder.pnr("applicant"), "akassa_ersattning")
    assert (line.declared, line.counted, line.source_register) == (0, 9100, Register.AKASSA)
    assert only(assessment, "INCOME_UNDECLARED").blocking


def test_a_declared_zero_counts_as_not_declared():
    builder = household().declaring("applicant", "pension", 0).register_shows("applicant", "pension", 4000)
    assessment = assess(builder.build())
    assert assessment.finding_codes == ["INCOME_UNDECLARED"]


def test_a_declared_income_missing_in_the_register_is_counted_as_declared_and_informational():
    builder = household().declaring("applicant", "bostadsbidrag", 1500)
    assessment = assess(builder.build())
    assert income_line(assessment, builder.pnr("applicant"), "bostadsbidrag").counted == 1500
    assert not only(assessment, "INCOME_NOT_IN_REGISTER").blocking
    assert assessment.proposal.value == "approve"


def test_ovrig_inkomst_has_no_register_and_is_counted_as_declared():
    builder = household().declaring("applicant", "ovrig_inkomst", 800)
    assessment = assess(builder.build())
    line = income_line(assessment, builder.pnr("applicant"), "ovrig_inkomst")
    assert (line.source_register, line.register_amount, line.counted) == (None, None, 800)
    assert assessment.findings == []


def test_net_salary_is_gross_minus_tax_from_the_employer_declarations():
    builder = household().salary_in_register("applicant", gross=12000, tax=2400).declaring("applicant", "lon", 9600)
    line = income_line(assess(builder.build()), builder.pnr("applicant"), "lon")
    assert (line.register_amount, line.counted, line.source_register) == (9600, 9600, Register.SKV)


def test_register_rows_for_another_period_are_not_counted():
    builder = household().register_shows("applicant", "sjukpenning", 3000, period="2026-11")
    assessment = assess(builder.build())
    assert assessment.income_lines == []
    assert assessment.findings == []


def test_an_income_declared_for_someone_outside_the_household_is_not_counted():
    builder = household().with_child(5)
    bundle = builder.build()
    outsider = household().with_partner()
    declared = bundle.application.declared_incomes + [
        *outsider.declaring("partner", "lon", 5000).build().application.declared_incomes]
    bundle = bundle.model_copy(update={"application": bundle.application.model_copy(
        update={"declared_incomes": declared})})
    assert assess(bundle).incomes_total == 0


# --- job stimulus -----------------------------------------------------------------------------

def salaried_couple(*decisions):
    return (household(single=False).with_previous_decisions(*decisions)
            .salary_in_register("applicant", gross=10000, tax=2001).declaring("applicant", "lon", 7999)
            .salary_in_register("partner", gross=5000, tax=1000).declaring("partner", "lon", 4000))


def test_job_stimulus_after_six_approved_months_leaves_out_a_quarter_of_each_salary_rounded_down():
    builder = salaried_couple(*SIX_APPROVALS)
    assessment = assess(builder.build())
    applicant = income_line(assessment, builder.pnr("applicant"), "lon")
    partner = income_line(assessment, builder.pnr("partner"), "lon")
    assert (applicant.job_stimulus_deduction, applicant.counted) == (7999 * 25 // 100, 7999 - 7999 * 25 // 100)
    assert applicant.job_stimulus_deduction == 1999
    assert (partner.job_stimulus_deduction, partner.counted) == (1000, 3000)
    assert assessment.incomes_total == applicant.counted + partner.counted


def test_no_job_stimulus_after_only_five_approved_months():
    builder = salaried_couple(*("approve",) * 5)
    assert income_line(assess(builder.build()), builder.pnr("applicant"), "lon").job_stimulus_deduction == 0


def test_no_job_stimulus_when_one_of_the_six_months_was_rejected():
    builder = salaried_couple("approve", "approve", "reject", "approve", "approve", "approve")
    assert income_line(assess(builder.build()), builder.pnr("partner"), "lon").job_stimulus_deduction == 0


def test_job_stimulus_does_not_apply_to_an_other_adults_salary():
    builder = (household().with_other_adult().with_previous_decisions(*SIX_APPROVALS)
               .salary_in_register("adult1", gross=4000, tax=0).declaring("adult1", "lon", 4000))
    assert income_line(assess(builder.build()), builder.pnr("adult1"), "lon").job_stimulus_deduction == 0


@pytest.mark.parametrize("salary", [0, 1, 3, 4, 7999, 10000])
def test_job_stimulus_deduction_is_the_floor_of_a_quarter(salary):
    assert job_stimulus_deduction(salary) == salary // 4
    assert job_stimulus_deduction(salary) * 4 <= salary


# --- assets -----------------------------------------------------------------------------------

def test_a_bank_balance_exactly_at_the_buffer_is_not_counted():
    assessment = assess(household().with_bank_balance(3000, buffer=3000).build())
    assert assessment.asset_excess == 0
    assert assessment.findings == []


def test_a_bank_balance_above_the_buffer_counts_the_excess_as_income():
    assessment = assess(household().with_bank_balance(4000, buffer=1000).build())
    assert assessment.asset_excess == 3000
    assert assessment.incomes_total == 3000
    found = only(assessment, "ASSETS_COUNTED")
    assert not found.blocking and found.data["excess"] == 3000


def test_without_a_frame_the_whole_bank_balance_is_counted():
    assessment = assess(household().with_bank_balance(2500, buffer=1000).without_frame().build())
    assert assessment.asset_excess == 2500
