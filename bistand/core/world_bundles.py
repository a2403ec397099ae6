"""Case bundles built straight from a world file (no simulators, no browser).

The rules' tests and the benchmarks use these to know what the bot should conclude when it reads
the simulated systems correctly: the same world seeds the simulators and these bundles.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from bistand.core.models import (
    AfStatus,
    AgencyRecords,
    Application,
    Assessment,
    Attachment,
    AttachmentFormat,
    CaseApplication,
    CaseBundle,
    CaseRecord,
    EmployerDeclaration,
    ExpectedIncome,
    FrameCondition,
    FrameReading,
    FrameStatus,
    Member,
    Payment,
    PersonRecords,
    PopulationRecord,
    PreviousDecision,
    ReferenceFrame,
    Register,
    Role,
    SourceRead,
)
from bistand.core.personnummer import Personnummer

READABLE_FORMATS = {AttachmentFormat.PDF, AttachmentFormat.DOCX}
UNREADABLE_PROBLEMS = {
    AttachmentFormat.PNG: "Bildfil (PNG); bilder läses inte maskinellt.",
    AttachmentFormat.JPG: "Bildfil (JPG); bilder läses inte maskinellt.",
    AttachmentFormat.PDF_SCANNED: "Inskannad PDF utan textlager.",
    AttachmentFormat.CORRUPT: "Filen är skadad och kan inte öppnas.",
}
INVALID_DEFECTS = {
    "missing_sheet": ("Kostnader", "A1", "bladet saknas i arbetsboken"),
    "text_in_amount": ("Kostnader", "B2", "text där ett belopp ska stå"),
    "formula_amount": ("Kostnader", "B2", "en formel där ett belopp ska stå"),
    "not_xlsx": ("-", "-", "filen är inte en xlsx-arbetsbok"),
}
"""World `workbook_defect` values that make a frame unreadable: sheet, cell and what is wrong."""


def _pnr(value: str) -> Personnummer:
    value = value.strip().replace(" ", "")
    if len(value) == 12 and value.isdigit():
        value = f"{value[:8]}-{value[8:]}"
    return Personnummer(value)


def _household(world: dict[str, Any], case_number: str) -> dict[str, Any]:
    return next(h for h in world["households"] if h["case_number"] == case_number)


def _person_name(world: dict[str, Any], pnr: Personnummer) -> tuple[str, str]:
    for h in world["households"]:
        for m in h["members"]:
            if _pnr(m["personnummer"]) == pnr:
                return m["first_name"], m["last_name"]
    for p in world["registers"].get("skv", {}).get("population", []):
        if _pnr(p["personnummer"]) == pnr:
            return p["first_name"], p["last_name"]
    return "", ""


def _member(raw: dict[str, Any]) -> Member:
    return Member(personnummer=_pnr(raw["personnummer"]), first_name=raw["first_name"], last_name=raw["last_name"],
                  role=Role(raw["role"]), in_school=raw.get("in_school", False),
                  lunch_at_home=raw.get("lunch_at_home", False))


def declared_members(world: dict[str, Any], app: dict[str, Any]) -> list[Member]:
    """The e-service's declared household: `declared_members` (absent: the household's members).
    A declared person outside the case's household is shown as an other adult."""
    case_members = [_member(m) for m in _household(world, app["case_number"])["members"]]
    if "declared_members" not in app:
        return case_members
    by_pnr = {m.personnummer: m for m in case_members}
    members = []
    for raw in app["declared_members"]:
        pnr = _pnr(raw)
        if pnr in by_pnr:
            members.append(by_pnr[pnr])
        else:
            first, last = _person_name(world, pnr)
            members.append(Member(personnummer=pnr, first_name=first, last_name=last, role=Role.OTHER_ADULT))
    return members


def _attachment(raw: dict[str, Any], app: dict[str, Any]) -> Attachment:
    fmt = AttachmentFormat(raw["format"])
    readable = fmt in READABLE_FORMATS
    amount = raw.get("amount")
    if amount is None:
        amount = sum(c["amount"] for c in app["declared_costs"] if c["type"] == raw["cost_type"])
    return Attachment(filename=raw["filename"], cost_type=raw["cost_type"], format=fmt, readable=readable,
                      amount=amount if readable else None, problem=UNREADABLE_PROBLEMS.get(fmt, ""))


def application_from_world(world: dict[str, Any], app: dict[str, Any]) -> Application:
    return Application(
        application_id=app["application_id"], case_number=app["case_number"], period=app["period"],
        kind=app["kind"], submitted_at=datetime.fromisoformat(app["submitted_at"]),
        municipality=world["municipality"], members=declared_members(world, app),
        declared_incomes=[{**i, "personnummer": _pnr(i["personnummer"])} for i in app["declared_incomes"]],
        declared_costs=app["declared_costs"], bank_balance=app.get("bank_balance", 0),
        message=app.get("message", ""), attachments=[_attachment(a, app) for a in app.get("attachments", [])],
    )


