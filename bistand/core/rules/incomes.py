"""RULES.md §4: incomes against the authoritative registers, job stimulus and assets."""

from __future__ import annotations

from bistand.core.models import (
    AgencyRecords,
    Application,
    CaseRecord,
    Finding,
    FrameReading,
    FrameStatus,
    IncomeLine,
    IncomeType,
    Member,
    Register,
    Role,
)
from bistand.core.rules.common import finding, kr, previous_periods
from bistand.core.rules.household import declared_household

_FK_TYPES = (
    IncomeType.SJUKPENNING, IncomeType.FORALDRAPENNING, IncomeType.BOSTADSBIDRAG, IncomeType.BARNBIDRAG,
    IncomeType.UNDERHALLSSTOD, IncomeType.SJUKERSATTNING, IncomeType.AKTIVITETSERSATTNING,
    IncomeType.AKTIVITETSSTOD, IncomeType.ETABLERINGSERSATTNING,
)
REGISTER_FOR_INCOME: dict[IncomeType, Register | None] = {
    **dict.fromkeys(_FK_TYPES, Register.FK),
    IncomeType.AKASSA_ERSATTNING: Register.AKASSA,
    IncomeType.PENSION: Register.PM,
    IncomeType.BOSTADSTILLAGG: Register.PM,
    IncomeType.STUDIEMEDEL: Register.CSN,
    IncomeType.LON: Register.SKV,
    IncomeType.OVRIG_INKOMST: None,
}
"""RULES.md §4: the register that is authoritative for each income type."""

REGISTER_NAMES = {
    Register.FK: "Försäkringskassan", Register.AKASSA: "a-kassan", Register.PM: "Pensionsmyndigheten",
    Register.CSN: "CSN", Register.SKV: "Skatteverket (arbetsgivardeklarationer)",
}
INCOME_NAMES = {
    IncomeType.LON: "lön", IncomeType.SJUKPENNING: "sjukpenning", IncomeType.FORALDRAPENNING: "föräldrapenning",
    IncomeType.AKTIVITETSSTOD: "aktivitetsstöd", IncomeType.ETABLERINGSERSATTNING: "etableringsersättning",
    IncomeType.AKASSA_ERSATTNING: "ersättning från a-kassa", IncomeType.BOSTADSBIDRAG: "bostadsbidrag",
    IncomeType.BARNBIDRAG: "barnbidrag", IncomeType.UNDERHALLSSTOD: "underhållsstöd",
    IncomeType.SJUKERSATTNING: "sjukersättning", IncomeType.AKTIVITETSERSATTNING: "aktivitetsersättning",
    IncomeType.PENSION: "pension", IncomeType.BOSTADSTILLAGG: "bostadstillägg", IncomeType.STUDIEMEDEL: "studiemedel",
    IncomeType.OVRIG_INKOMST: "övrig inkomst",
}
JOB_STIMULUS_MONTHS = 6
JOB_STIMULUS_PERCENT = 25


def register_amount(records: AgencyRecords, member: Member, income_type: IncomeType, period: str) -> int:
    """RULES.md §4: R, the authoritative register's sum for the period; for `lon` Σ (gross - tax)
    of Skatteverket's employer declarations. Only the authoritative register is read."""
    person = records.for_person(member.personnummer)
    register = REGISTER_FOR_INCOME[income_type]
    if register is Register.SKV:
        return sum(d.gross - d.tax for d in person.employer_declarations if d.period == period)
    payments = {Register.FK: person.fk, Register.PM: person.pm, Register.CSN: person.csn,
                Register.AKASSA: person.akassa}.get(register, [])
    return sum(p.amount for p in payments if p.type is income_type and p.period == period)


def declared_amount(application: Application, member: Member, income_type: IncomeType) -> int:
    """RULES.md §4: D, the declared sum of the type for the member (0 = not declared)."""
    return sum(i.amount for i in application.declared_incomes
               if i.personnummer == member.personnummer and i.type is income_type)


