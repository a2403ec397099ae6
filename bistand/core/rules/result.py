"""RULES.md §6: result and proposal."""

from __future__ import annotations

from bistand.core.models import Finding, Proposal


def calculate_result(norm_total: int, costs_total: int, incomes_total: int) -> int:
    """RULES.md §6: result = norm + Σ approved costs - Σ counted incomes (after job stimulus, with assets)."""
    return norm_total + costs_total - incomes_total


def propose(result: int, findings: list[Finding]) -> tuple[Proposal, int]:
    """RULES.md §6: any blocking finding: manual_review, max(result, 0); result > 0: approve;
    otherwise reject with 0."""
    if any(f.blocking for f in findings):
        return Proposal.MANUAL_REVIEW, max(result, 0)
    if result > 0:
        return Proposal.APPROVE, result
    return Proposal.REJECT, 0
