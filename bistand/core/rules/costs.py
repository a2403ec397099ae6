"""RULES.md §3: reasonable costs outside the norm (skäliga kostnader), proven and capped."""

from __future__ import annotations

from bistand.core.models import (
    Application,
    Attachment,
    CostLine,
    CostType,
    Finding,
    FrameReading,
    FrameStatus,
    Register,
)
from bistand.core.rules.common import finding, kr

PROOF_REQUIRED = frozenset({
    CostType.HYRA, CostType.HUSHALLSEL, CostType.LAKARVARD, CostType.MEDICIN,
    CostType.TANDVARD, CostType.GLASOGON, CostType.OVRIGT,
})

COST_NAMES = {
    CostType.HYRA: "hyra", CostType.HUSHALLSEL: "hushållsel", CostType.HEMFORSAKRING: "hemförsäkring",
    CostType.FACKAVGIFT: "fackavgift", CostType.AKASSA: "a-kasseavgift", CostType.ARBETSRESOR: "arbetsresor",
    CostType.BARNOMSORG: "barnomsorg", CostType.LAKARVARD: "läkarvård", CostType.MEDICIN: "medicin",
    CostType.TANDVARD: "tandvård", CostType.GLASOGON: "glasögon", CostType.OVRIGT: "övrigt",
}


def declared_cost_sums(application: Application) -> dict[CostType, int]:
    """RULES.md §3: declared lines are summed per type; a type whose sum is 0 is ignored."""
    sums = {cost_type: 0 for cost_type in CostType}
    for line in application.declared_costs:
        sums[line.type] += line.amount
    return {cost_type: total for cost_type, total in sums.items() if total > 0}


def is_machine_readable(attachment: Attachment) -> bool:
    """RULES.md §3: readable = a PDF with a text layer or a DOCX from which an amount was read.
    Reading: a file marked readable without an amount is treated as unreadable."""
    return attachment.readable and attachment.amount is not None


def proven_amount(cost_type: CostType, declared: int, attachments: list[Attachment]
                  ) -> tuple[int, int | None, list[Finding]]:
    """RULES.md §3 step 1 (proof): returns (approved so far, document amount, findings).

    No attachment: ATTACHMENT_MISSING, 0. Any unreadable: ATTACHMENT_UNVERIFIED, D. All readable:
    Σ documents; ≠ D gives ATTACHMENT_AMOUNT_MISMATCH and min(D, Σ). Types without a proof
    requirement are approved as declared.
    """
    if cost_type not in PROOF_REQUIRED:
        return declared, None, []
    own = [a for a in attachments if a.cost_type is cost_type]
    name = COST_NAMES[cost_type]
    if not own:
        return 0, None, [finding(
            "ATTACHMENT_MISSING", f"Underlag saknas för {name}; kostnaden kan inte godkännas utan underlag.",
            Register.ESERVICE, cost_type=cost_type.value, declared=declared)]
    unreadable = [a for a in own if not is_machine_readable(a)]
    if unreadable:
        return declared, None, [finding(
            "ATTACHMENT_UNVERIFIED",
            f"Underlaget för {name} kan inte läsas maskinellt ({', '.join(a.format.value for a in unreadable)}); "
            "en handläggare behöver granska det.",
            Register.ESERVICE, cost_type=cost_type.value, declared=declared,
            files=", ".join(a.filename for a in unreadable), unreadable=len(unreadable), attachments=len(own))]
    document_sum = sum(a.amount or 0 for a in own)
    if document_sum != declared:
        return min(declared, document_sum), document_sum, [finding(
            "ATTACHMENT_AMOUNT_MISMATCH",
            f"Underlaget för {name} visar {kr(document_sum)} men sökanden har angett {kr(declared)}.",
            Register.ESERVICE, cost_type=cost_type.value, declared=declared, document_amount=document_sum,
            files=", ".join(a.filename for a in own))]
    return declared, document_sum, []


def frame_capped_amount(cost_type: CostType, declared: int, approved: int, frame: FrameReading
                        ) -> tuple[int, int | None, list[Finding]]:
    """RULES.md §3 step 2 (frame): returns (approved, cap, findings).

    Frame missing or invalid: 0 and no finding. Type not in the frame: COST_NOT_IN_FRAME, 0.
    Cap C: min(approved, C); D > C raises COST_CAPPED (informational, "kapad kostnad").
    An expired frame still applies (RULES.md §5).
    """
    if frame.status is not FrameStatus.OK or frame.frame is None:
        return 0, None, []
    name = COST_NAMES[cost_type]
    cap = frame.frame.costs.get(cost_type)
    if cap is None:
        return 0, None, [finding(
            "COST_NOT_IN_FRAME", f"Kostnaden {name} finns inte i referensramen och kan inte godkännas automatiskt.",
            Register.FRAME, cost_type=cost_type.value, declared=declared)]
    findings = []
    if declared > cap:
        findings.append(finding(
            "COST_CAPPED", f"Kostnaden {name} är {kr(declared)} och kapas till referensramens tak {kr(cap)}.",
            Register.FRAME, blocking=False, cost_type=cost_type.value, declared=declared, cap=cap))
    return min(approved, cap), cap, findings


def cost_lines(application: Application, frame: FrameReading) -> tuple[list[CostLine], list[Finding]]:
    """RULES.md §3: one line per declared type with a sum above 0: proof, then the frame."""
    lines: list[CostLine] = []
    findings: list[Finding] = []
    for cost_type, declared in declared_cost_sums(application).items():
        approved, document_amount, proof_findings = proven_amount(cost_type, declared, application.attachments)
        approved, cap, frame_findings = frame_capped_amount(cost_type, declared, approved, frame)
        note = "Kapad kostnad." if frame_findings and frame_findings[0].code == "COST_CAPPED" else ""
        if frame.status is not FrameStatus.OK:
            note = "Ingen giltig referensram: kostnaden godkänns inte automatiskt."
        lines.append(CostLine(type=cost_type, declared=declared, document_amount=document_amount, cap=cap,
                              approved=approved, note=note))
        findings += proof_findings + frame_findings
    return lines, findings
