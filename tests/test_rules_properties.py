"""Properties of RULES.md §3–§6 that hold for any household the builders can make."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bistand.core.engine import assess
from bistand.core.models import CostType, IncomeType, Mode, Proposal
from tests.builders import household

FORMATS = ["pdf", "docx", "png", "jpg", "pdf_scanned", "corrupt"]
REGISTERED_TYPES = [t for t in IncomeType if t is not IncomeType.OVRIG_INKOMST]
amounts = st.integers(min_value=0, max_value=30000)

cost_st = st.fixed_dictionaries({
    "type": st.sampled_from(list(CostType)),
    "declared": amounts,
    "formats": st.lists(st.sampled_from(FORMATS), max_size=2),
    "document_delta": st.integers(min_value=-500, max_value=500),
    "cap": st.one_of(st.none(), amounts),
})
income_st = st.fixed_dictionaries({
    "who": st.sampled_from(["applicant", "partner", "child1"]),
    "type": st.sampled_from(list(IncomeType)),
    "declared": amounts,
    "registered": amounts,
})


@st.composite
def bundles(draw):
    builder = household(single=draw(st.booleans()))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        builder.with_child(draw(st.integers(min_value=0, max_value=22)), in_school=draw(st.booleans()),
                           lunch_at_home=draw(st.booleans()))
    if "child1" not in builder.members:
        builder.with_child(draw(st.integers(min_value=0, max_value=18)))
    for cost in draw(st.lists(cost_st, max_size=4)):
        documents = tuple(max(cost["declared"] + cost["document_delta"], 0) for _ in cost["formats"])
        builder.with_cost(cost["type"], cost["declared"], attachments=tuple(cost["formats"]),
                          document_amounts=documents, cap=cost["cap"])
    for income in draw(st.lists(income_st, max_size=4)):
        who = income["who"] if income["who"] in builder.members else "applicant"
        builder.declaring(who, income["type"], income["declared"])
        if income["type"] in REGISTERED_TYPES:
            builder.register_shows(who, income["type"], income["registered"])
    builder.with_bank_balance(draw(amounts), buffer=draw(st.one_of(st.none(), amounts)))
    builder.with_previous_decisions(*draw(st.lists(st.sampled_from(["approve", "reject"]), max_size=6)))
    frame = draw(st.sampled_from(["ok", "ok", "missing", "invalid"]))
    if frame == "missing":
        builder.without_frame()
    elif frame == "invalid":
        builder.with_invalid_frame()
    if draw(st.booleans()):
        builder.first_application()
    return builder.build()


PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(bundle=bundles(), mode=st.sampled_from(list(Mode)))
def test_the_amount_is_never_negative(bundle, mode):
    assert assess(bundle, mode).amount >= 0


@PROPERTY_SETTINGS
@given(bundle=bundles(), mode=st.sampled_from(list(Mode)))
def test_an_approval_never_has_a_blocking_finding(bundle, mode):
    assessment = assess(bundle, mode)
    if assessment.proposal is Proposal.APPROVE:
        assert assessment.blocking_findings == []
        assert assessment.amount == assessment.result > 0


@PROPERTY_SETTINGS
@given(bundle=bundles())
def test_capping_never_approves_more_than_declared_or_the_cap(bundle):
    for line in assess(bundle).cost_lines:
        assert 0 <= line.approved <= line.declared
        if line.cap is not None:
            assert line.approved <= line.cap


@PROPERTY_SETTINGS
@given(bundle=bundles())
def test_the_result_is_norm_plus_costs_minus_incomes(bundle):
    assessment = assess(bundle)
    assert assessment.norm_total == sum(line.amount for line in assessment.norm_lines)
    assert assessment.costs_total == sum(line.approved for line in assessment.cost_lines)
    assert assessment.incomes_total == sum(line.counted for line in assessment.income_lines) + assessment.asset_excess
    assert assessment.result == assessment.norm_total + assessment.costs_total - assessment.incomes_total


@PROPERTY_SETTINGS
@given(bundle=bundles(), mode=st.sampled_from(list(Mode)))
def test_a_reject_always_has_amount_zero_and_no_blocking_finding(bundle, mode):
    assessment = assess(bundle, mode)
    if assessment.proposal is Proposal.REJECT:
        assert assessment.amount == 0
        assert assessment.blocking_findings == []


@PROPERTY_SETTINGS
@given(bundle=bundles())
def test_any_blocking_finding_means_manual_review(bundle):
    assessment = assess(bundle)
    assert (assessment.proposal is Proposal.MANUAL_REVIEW) == bool(assessment.blocking_findings)