def compare_income(member: Member, income_type: IncomeType, declared: int, registered: int
                   ) -> tuple[int, Finding | None]:
    """RULES.md §4: counted amount and finding for one member and one type with a register.

    R, D > 0 and R ≠ D: INCOME_MISMATCH, R. R > 0, D = 0: INCOME_UNDECLARED, R.
    R = 0, D > 0: INCOME_NOT_IN_REGISTER (informational), D. Otherwise R.
    """
    register = REGISTER_FOR_INCOME[income_type]
    assert register is not None
    name, where = INCOME_NAMES[income_type], REGISTER_NAMES[register]
    data = {"personnummer": member.personnummer.full, "income_type": income_type.value,
            "declared": declared, "register_amount": registered}
    if registered > 0 and declared > 0 and registered != declared:
        return registered, finding(
            "INCOME_MISMATCH", f"Angiven {name} {kr(declared)} skiljer sig från {where}, som visar {kr(registered)}; "
            "registrets belopp räknas.", register, **data)
    if registered > 0 and declared == 0:
        return registered, finding(
            "INCOME_UNDECLARED", f"{where} visar {name} {kr(registered)} som inte har angetts i ansökan; "
            "beloppet räknas som inkomst.", register, **data)
    if registered == 0 and declared > 0:
        return declared, finding(
            "INCOME_NOT_IN_REGISTER", f"Angiven {name} {kr(declared)} finns inte hos {where}; det angivna beloppet "
            "räknas.", register, blocking=False, **data)
    return registered, None


def job_stimulus_applies(case: CaseRecord, period: str) -> bool:
    """RULES.md §4 (jobbstimulans): the previous decisions show `approve` for each of the six months
    before the period. Reading: a month with no decision, or with any reject, breaks the run."""
    by_period: dict[str, set[str]] = {}
    for decision in case.previous_decisions:
        by_period.setdefault(decision.period, set()).add(decision.decision)
    return all(by_period.get(month) == {"approve"} for month in previous_periods(period, JOB_STIMULUS_MONTHS))


def job_stimulus_deduction(counted_salary: int) -> int:
    """RULES.md §4: floor(25 %) of the counted `lon` is left out."""
    return counted_salary * JOB_STIMULUS_PERCENT // 100


def income_lines(application: Application, records: AgencyRecords, case: CaseRecord
                 ) -> tuple[list[IncomeLine], list[Finding]]:
    """RULES.md §4: for each declared member and income type, register versus declaration, then job
    stimulus on the applicant's and partner's `lon`. Incomes declared for someone outside the
    declared household are not counted (reading)."""
    stimulus = job_stimulus_applies(case, application.period)
    lines: list[IncomeLine] = []
    findings: list[Finding] = []
    for member in declared_household(application):
        for income_type in IncomeType:
            register = REGISTER_FOR_INCOME[income_type]
            declared = declared_amount(application, member, income_type)
            if register is None:
                if declared > 0:
                    lines.append(IncomeLine(personnummer=member.personnummer, type=income_type, declared=declared,
                                            source_register=None, register_amount=None, counted=declared,
                                            note="Inget register: räknas som angiven."))
                continue
            registered = register_amount(records, member, income_type, application.period)
            if registered == 0 and declared == 0:
                continue
            counted, found = compare_income(member, income_type, declared, registered)
            if found:
                findings.append(found)
            deduction = 0
            note = ""
            if stimulus and income_type is IncomeType.LON and member.role in (Role.APPLICANT, Role.PARTNER):
                deduction = job_stimulus_deduction(counted)
                note = f"Jobbstimulans: {JOB_STIMULUS_PERCENT} % av lönen räknas inte."
            lines.append(IncomeLine(personnummer=member.personnummer, type=income_type, declared=declared,
                                    source_register=register, register_amount=registered,
                                    counted=counted - deduction, job_stimulus_deduction=deduction, note=note))
    return lines, findings


def asset_excess(application: Application, frame: FrameReading) -> tuple[int, Finding | None]:
    """RULES.md §4 (assets): excess = bank balance - the frame's `asset_buffer` (0 when the frame is
    missing, invalid or leaves it empty); excess > 0 is counted as income with ASSETS_COUNTED."""
    buffer = 0
    if frame.status is FrameStatus.OK and frame.frame is not None and frame.frame.asset_buffer is not None:
        buffer = frame.frame.asset_buffer
    excess = application.bank_balance - buffer
    if excess <= 0:
        return 0, None
    return excess, finding(
        "ASSETS_COUNTED", f"Banksaldot {kr(application.bank_balance)} överstiger buffert {kr(buffer)}; "
        f"{kr(excess)} räknas som inkomst.", Register.ESERVICE, blocking=False,
        bank_balance=application.bank_balance, asset_buffer=buffer, excess=excess)