def frame_reading_from_world(household: dict[str, Any]) -> FrameReading:
    """null/absent → MISSING; defects none/merged_header → OK; the others → INVALID naming file, sheet, cell."""
    case_number = household["case_number"]
    file_name = f"{case_number}.xlsx"
    raw = household.get("reference_frame")
    if raw is None:
        return FrameReading(status=FrameStatus.MISSING, file_name=file_name)
    defect = raw.get("workbook_defect", "none")
    if defect in INVALID_DEFECTS:
        sheet, cell, what = INVALID_DEFECTS[defect]
        return FrameReading(status=FrameStatus.INVALID, file_name=file_name,
                            problem=f"{file_name}, blad {sheet}, cell {cell}: {what}.")
    frame = ReferenceFrame(
        case_number=case_number, valid_from=date.fromisoformat(raw["valid_from"]),
        valid_to=date.fromisoformat(raw["valid_to"]), costs=raw["costs"],
        expected_incomes=[ExpectedIncome(personnummer=_pnr(e["personnummer"]), type=e["type"], amount=e.get("amount"))
                          for e in raw.get("expected_incomes", [])],
        conditions=[FrameCondition(code=c["code"], personnummer=_pnr(c["personnummer"]))
                    for c in raw.get("conditions", [])],
        asset_buffer=raw.get("asset_buffer"), caseworker_note=raw.get("caseworker_note", ""),
    )
    return FrameReading(status=FrameStatus.OK, frame=frame, file_name=file_name)


def _population(raw: dict[str, Any]) -> PopulationRecord:
    return PopulationRecord(personnummer=_pnr(raw["personnummer"]), first_name=raw["first_name"],
                            last_name=raw["last_name"], address=raw["address"])


def person_records(world: dict[str, Any], pnr: Personnummer) -> PersonRecords:
    """Everything every register in the world holds for one person."""
    registers = world["registers"]

    def payments(key: str) -> list[Payment]:
        return [Payment(**{**p, "personnummer": pnr}) for p in registers.get(key, []) if _pnr(p["personnummer"]) == pnr]

    skv = registers.get("skv", {})
    af = next((a for a in registers.get("af", []) if _pnr(a["personnummer"]) == pnr), None)
    population = next((p for p in skv.get("population", []) if _pnr(p["personnummer"]) == pnr), None)
    return PersonRecords(
        personnummer=pnr, fk=payments("fk"), pm=payments("pm"), csn=payments("csn"), akassa=payments("akassa"),
        employer_declarations=[EmployerDeclaration(**{**d, "personnummer": pnr})
                               for d in skv.get("employer_declarations", []) if _pnr(d["personnummer"]) == pnr],
        af=AfStatus(**{**af, "personnummer": pnr}) if af else None,
        population=_population(population) if population else None,
    )


def agency_records(world: dict[str, Any], application: Application, household: dict[str, Any],
                   frame: FrameReading) -> AgencyRecords:
    """Records for everyone the rules may ask about; `registered_at_address` = everyone in the
    population register at the applicant's registered street and postal code."""
    people: list[Personnummer] = [m.personnummer for m in application.members]
    people += [_pnr(m["personnummer"]) for m in household["members"]]
    if frame.frame is not None:
        people += [c.personnummer for c in frame.frame.conditions]
        people += [e.personnummer for e in frame.frame.expected_incomes]
    unique = list(dict.fromkeys(people))
    persons = [person_records(world, pnr) for pnr in unique]
    applicant = next((m for m in application.members if m.role is Role.APPLICANT), None)
    at_address: list[PopulationRecord] = []
    home = next((p.population for p in persons if applicant and p.personnummer == applicant.personnummer), None)
    if home is not None:
        at_address = [_population(p) for p in world["registers"].get("skv", {}).get("population", [])
                      if _population(p).address.same_dwelling(home.address)]
    return AgencyRecords(persons=persons, registered_at_address=at_address)


def bundle_from_world(world: dict[str, Any], app: dict[str, Any]) -> CaseBundle:
    household = _household(world, app["case_number"])
    application = application_from_world(world, app)
    frame = frame_reading_from_world(household)
    case = CaseRecord(case_number=household["case_number"], members=[_member(m) for m in household["members"]],
                      previous_decisions=[PreviousDecision(**d) for d in household.get("previous_decisions", [])])
    read_at = datetime.combine(date.fromisoformat(world["today"]), time(0, 0))
    sources = [SourceRead(system=system, read_at=read_at, detail="världsfil") for system in Register]
    return CaseBundle(application=application, case=case, frame=frame,
                      records=agency_records(world, application, household, frame),
                      case_applications=case_applications(world, app), sources=sources)


def case_applications(world: dict[str, Any], app: dict[str, Any]) -> list[CaseApplication]:
    """The e-service's applications of the same case for the same period, this one included: every
    world application arrives in the e-service with status Ny."""
    return [CaseApplication(application_id=other["application_id"], period=other["period"], status="Ny",
                            received=datetime.fromisoformat(other["submitted_at"]))
            for other in world["applications"]
            if other["case_number"] == app["case_number"] and other["period"] == app["period"]]


def bundles_from_world(world: dict[str, Any]) -> dict[str, CaseBundle]:
    """application_id → CaseBundle for every application in the world."""
    return {app["application_id"]: bundle_from_world(world, app) for app in world["applications"]}


def expected_outcomes(world: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """application_id → {"proposal", "amount", "findings": sorted codes} from the world's `expected`."""
    return {app_id: {"proposal": raw["proposal"], "amount": raw["amount"],
                     "findings": sorted(set(raw.get("findings", [])))}
            for app_id, raw in world.get("expected", {}).items()}


def outcome_of(assessment: Assessment) -> dict[str, Any]:
    """The comparable part of an assessment: proposal, amount and the sorted set of finding codes."""
    return {"proposal": assessment.proposal.value, "amount": assessment.amount,
            "findings": assessment.finding_codes}
