"""RULES.md §1–§2: ages on the period's first day, the norm per person and the common costs."""

from __future__ import annotations

from datetime import date

import pytest

from bistand.core.engine import assess
from bistand.core.errors import ApplicationError
from bistand.core.models import Mode, Proposal
from bistand.core.norm import load_norm_table
from bistand.core.rules.norm_rules import child_band, norm_lines, unverified_norm_values
from tests.builders import born_years_before, household

PERIOD = "2026-12"
TABLE = load_norm_table(2026)


def norm_line(assessment, pnr):
    return next(line for line in assessment.norm_lines if line.personnummer == pnr)


def common_line(assessment):
    return next(line for line in assessment.norm_lines if line.personnummer is None)


def codes(assessment):
    return assessment.finding_codes


# --- age bands on the period's first day --------------------------------------------------------

@pytest.mark.parametrize(("turns", "band_on_the_first", "band_on_the_second"), [
    (1, "1-2", "0"), (3, "3", "1-2"), (4, "4-6", "3"), (7, "7-10", "4-6"),
    (11, "11-14", "7-10"), (15, "15-18", "11-14"), (19, "19-20", "15-18"),
])
def test_a_child_turning_an_age_band_edge_on_the_first_is_in_the_new_band_on_the_second_in_the_old(
        turns, band_on_the_first, band_on_the_second):
    on_first = household().with_child(born=born_years_before(PERIOD, turns), in_school=True)
    on_second = household().with_child(born=born_years_before(PERIOD, turns, days_after_first=1), in_school=True)
    first = norm_line(assess(on_first.build()), on_first.pnr("child1"))
    second = norm_line(assess(on_second.build()), on_second.pnr("child1"))
    assert (first.table_key, first.amount) == (f"children.{band_on_the_first}", TABLE.child(band_on_the_first).amount)
    assert (second.table_key, second.amount) == (f"children.{band_on_the_second}",
                                                 TABLE.child(band_on_the_second).amount)


def test_a_child_turning_21_on_the_first_is_out_of_scope_but_on_the_second_still_a_school_youth():
    on_first = household().with_child(born=born_years_before(PERIOD, 21), in_school=True)
    on_second = household().with_child(born=born_years_before(PERIOD, 21, days_after_first=1), in_school=True)
    first = assess(on_first.build())
    second = assess(on_second.build())
    assert norm_line(first, on_first.pnr("child1")).status == "not_counted"
    assert norm_line(first, on_first.pnr("child1")).amount == 0
    assert "NORM_OUT_OF_SCOPE" in codes(first)
    assert norm_line(second, on_second.pnr("child1")).table_key == "children.19-20"
    assert "NORM_OUT_OF_SCOPE" not in codes(second)


def test_a_samordningsnummer_child_gets_its_age_from_the_day_minus_sixty():
    builder = household().with_child(born=born_years_before(PERIOD, 4), samordningsnummer=True)
    assert builder.pnr("child1").is_samordningsnummer
    assert norm_line(assess(builder.build()), builder.pnr("child1")).table_key == "children.4-6"


def test_a_samordningsnummer_child_born_on_the_second_is_still_in_the_younger_band():
    builder = household().with_child(born=born_years_before(PERIOD, 4, days_after_first=1), samordningsnummer=True)
    assert norm_line(assess(builder.build()), builder.pnr("child1")).table_key == "children.3"


@pytest.mark.parametrize(("age", "band"), [(0, "0"), (2, "1-2"), (6, "4-6"), (10, "7-10"), (14, "11-14"),
                                           (18, "15-18"), (20, "19-20"), (21, None), (-1, None)])
def test_child_band_covers_every_age_up_to_twenty(age, band):
    assert child_band(age) == band


# --- youths, lunch at home, other adults ------------------------------------------------------

def test_a_youth_of_19_in_school_gets_the_youth_norm():
    builder = household().with_child(19, in_school=True)
    line = norm_line(assess(builder.build()), builder.pnr("child1"))
    assert (line.table_key, line.amount, line.status) == ("children.19-20", TABLE.child("19-20").amount,
                                                          TABLE.child("19-20").status)


def test_a_youth_of_20_not_in_school_is_out_of_scope_and_still_counts_in_the_household_size():
    builder = household().with_child(20, in_school=False)
    assessment = assess(builder.build())
    assert norm_line(assessment, builder.pnr("child1")).amount == 0
    assert "NORM_OUT_OF_SCOPE" in codes(assessment)
    assert common_line(assessment).amount == TABLE.common_for(2).amount
    assert assessment.proposal.value == "manual_review"


