"""RULES.md §3: reasonable costs — proof by attachments, then the reference frame's caps."""

from __future__ import annotations

from bistand.core.engine import assess
from bistand.core.models import CostType
from tests.builders import household


def cost_line(assessment, cost_type):
    return next(line for line in assessment.cost_lines if line.type is CostType(cost_type))


def findings(assessment, code):
    return [f for f in assessment.findings if f.code == code]


def test_a_rent_at_the_cap_is_approved_without_a_capped_finding():
    assessment = assess(household().with_rent(7200, cap=7200).build())
    line = cost_line(assessment, "hyra")
    assert (line.declared, line.document_amount, line.cap, line.approved) == (7200, 7200, 7200, 7200)
    assert assessment.findings == []


def test_rent_above_the_frame_is_capped_and_still_standard():
    assessment = assess(household().with_rent(8200, cap=7500).build())
    assert cost_line(assessment, "hyra").approved == 7500
    capped = findings(assessment, "COST_CAPPED")
    assert len(capped) == 1 and not capped[0].blocking
    assert capped[0].data == {"cost_type": "hyra", "declared": 8200, "cap": 7500}
    assert assessment.proposal.value == "approve"


def test_a_proof_required_cost_without_attachment_is_missing_and_not_approved():
    assessment = assess(household().with_cost("tandvard", 1200, attachments=(), cap=2000).build())
    assert cost_line(assessment, "tandvard").approved == 0
    assert findings(assessment, "ATTACHMENT_MISSING")[0].blocking


def test_a_cost_without_proof_requirement_is_approved_as_declared_then_capped():
    assessment = assess(household().with_cost("hemforsakring", 250, attachments=(), cap=200).build())
    assert cost_line(assessment, "hemforsakring").approved == 200
    assert assessment.finding_codes == ["COST_CAPPED"]


def test_several_attachments_for_one_type_are_summed():
    builder = household().with_cost("medicin", 900, attachments=("pdf", "docx"), document_amounts=(400, 500), cap=1000)
    line = cost_line(assess(builder.build()), "medicin")
    assert (line.document_amount, line.approved) == (900, 900)


def test_documents_summing_to_less_than_declared_give_a_mismatch_and_the_smaller_amount():
    builder = household().with_cost("hyra", 8700, document_amounts=(8200,), cap=9000)
    assessment = assess(builder.build())
    assert cost_line(assessment, "hyra").approved == 8200
    mismatch = findings(assessment, "ATTACHMENT_AMOUNT_MISMATCH")[0]
    assert mismatch.blocking and mismatch.data["document_amount"] == 8200 and mismatch.data["declared"] == 8700


def test_documents_summing_to_more_than_declared_give_a_mismatch_and_the_declared_amount():
    builder = household().with_cost("hyra", 7000, document_amounts=(7300,), cap=9000)
    assessment = assess(builder.build())
    assert cost_line(assessment, "hyra").approved == 7000
    assert "ATTACHMENT_AMOUNT_MISMATCH" in assessment.finding_codes


def test_an_image_attachment_is_unverified_and_the_declared_amount_is_kept_for_the_caseworker():
    assessment = assess(household().with_cost("hyra", 7300, attachments=("jpg",), cap=8000).build())
    line = cost_line(assessment, "hyra")
    assert (line.document_amount, line.approved) == (None, 7300)
    assert findings(assessment, "ATTACHMENT_UNVERIFIED")[0].blocking


def test_a_mix_of_readable_and_unreadable_attachments_is_unverified():
    builder = household().with_cost("hyra", 7300, attachments=("pdf", "pdf_scanned"), document_amounts=(7300, 0),
                                    cap=8000)
    assessment = assess(builder.build())
    assert assessment.finding_codes == ["ATTACHMENT_UNVERIFIED"]
    assert findings(assessment, "ATTACHMENT_UNVERIFIED")[0].data["unreadable"] == 1


def test_a_corrupt_attachment_is_unverified():
    assessment = assess(household().with_cost("lakarvard", 300, attachments=("corrupt",), cap=500).build())
    assert assessment.finding_codes == ["ATTACHMENT_UNVERIFIED"]


def test_a_cost_type_not_in_the_frame_is_not_approved():
    assessment = assess(household().with_rent(7000).with_cost("tandvard", 1200).build())
    assert cost_line(assessment, "tandvard").approved == 0
    assert findings(assessment, "COST_NOT_IN_FRAME")[0].data["cost_type"] == "tandvard"


def test_declared_lines_of_one_type_are_summed_before_capping():
    builder = household().with_cost("ovrigt", 300, cap=500).with_cost("ovrigt", 400)
    assessment = assess(builder.build())
    line = cost_line(assessment, "ovrigt")
    assert (line.declared, line.document_amount, line.approved) == (700, 700, 500)
    assert assessment.finding_codes == ["COST_CAPPED"]


def test_a_type_declared_as_zero_is_ignored_even_without_attachment():
    assessment = assess(household().with_cost("glasogon", 0, attachments=()).build())
    assert assessment.cost_lines == []
    assert assessment.findings == []


def test_without_a_frame_no_cost_is_approved_and_no_frame_cost_finding_is_raised():
    assessment = assess(household().with_rent(7000).with_cost("tandvard", 1200).without_frame().build())
    assert [line.approved for line in assessment.cost_lines] == [0, 0]
    assert assessment.finding_codes == ["FRAME_MISSING"]


def test_an_invalid_frame_approves_no_cost_but_proof_findings_still_show():
    builder = household().with_cost("hyra", 7000, attachments=("png",)).with_invalid_frame()
    assessment = assess(builder.build())
    assert cost_line(assessment, "hyra").approved == 0
    assert assessment.finding_codes == ["ATTACHMENT_UNVERIFIED", "FRAME_INVALID"]
