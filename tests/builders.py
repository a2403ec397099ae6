"""Readable builders for case bundles: `household(single=True).with_child(age=4).with_rent(7200).build()`.

Defaults: period 2026-12, an applicant born 1985, everyone declared is registered at the same
address in the e-service's municipality, a valid frame (2026-07-01..2027-06-30) with no caps,
no previous decisions (no job stimulus), no incomes. People are referred to by name:
"applicant", "partner", "child1", "child2", ..., "adult1", ...
"""

from __future__ import annotations

import itertools
from datetime import date, datetime

from bistand.core.models import (
    AfStatus,
    AgencyRecords,
    Application,
    Attachment,
    AttachmentFormat,
    CaseApplication,
    CaseBundle,
    CaseRecord,
    CostType,
    DeclaredCost,
    DeclaredIncome,
    EmployerDeclaration,
    ExpectedIncome,
    FrameCondition,
    FrameReading,
    FrameStatus,
    IncomeType,
    Member,
    Payment,
    PersonRecords,
    PopulationRecord,
    PreviousDecision,
    ReferenceFrame,
    RegisteredDecision,
    Role,
)
from bistand.core.personnummer import Personnummer, luhn_check_digit
from bistand.core.rules.common import period_start, previous_periods
from bistand.core.rules.incomes import REGISTER_FOR_INCOME

MUNICIPALITY = "Höörby"
APPLICATION_ID = "ANS-2026-900001"
HOME = {"street": "Storgatan 1", "postal_code": "24330", "city": "Höörby", "municipality": MUNICIPALITY}
_serials = itertools.count(100)


def make_personnummer(born: date, *, samordningsnummer: bool = False) -> Personnummer:
    """A valid personnummer (or samordningsnummer, day + 60) for a birth date; serials never repeat."""
    day = born.day + (60 if samordningsnummer else 0)
    head = f"{born.year:04d}{born.month:02d}{day:02d}"
    serial = f"{next(_serials) % 1000:03d}"
    check = luhn_check_digit(head[2:] + serial)
    return Personnummer(f"{head}-{serial}{check}")


def born_years_before(period: str, years: int, *, days_after_first: int = 0) -> date:
    """A birth date that makes someone `years` old on the period's first day.

    days_after_first=1 gives a birthday on the 2nd: one year younger on the 1st.
    """
    start = period_start(period)
    born = date(start.year - years, start.month, 1)
    return born.replace(day=1 + days_after_first)


