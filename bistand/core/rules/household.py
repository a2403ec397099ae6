"""RULES.md §1: period and household."""

from __future__ import annotations

from bistand.core.models import Application, Member, Register, Role
from bistand.core.rules.common import finding, period_start

ADULT_ROLES = (Role.APPLICANT, Role.PARTNER, Role.OTHER_ADULT)


def age_on_period_start(member: Member, period: str) -> int:
    """RULES.md §1: ages are taken on the period's first day; the birth date comes from the
    personnummer (a samordningsnummer's day is +60, which `Personnummer.birth_date` undoes)."""
    return member.personnummer.age_on(period_start(period))


def is_born_by_period_start(member: Member, period: str) -> bool:
    """RULES.md §1 (reading): a child born after the period's first day is not yet a member."""
    return member.personnummer.birth_date <= period_start(period)


def declared_household(application: Application) -> list[Member]:
    """RULES.md §1: the household assessed is the members the applicant declares.

    Reading: `Application.members` is what the e-service shows as the declared household
    (the e-service falls back to the case's members when the applicant declared none).
    """
    return list(application.members)


def members_in_household_size(application: Application) -> list[Member]:
    """RULES.md §1/§2: everyone declared and born counts in the household size (out-of-scope members too)."""
    return [m for m in declared_household(application) if is_born_by_period_start(m, application.period)]


def the_applicant(application: Application) -> Member | None:
    """The one applicant, or None when the household does not have exactly one (HOUSEHOLD_UNCLEAR)."""
    applicants = [m for m in application.members if m.role is Role.APPLICANT]
    return applicants[0] if len(applicants) == 1 else None


def the_partner(application: Application) -> Member | None:
    partners = [m for m in application.members if m.role is Role.PARTNER]
    return partners[0] if len(partners) == 1 else None


def household_structure_findings(application: Application) -> list:
    """RULES.md §1 is silent on households it cannot assess; a careful caseworker looks at them:
    HOUSEHOLD_UNCLEAR (blocking) for no applicant or more than one, more than one partner, and a
    member not yet born on the period's first day."""
    findings = []
    members = declared_household(application)
    applicants = [m for m in members if m.role is Role.APPLICANT]
    partners = [m for m in members if m.role is Role.PARTNER]
    if len(applicants) != 1:
        findings.append(finding(
            "HOUSEHOLD_UNCLEAR",
            f"Hushållet har {len(applicants)} sökande; en ansökan ska ha exakt en sökande.",
            Register.ESERVICE,
            reason="applicant_count",
            applicants=len(applicants),
            personnummer=", ".join(m.personnummer.full for m in applicants) or None,
        ))
    if len(partners) > 1:
        findings.append(finding(
            "HOUSEHOLD_UNCLEAR",
            f"Hushållet har {len(partners)} medsökande; högst en medsökande kan bedömas.",
            Register.ESERVICE,
            reason="partner_count",
            partners=len(partners),
            personnummer=", ".join(m.personnummer.full for m in partners),
        ))
    for member in members:
        if not is_born_by_period_start(member, application.period):
            findings.append(finding(
                "HOUSEHOLD_UNCLEAR",
                "En person i hushållet är inte född den första dagen i ansökningsmånaden och kan inte "
                "räknas in i normen.",
                Register.ESERVICE,
                reason="not_born",
                personnummer=member.personnummer.full,
                birth_date=member.personnummer.birth_date.isoformat(),
            ))
    return findings