@pytest.mark.parametrize("age", [0, 3, 6])
def test_a_child_of_zero_to_six_eating_lunch_at_home_is_out_of_scope(age):
    builder = household().with_child(age, lunch_at_home=True)
    assessment = assess(builder.build())
    finding = next(f for f in assessment.findings if f.code == "NORM_OUT_OF_SCOPE")
    assert finding.blocking
    assert finding.data["reason"] == "lunch_at_home"
    assert finding.data["personnummer"] == builder.pnr("child1").full
    assert norm_line(assessment, builder.pnr("child1")).status == "not_counted"


def test_lunch_at_home_does_not_matter_from_seven():
    builder = household().with_child(7, lunch_at_home=True)
    assessment = assess(builder.build())
    assert "NORM_OUT_OF_SCOPE" not in codes(assessment)
    assert norm_line(assessment, builder.pnr("child1")).amount == TABLE.child("7-10").amount


def test_an_other_adult_is_out_of_scope_but_counts_in_the_common_costs():
    builder = household().with_other_adult()
    assessment = assess(builder.build())
    assert norm_line(assessment, builder.pnr("adult1")).status == "not_counted"
    assert common_line(assessment).table_key == "common.2"
    assert assessment.norm_total == TABLE.adults["single"].amount + TABLE.common_for(2).amount


# --- adults -----------------------------------------------------------------------------------

def test_a_single_applicant_gets_the_single_adult_norm_and_common_costs_for_one():
    builder = household(single=True)
    assessment = assess(builder.build())
    line = norm_line(assessment, builder.pnr("applicant"))
    assert (line.label, line.table_key) == ("Vuxen, ensamstående", "adults.single")
    assert assessment.norm_total == TABLE.adults["single"].amount + TABLE.common[1].amount


def test_applicant_and_partner_get_the_couple_norm_once():
    builder = household(single=False)
    assessment = assess(builder.build())
    assert norm_line(assessment, builder.pnr("applicant")).amount == TABLE.adults["couple"].amount
    assert norm_line(assessment, builder.pnr("partner")).amount == 0
    assert assessment.norm_total == TABLE.adults["couple"].amount + TABLE.common[2].amount


def test_norm_lines_carry_the_table_status_official_or_derived():
    builder = household().with_child(12).with_child(8)
    assessment = assess(builder.build())
    assert norm_line(assessment, builder.pnr("child1")).status == TABLE.child("11-14").status == "official"
    assert norm_line(assessment, builder.pnr("child2")).status == TABLE.child("7-10").status == "derived"


# --- common costs -----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [7, 8, 10])
def test_common_costs_above_seven_add_the_seven_minus_six_step_per_extra_member(size):
    builder = household(single=False).with_children(size - 2, age=9)
    line = common_line(assess(builder.build()))
    step = TABLE.common[7].amount - TABLE.common[6].amount
    assert line.amount == TABLE.common[7].amount + (size - 7) * step
    assert line.label == f"Gemensamma hushållskostnader, {size} personer"
    assert line.table_key == ("common.7" if size == 7 else "common.7+")


# --- unclear households (RULES.md silent: HOUSEHOLD_UNCLEAR) ----------------------------------

def test_a_child_not_yet_born_on_the_first_makes_the_household_unclear_and_is_not_counted():
    builder = household().with_child(born=date(2026, 12, 2))
    assessment = assess(builder.build())
    assert "HOUSEHOLD_UNCLEAR" in codes(assessment)
    assert common_line(assessment).table_key == "common.1"
    assert norm_line(assessment, builder.pnr("child1")).status == "not_counted"


def test_two_applicants_make_the_household_unclear():
    assert "HOUSEHOLD_UNCLEAR" in codes(assess(household().with_second_applicant().build()))


def test_two_partners_make_the_household_unclear():
    builder = household(single=False)
    builder._add("partner2", builder.members["partner"].role, date(1990, 1, 1))
    assert "HOUSEHOLD_UNCLEAR" in codes(assess(builder.build()))


def test_a_partner_without_an_applicant_makes_the_household_unclear_and_is_normed_as_single():
    builder = household(single=False).without_applicant()
    assessment = assess(builder.build())
    assert "HOUSEHOLD_UNCLEAR" in codes(assessment)
    assert norm_line(assessment, builder.pnr("partner")).table_key == "adults.single"
    assert assessment.proposal.value == "manual_review"