class HouseholdBuilder:
    def __init__(self, *, single: bool = True, period: str = "2026-12") -> None:
        self.period = period
        self.kind = "reapplication"
        self.members: dict[str, Member] = {}
        self._children = itertools.count(1)
        self._adults = itertools.count(1)
        self.costs: list[DeclaredCost] = []
        self.attachments: list[Attachment] = []
        self.declared_incomes: list[DeclaredIncome] = []
        self.payments: list[Payment] = []
        self.employer_declarations: list[EmployerDeclaration] = []
        self.af: dict[str, AfStatus] = {}
        self.bank_balance = 0
        self.frame_status = FrameStatus.OK
        self.frame_problem = ""
        self.frame_caps: dict[CostType, int] = {}
        self.frame_valid = (date(2026, 7, 1), date(2027, 6, 30))
        self.asset_buffer: int | None = None
        self.conditions: list[FrameCondition] = []
        self.expected_incomes: list[ExpectedIncome] = []
        self.previous: list[PreviousDecision] = []
        self.registered: list[RegisteredDecision] = []
        self.in_eservice: list[CaseApplication] = [
            CaseApplication(application_id=APPLICATION_ID, period=period, status="Ny",
                            received=datetime(2026, 11, 20, 10, 0))]
        self.unregistered: set[str] = set()
        self.extra_at_address: list[PopulationRecord] = []
        self.applicant_municipality = MUNICIPALITY
        self._add("applicant", Role.APPLICANT, date(1985, 3, 12))
        if not single:
            self.with_partner()

    # --- people -----------------------------------------------------------------------------

    def _add(self, name: str, role: Role, born: date, *, samordningsnummer: bool = False, **flags: bool) -> None:
        pnr = make_personnummer(born, samordningsnummer=samordningsnummer)
        self.members[name] = Member(personnummer=pnr, first_name=name.title(), last_name="Testsson", role=role,
                                    **flags)

    def pnr(self, name: str) -> Personnummer:
        return self.members[name].personnummer

    def with_partner(self, born: date = date(1987, 6, 20)) -> HouseholdBuilder:
        self._add("partner", Role.PARTNER, born)
        return self

    def with_second_applicant(self) -> HouseholdBuilder:
        self._add("applicant2", Role.APPLICANT, date(1980, 1, 1))
        return self

    def with_child(self, age: int | None = None, *, born: date | None = None, in_school: bool = False,
                   lunch_at_home: bool = False, samordningsnummer: bool = False) -> HouseholdBuilder:
        born = born or born_years_before(self.period, age if age is not None else 5, days_after_first=0)
        self._add(f"child{next(self._children)}", Role.CHILD, born, samordningsnummer=samordningsnummer,
                  in_school=in_school, lunch_at_home=lunch_at_home)
        return self

    def with_children(self, count: int, age: int = 8) -> HouseholdBuilder:
        for _ in range(count):
            self.with_child(age)
        return self

    def with_other_adult(self, born: date = date(1960, 5, 5)) -> HouseholdBuilder:
        self._add(f"adult{next(self._adults)}", Role.OTHER_ADULT, born)
        return self

    def without_applicant(self) -> HouseholdBuilder:
        del self.members["applicant"]
        return self

    # --- costs and attachments --------------------------------------------------------------

    def with_cost(self, cost_type: CostType | str, amount: int, *, attachments: tuple[str, ...] = ("pdf",),
                  document_amounts: tuple[int, ...] | None = None, cap: int | None = None) -> HouseholdBuilder:
        """Declare a cost with attachments of the given formats; readable ones state `document_amounts`
        (default: the declared amount split over them, the remainder on the first)."""
        cost_type = CostType(cost_type)
        self.costs.append(DeclaredCost(type=cost_type, amount=amount))
        if document_amounts is None:
            share = amount // max(len(attachments), 1)
            document_amounts = tuple(share + (amount - share * len(attachments) if i == 0 else 0)
                                     for i in range(len(attachments)))
        for index, (fmt, stated) in enumerate(zip(attachments, document_amounts, strict=True)):
            self.with_attachment(cost_type, fmt, stated, name=f"{cost_type.value}-{len(self.attachments)}-{index}")
        if cap is not None:
            self.frame_caps[cost_type] = cap
        return self

    def with_attachment(self, cost_type: CostType | str, fmt: str = "pdf", amount: int | None = None, *,
                        name: str = "") -> HouseholdBuilder:
        fmt = AttachmentFormat(fmt)
        readable = fmt in (AttachmentFormat.PDF, AttachmentFormat.DOCX)
        self.attachments.append(Attachment(filename=f"{name or 'underlag'}.{fmt.value}", cost_type=CostType(cost_type),
                                           format=fmt, readable=readable, amount=amount if readable else None))
        return self

    def with_rent(self, amount: int, *, cap: int | None = None, attachments: tuple[str, ...] = ("pdf",)
                  ) -> HouseholdBuilder:
        return self.with_cost(CostType.HYRA, amount, attachments=attachments, cap=amount if cap is None else cap)

    def with_cap(self, cost_type: CostType | str, cap: int) -> HouseholdBuilder:
        self.frame_caps[CostType(cost_type)] = cap
        return self

    # --- incomes and registers --------------------------------------------------------------

    def declaring(self, who: str, income_type: IncomeType | str, amount: int) -> HouseholdBuilder:
        self.declared_incomes.append(DeclaredIncome(personnummer=self.pnr(who), type=IncomeType(income_type),
                                                    amount=amount))
        return self

    def register_shows(self, who: str, income_type: IncomeType | str, amount: int, *, period: str | None = None
                       ) -> HouseholdBuilder:
        """A payment in the type's authoritative register (for `lon`: a declaration with no tax)."""
        income_type = IncomeType(income_type)
        if income_type is IncomeType.LON:
            return self.salary_in_register(who, gross=amount, tax=0, period=period)
        assert REGISTER_FOR_INCOME[income_type] is not None
        self.payments.append(Payment(personnummer=self.pnr(who), type=income_type, period=period or self.period,
                                     amount=amount))
        return self

    def salary_in_register(self, who: str, *, gross: int, tax: int, period: str | None = None,
                           employer: str = "Arbetsgivare AB") -> HouseholdBuilder:
        self.employer_declarations.append(EmployerDeclaration(personnummer=self.pnr(who), period=period or self.period,
                                                              employer=employer, gross=gross, tax=tax))
        return self

    def with_bank_balance(self, amount: int, *, buffer: int | None = None) -> HouseholdBuilder:
        self.bank_balance = amount
        self.asset_buffer = buffer
        return self

    def with_previous_decisions(self, *decisions: str) -> HouseholdBuilder:
        """Decisions for the months before the period, nearest first."""
        for month, decision in zip(previous_periods(self.period, len(decisions)), decisions, strict=True):
            self.previous.append(PreviousDecision(period=month, decision=decision, amount=5000))
        return self

    def with_decision_for(self, period: str, decision: str = "approve", amount: int = 5000) -> HouseholdBuilder:
        """A decision in the case's history ("Tidigare beslut") for any month, the period's own included."""
        self.previous.append(PreviousDecision(period=period, decision=decision, amount=amount))
        return self

    def with_registered_decision(self, application_id: str, period: str | None = None, decision: str = "approve",
                                 amount: int = 5000, registered: str = "2026-11-24 10:15") -> HouseholdBuilder:
        """A decision registered on one of the case's applications ("Registrerade beslut")."""
        self.registered.append(RegisteredDecision(application_id=application_id, period=period or self.period,
                                                  decision=decision, amount=amount, registered=registered))
        return self

    def with_other_application(self, application_id: str, period: str | None = None, status: str = "Ny",
                               received: datetime = datetime(2026, 11, 21, 9, 30)) -> HouseholdBuilder:
        """Another application of the same case in the e-service."""
        self.in_eservice.append(CaseApplication(application_id=application_id, period=period or self.period,
                                                status=status, received=received))
        return self

    # --- frame and checks -------------------------------------------------------------------

    def without_frame(self) -> HouseholdBuilder:
        self.frame_status = FrameStatus.MISSING
        return self

    def with_invalid_frame(self, problem: str = "EB-2026-9999.xlsx, blad Kostnader, cell B2: text") -> HouseholdBuilder:
        self.frame_status = FrameStatus.INVALID
        self.frame_problem = problem
        return self

    def with_frame_valid(self, valid_from: date, valid_to: date) -> HouseholdBuilder:
        self.frame_valid = (valid_from, valid_to)
        return self

    def requiring_af_registration(self, who: str = "applicant") -> HouseholdBuilder:
        self.conditions.append(FrameCondition(code="AF_REGISTERED", personnummer=self.pnr(who)))
        return self

    def af_shows(self, who: str, *, registered: bool, since: date | None = None) -> HouseholdBuilder:
        self.af[who] = AfStatus(personnummer=self.pnr(who), registered=registered, registered_since=since)
        return self

    def expecting_income(self, who: str, income_type: IncomeType | str, amount: int | None = None
                         ) -> HouseholdBuilder:
        self.expected_incomes.append(ExpectedIncome(personnummer=self.pnr(who), type=IncomeType(income_type),
                                                    amount=amount))
        return self

    def not_in_population_register(self, who: str = "applicant") -> HouseholdBuilder:
        self.unregistered.add(who)
        return self

    def with_someone_else_registered_at_the_address(self) -> HouseholdBuilder:
        pnr = make_personnummer(date(1970, 2, 2))
        self.extra_at_address.append(PopulationRecord(personnummer=pnr, first_name="Okänd", last_name="Person",
                                                      address=HOME))
        return self

    def registered_in(self, municipality: str) -> HouseholdBuilder:
        self.applicant_municipality = municipality
        return self

    def first_application(self) -> HouseholdBuilder:
        self.kind = "first"
        return self

    # --- build ------------------------------------------------------------------------------

    def _population(self, name: str, member: Member) -> PopulationRecord | None:
        if name in self.unregistered:
            return None
        address = dict(HOME, municipality=self.applicant_municipality)
        return PopulationRecord(personnummer=member.personnummer, first_name=member.first_name,
                                last_name=member.last_name, address=address)

    def build(self) -> CaseBundle:
        members = list(self.members.values())
        application = Application(
            application_id=APPLICATION_ID, case_number="EB-2026-9999", period=self.period, kind=self.kind,
            submitted_at=datetime(2026, 11, 20, 10, 0), municipality=MUNICIPALITY, members=members,
            declared_incomes=self.declared_incomes, declared_costs=self.costs, bank_balance=self.bank_balance,
            attachments=self.attachments,
        )
        frame = FrameReading(status=self.frame_status, problem=self.frame_problem, file_name="EB-2026-9999.xlsx")
        if self.frame_status is FrameStatus.OK:
            frame = FrameReading(status=FrameStatus.OK, file_name="EB-2026-9999.xlsx", frame=ReferenceFrame(
                case_number="EB-2026-9999", valid_from=self.frame_valid[0], valid_to=self.frame_valid[1],
                costs=self.frame_caps, expected_incomes=self.expected_incomes, conditions=self.conditions,
                asset_buffer=self.asset_buffer))
        persons = []
        for name, member in self.members.items():
            pnr = member.personnummer
            persons.append(PersonRecords(
                personnummer=pnr,
                fk=[p for p in self.payments if p.personnummer == pnr and REGISTER_FOR_INCOME[p.type].value == "fk"],
                pm=[p for p in self.payments if p.personnummer == pnr and REGISTER_FOR_INCOME[p.type].value == "pm"],
                csn=[p for p in self.payments if p.personnummer == pnr and REGISTER_FOR_INCOME[p.type].value == "csn"],
                akassa=[p for p in self.payments
                        if p.personnummer == pnr and REGISTER_FOR_INCOME[p.type].value == "akassa"],
                employer_declarations=[d for d in self.employer_declarations if d.personnummer == pnr],
                af=self.af.get(name), population=self._population(name, member)))
        at_address = [p.population for p in persons if p.population is not None] + self.extra_at_address
        case = CaseRecord(case_number="EB-2026-9999", members=members, previous_decisions=self.previous,
                          registered_decisions=self.registered)
        return CaseBundle(application=application, case=case, frame=frame,
                          records=AgencyRecords(persons=persons, registered_at_address=at_address),
                          case_applications=[a for a in self.in_eservice if a.period == self.period])


def household(*, single: bool = True, period: str = "2026-12") -> HouseholdBuilder:
    return HouseholdBuilder(single=single, period=period)
