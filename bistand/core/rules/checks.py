"""RULES.md §5: checks against the reference frame, Skatteverket, Arbetsförmedlingen and CSN."""

from __future__ import annotations

from bistand.core.models import (
    AgencyRecords,
    Application,
    CaseApplication,
    CaseRecord,
    Finding,
    FrameReading,
    FrameStatus,
    IncomeType,
    Mode,
    Register,
)
from bistand.core.rules.common import finding, kr, period_end, period_start
from bistand.core.rules.household import ADULT_ROLES, declared_household, the_applicant
from bistand.core.rules.incomes import INCOME_NAMES, REGISTER_FOR_INCOME, declared_amount, register_amount


def _same_place(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def frame_findings(frame: FrameReading, period: str) -> list[Finding]:
    """RULES.md §5: FRAME_MISSING, FRAME_INVALID (naming file, sheet and cell) and FRAME_EXPIRED
    when the period is not wholly inside the frame's validity. All blocking."""
    if frame.status is FrameStatus.MISSING:
        return [finding("FRAME_MISSING", "Det finns ingen referensram för ärendet.", Register.FRAME,
                        file=frame.file_name or None)]
    if frame.status is FrameStatus.INVALID or frame.frame is None:
        return [finding("FRAME_INVALID", f"Referensramen kan inte läsas: {frame.problem or 'okänt fel'}",
                        Register.FRAME, file=frame.file_name or None, problem=frame.problem)]
    valid = frame.frame
    if period_start(period) < valid.valid_from or period_end(period) > valid.valid_to:
        return [finding(
            "FRAME_EXPIRED", f"Referensramen gäller {valid.valid_from.isoformat()}–{valid.valid_to.isoformat()} "
            f"och täcker inte hela {period}; ramens tak används ändå.", Register.FRAME,
            valid_from=valid.valid_from.isoformat(), valid_to=valid.valid_to.isoformat(), period=period)]
    return []


def population_findings(application: Application, records: AgencyRecords) -> list[Finding]:
    """RULES.md §5 (Skatteverket): HOUSEHOLD_MISMATCH when the people registered at the applicant's
    address are not exactly the declared household or the applicant is not in the register;
    ADDRESS_OUTSIDE_MUNICIPALITY when the applicant is registered in another municipality.
    Reading: without a population record there is no municipality check."""
    applicant = the_applicant(application)
    if applicant is None:
        return []  # HOUSEHOLD_UNCLEAR (RULES.md §1 reading) already blocks
    population = records.for_person(applicant.personnummer).population
    if population is None:
        return [finding("HOUSEHOLD_MISMATCH", "Sökanden finns inte i folkbokföringen hos Skatteverket.",
                        Register.SKV, personnummer=applicant.personnummer.full, reason="applicant_not_registered")]
    findings = []
    declared = {m.personnummer.full for m in declared_household(application)}
    registered = {p.personnummer.full for p in records.registered_at_address}
    if declared != registered:
        not_registered = sorted(declared - registered)
        not_declared = sorted(registered - declared)
        findings.append(finding(
            "HOUSEHOLD_MISMATCH",
            f"Folkbokföringen på sökandens adress stämmer inte med det angivna hushållet "
            f"({len(not_registered)} angivna saknas på adressen, {len(not_declared)} folkbokförda är inte angivna).",
            Register.SKV, not_registered_at_address=", ".join(not_registered) or None,
            registered_not_declared=", ".join(not_declared) or None))
    if not _same_place(population.address.municipality, application.municipality):
        findings.append(finding(
            "ADDRESS_OUTSIDE_MUNICIPALITY",
            f"Sökanden är folkbokförd i {population.address.municipality}, inte i {application.municipality}.",
            Register.SKV, personnummer=applicant.personnummer.full,
            registered_municipality=population.address.municipality, municipality=application.municipality))
    return findings


def af_condition_findings(application: Application, frame: FrameReading, records: AgencyRecords) -> list[Finding]:
    """RULES.md §5: frame condition AF_REGISTERED for a person whom Arbetsförmedlingen does not show
    as registered in the period: AF_NOT_REGISTERED. Readings: unknown to AF counts as not
    registered; registered_since after the period's last day counts as not registered."""
    if frame.status is not FrameStatus.OK or frame.frame is None:
        return []
    findings = []
    for condition in frame.frame.conditions:
        if condition.code != "AF_REGISTERED":
            continue
        status = records.for_person(condition.personnummer).af
        last_day = period_end(application.period)
        registered = bool(status and status.registered and
                          (status.registered_since is None or status.registered_since <= last_day))
        if not registered:
            findings.append(finding(
                "AF_NOT_REGISTERED", "Referensramen kräver inskrivning hos Arbetsförmedlingen, men personen är inte "
                "inskriven under perioden.", Register.AF, personnummer=condition.personnummer.full,
                af_known="yes" if status else "no"))
    return findings


def studies_findings(application: Application, records: AgencyRecords) -> list[Finding]:
    """RULES.md §5: an adult (applicant, partner, other adult) with `studiemedel` paid by CSN for the period."""
    findings = []
    for member in declared_household(application):
        if member.role not in ADULT_ROLES:
            continue
        paid = register_amount(records, member, IncomeType.STUDIEMEDEL, application.period)
        if paid > 0:
            findings.append(finding(
                "STUDIES", "CSN visar studiemedel för perioden; en vuxen som studerar ska i regel försörja sig "
                "på studiemedel.", Register.CSN, personnummer=member.personnummer.full, role=member.role.value,
                studiemedel=paid))
    return findings


def expected_income_findings(application: Application, frame: FrameReading, records: AgencyRecords
                             ) -> list[Finding]:
    """RULES.md §5: an expected income in the frame that neither a register nor the declaration shows
    for that person: EXPECTED_INCOME_MISSING (informational)."""
    if frame.status is not FrameStatus.OK or frame.frame is None:
        return []
    members = {m.personnummer: m for m in application.members}
    findings = []
    for expected in frame.frame.expected_incomes:
        member = members.get(expected.personnummer)
        declared = registered = 0
        if member is not None:
            declared = declared_amount(application, member, expected.type)
            if REGISTER_FOR_INCOME[expected.type] is not None:
                registered = register_amount(records, member, expected.type, application.period)
        if declared == 0 and registered == 0:
            findings.append(finding(
                "EXPECTED_INCOME_MISSING", f"Referensramen förväntar {INCOME_NAMES[expected.type]}, men varken "
                "register eller ansökan visar den.", Register.FRAME, blocking=False,
                personnummer=expected.personnummer.full, income_type=expected.type.value,
                expected_amount=expected.amount))
    return findings


def first_application_findings(application: Application, mode: Mode) -> list[Finding]:
    """RULES.md §5: `kind: first` gives FIRST_APPLICATION, blocking in automated mode only."""
    if application.kind != "first":
        return []
    return [finding("FIRST_APPLICATION", "Detta är en förstagångsansökan; den ska utredas av en handläggare."
                    if mode is Mode.AUTOMATED else "Detta är en förstagångsansökan.",
                    Register.ESERVICE, blocking=mode is Mode.AUTOMATED, kind="first", mode=mode.value)]


DECISION_WORDS = {"approve": "bevilja", "reject": "avslå"}
"""The decision as the case-management system words it, lower case for use inside a sentence."""
DUPLICATE_MESSAGE = "Ansökan gäller en månad som redan har ett beslut eller en annan ansökan"


def duplicate_period_findings(application: Application, case: CaseRecord,
                              case_applications: list[CaseApplication]) -> list[Finding]:
    """RULES.md §5, one month, one decision: DUPLICATE_PERIOD (blocking in both modes) when the case
    already has a decision for the period, or the e-service holds another application of the same
    case for the same period, whatever its status. One finding per other application or decision,
    naming it. Readings (docs/rules.md 25): a decision registered on this very application (the bot's
    own, on a rerun) is not another decision; the case's history ("Tidigare beslut") has no
    application id or date, so it is named by period, decision and amount."""
    period, own_id = application.period, application.application_id
    findings = []
    for other in sorted(case_applications, key=lambda a: (a.received, a.application_id)):
        if other.period != period or other.application_id == own_id:
            continue
        findings.append(finding(
            "DUPLICATE_PERIOD", f"{DUPLICATE_MESSAGE}: {other.application_id} för {period} "
            f"(status {other.status}, inkommen {other.received:%Y-%m-%d}).", Register.ESERVICE,
            other_application=other.application_id, period=period, status=other.status,
            received=f"{other.received:%Y-%m-%d}"))
    for earlier in case.previous_decisions:
        if earlier.period == period:
            findings.append(finding(
                "DUPLICATE_PERIOD", f"{DUPLICATE_MESSAGE}: ärendet har redan ett beslut för {period} under "
                f"Tidigare beslut ({DECISION_WORDS[earlier.decision]}, {kr(earlier.amount)}).",
                Register.CASEMGMT, decision_period=period, decision=earlier.decision, amount=earlier.amount))
    for registered in case.registered_decisions:
        if registered.period == period and registered.application_id != own_id:
            when = f", registrerat {registered.registered}" if registered.registered else ""
            findings.append(finding(
                "DUPLICATE_PERIOD", f"{DUPLICATE_MESSAGE}: beslut för {period} på ansökan "
                f"{registered.application_id} ({DECISION_WORDS[registered.decision]}, "
                f"{kr(registered.amount)}{when}).", Register.CASEMGMT,
                other_application=registered.application_id, decision_period=period,
                decision=registered.decision, amount=registered.amount, decided=registered.registered or None))
    return findings