# --- the table for the period's year ----------------------------------------------------------

def test_a_period_in_2023_uses_the_2023_table():
    assessment = assess(household(period="2023-05").with_frame_valid(date(2023, 1, 1), date(2023, 12, 31)).build())
    table = load_norm_table(2023)
    assert assessment.norm_year == 2023
    assert assessment.norm_total == table.adults["single"].amount + table.common[1].amount


def test_no_norm_table_for_2027_is_an_application_error_naming_2027():
    bundle = household(period="2027-01").with_frame_valid(date(2026, 7, 1), date(2027, 6, 30)).build()
    with pytest.raises(ApplicationError) as raised:
        assess(bundle)
    assert raised.value.code == "NORM_TABLE_MISSING"
    assert "2027" in raised.value.message


def test_every_norm_value_has_a_status_and_a_source():
    for year in (2023, 2026):
        table = load_norm_table(year)
        values = [*table.children.values(), *table.adults.values(), *table.common.values()]
        assert len(values) == 8 + 2 + 7
        assert all(v.status in ("official", "derived") and v.source for v in values)


# --- NORM_UNVERIFIED: derived figures never decide (RULES.md §2, §5) ---------------------------------

def unverified(assessment):
    return [f for f in assessment.findings if f.code == "NORM_UNVERIFIED"]


def table_with(**statuses: str):
    """The 2026 table with every value official except the keys given (`common_6="derived"`)."""
    def value(key, current):
        return current.model_copy(update={"status": statuses.get(key, "official")})
    return TABLE.model_copy(update={
        "children": {band: value(f"children_{band}", v) for band, v in TABLE.children.items()},
        "adults": {kind: value(f"adults_{kind}", v) for kind, v in TABLE.adults.items()},
        "common": {size: value(f"common_{size}", v) for size, v in TABLE.common.items()},
    })


def test_a_single_person_on_official_figures_has_no_unverified_norm():
    assessment = assess(household().build(), Mode.AUTOMATED)
    assert TABLE.adults["single"].status == TABLE.common[1].status == "official"
    assert unverified(assessment) == []


def test_a_couple_on_derived_figures_is_informed_in_support_mode_and_names_the_values():
    assessment = assess(household(single=False).build(), Mode.SUPPORT)
    (found,) = unverified(assessment)
    assert not found.blocking
    assert found.data["values"] == "adults.couple 7 100 kr, common.2 1 410 kr"
    assert "7 100 kr" in found.message and "2026" in found.message
    assert assessment.proposal is Proposal.APPROVE


def test_a_derived_figure_blocks_an_automated_decision():
    assessment = assess(household(single=False).build(), Mode.AUTOMATED)
    (found,) = unverified(assessment)
    assert found.blocking
    assert assessment.proposal is Proposal.MANUAL_REVIEW
    assert assessment.amount == max(assessment.result, 0)


def test_a_household_of_nine_rests_on_common_seven_and_six():
    lines, _ = norm_lines(household().with_children(8, age=12).build().application, table_with(common_6="derived"))
    assert list(unverified_norm_values(lines, table_with(common_6="derived"))) == ["common.6"]
    assert list(unverified_norm_values(lines, table_with(common_7="derived"))) == ["common.7"]
    assert unverified_norm_values(lines, table_with()) == {}


def test_a_household_of_seven_does_not_rest_on_common_six():
    lines, _ = norm_lines(household().with_children(6, age=12).build().application, TABLE)
    assert unverified_norm_values(lines, table_with(common_6="derived")) == {}
    assert list(unverified_norm_values(lines, table_with(common_7="derived"))) == ["common.7"]


def test_a_child_outside_the_norm_does_not_make_the_norm_unverified():
    application = household().with_child(3, lunch_at_home=True).build().application
    lines, _ = norm_lines(application, TABLE)
    assert unverified_norm_values(lines, table_with(children_3="derived")) == {}
    assert list(unverified_norm_values(lines, table_with(common_2="derived"))) == ["common.2"]


def test_each_childs_band_is_checked():
    application = household().with_child(12).with_child(8).build().application
    lines, _ = norm_lines(application, TABLE)
    assert list(unverified_norm_values(lines, table_with(**{"children_7-10": "derived"}))) == ["children.7-10"]


def test_the_official_2023_table_never_raises_norm_unverified():
    assessment = assess(household(period="2023-05", single=False).with_children(7, age=9).build(), Mode.AUTOMATED)
    assert unverified(assessment) == []
