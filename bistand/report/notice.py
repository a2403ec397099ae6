"""The decision notice (beslutsmeddelande) the applicant reads in the e-service.

Pure: an Assessment in, plain Swedish text out, rendered from resources/templates/notice.txt.j2.
Two kinds: the robot's decision on the social welfare committee's delegation (amount for the
period, the calculation in brief, how to appeal), or word that a caseworker will decide. The
notice holds amounts: it is for the applicant only and is never logged.

Every notice starts with a fixed first line per application and kind (`first_line`), so the
write-back can tell from the e-service's message list whether it was already sent.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bistand.core.models import Assessment, Proposal
from bistand.report import MONTHS, TEMPLATE_DIR
from bistand.report.labels import COST_LABELS, INCOME_LABELS, format_kr, label
from bistand.report.plural import plural

APPEAL_WEEKS = "tre veckor"


def period_words(period: str) -> str:
    """'2026-12' -> 'december 2026'."""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def first_line(application_id: str, period: str, decided_by_robot: bool) -> str:
    """The notice's heading; one per application and kind (the write-back's idempotency key)."""
    if decided_by_robot:
        return f"Beslut om ekonomiskt bistånd för {period_words(period)} (ärende {application_id})"
    return f"Din ansökan om ekonomiskt bistånd för {period_words(period)} (ärende {application_id})"


def already_sent(texts: list[str], application_id: str, period: str, decided_by_robot: bool) -> bool:
    """Whether a message with this notice's heading is already on the application."""
    heading = first_line(application_id, period, decided_by_robot)
    return any(text.strip().splitlines()[:1] == [heading] for text in texts if text.strip())


def _household_size(assessment: Assessment) -> int:
    return len({line.personnummer for line in assessment.norm_lines if line.personnummer is not None})


def _summed(pairs: list[tuple[str, int]]) -> list[tuple[str, str]]:
    """(label, amount) pairs summed per label, largest first, amounts as `12 345 kr`; zeros left out."""
    totals: dict[str, int] = defaultdict(int)
    for name, amount in pairs:
        totals[name] += amount
    ordered = sorted(((n, a) for n, a in totals.items() if a), key=lambda item: (-item[1], item[0]))
    return [(name, format_kr(amount)) for name, amount in ordered]


def _detail(lines: list[tuple[str, str]]) -> str:
    """' (hyra 5 800 kr, hushållsel 400 kr)', or '' when there is nothing to list."""
    words = [f"{name.split(' (')[0].lower()} {amount}" for name, amount in lines]  # 'Lön (netto)' -> 'lön'
    return f" ({', '.join(words)})" if words else ""


def notice_view(assessment: Assessment, decided_by_robot: bool, municipality: str) -> dict:
    """Everything the template shows, in Swedish, amounts formatted."""
    costs = _summed([(label(COST_LABELS, c.type), c.approved) for c in assessment.cost_lines])
    incomes = _summed([(label(INCOME_LABELS, i.type), i.counted) for i in assessment.income_lines])
    if assessment.asset_excess:
        incomes += [("Tillgångar över buffert", format_kr(assessment.asset_excess))]
    persons = _household_size(assessment)
    return {
        "heading": first_line(assessment.application_id, assessment.period, decided_by_robot),
        "decided_by_robot": decided_by_robot,
        "approved": assessment.proposal is Proposal.APPROVE,
        "application_id": assessment.application_id,
        "period": period_words(assessment.period),
        "amount": format_kr(assessment.amount),
        "municipality": municipality.strip() or "kommunen",
        "household": plural(persons, "person", "personer") if persons else "",
        "norm_total": format_kr(assessment.norm_total),
        "norm_year": assessment.norm_year,
        "costs_total": format_kr(assessment.costs_total),
        "costs_detail": _detail(costs),
        "incomes_total": format_kr(assessment.incomes_total),
        "incomes_detail": _detail(incomes),
        "result": format_kr(assessment.result),
        "shortfall": assessment.result > 0,
        "appeal_weeks": APPEAL_WEEKS,
    }


@lru_cache(maxsize=1)
def _template():
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=False,  # noqa: S701 - plain text for the e-service's message field, shown escaped there
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=StrictUndefined,
    )
    return env.get_template("notice.txt.j2")


def render_notice(assessment: Assessment, decided_by_robot: bool, municipality: str = "") -> str:
    """The notice as plain text (`\\n` line breaks, no trailing blanks).

    `decided_by_robot`: the robot decided (approve or reject) on the committee's delegation;
    otherwise the notice says that a caseworker will decide."""
    if decided_by_robot and assessment.proposal not in (Proposal.APPROVE, Proposal.REJECT):
        raise ValueError("the robot decides only approve or reject")
    text = _template().render(**notice_view(assessment, decided_by_robot, municipality))
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return "\n".join(lines)
