"""The data that crosses a boundary: what the bot reads, what it decides, what it writes.

Amounts are whole kronor (`int`). Personnummer are `Personnummer` (masked when printed).
The browser side fills these models; the rules read them; the report renders them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bistand.core.personnummer import Personnummer

Period = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
Kronor = Annotated[int, Field(ge=0)]


class Role(StrEnum):
    APPLICANT = "applicant"
    PARTNER = "partner"
    CHILD = "child"
    OTHER_ADULT = "other_adult"


class CostType(StrEnum):
    HYRA = "hyra"
    HUSHALLSEL = "hushallsel"
    HEMFORSAKRING = "hemforsakring"
    FACKAVGIFT = "fackavgift"
    AKASSA = "akassa"
    ARBETSRESOR = "arbetsresor"
    BARNOMSORG = "barnomsorg"
    LAKARVARD = "lakarvard"
    MEDICIN = "medicin"
    TANDVARD = "tandvard"
    GLASOGON = "glasogon"
    OVRIGT = "ovrigt"


class IncomeType(StrEnum):
    LON = "lon"
    SJUKPENNING = "sjukpenning"
    FORALDRAPENNING = "foraldrapenning"
    AKTIVITETSSTOD = "aktivitetsstod"
    ETABLERINGSERSATTNING = "etableringsersattning"
    AKASSA_ERSATTNING = "akassa_ersattning"
    BOSTADSBIDRAG = "bostadsbidrag"
    BARNBIDRAG = "barnbidrag"
    UNDERHALLSSTOD = "underhallsstod"
    SJUKERSATTNING = "sjukersattning"
    AKTIVITETSERSATTNING = "aktivitetsersattning"
    PENSION = "pension"
    BOSTADSTILLAGG = "bostadstillagg"
    STUDIEMEDEL = "studiemedel"
    OVRIG_INKOMST = "ovrig_inkomst"


class Register(StrEnum):
    """The systems the bot reads; also used as `source` of findings."""

    ESERVICE = "eservice"
    FK = "fk"
    AF = "af"
    CSN = "csn"
    SKV = "skv"
    PM = "pm"
    AKASSA = "akassa"
    CASEMGMT = "casemgmt"
    FRAME = "frame"
    NORM = "norm"


class AttachmentFormat(StrEnum):
    """What the bot found the file to be (not what the applicant claimed)."""

    PDF = "pdf"
    PDF_SCANNED = "pdf_scanned"
    PNG = "png"
    JPG = "jpg"
    DOCX = "docx"
    CORRUPT = "corrupt"


class Proposal(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    MANUAL_REVIEW = "manual_review"


class Mode(StrEnum):
    SUPPORT = "support"
    AUTOMATED = "automated"


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- What the e-service shows -------------------------------------------------------------


class Member(Model):
    personnummer: Personnummer
    first_name: str
    last_name: str
    role: Role
    in_school: bool = False
    lunch_at_home: bool = False

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class DeclaredIncome(Model):
    personnummer: Personnummer
    type: IncomeType
    amount: Kronor


class DeclaredCost(Model):
    type: CostType
    amount: Kronor
    note: str = ""


class Attachment(Model):
    """One uploaded file, as downloaded and read by the bot.

    `readable` is true only for a PDF with a text layer or a DOCX from which an amount was read;
    `amount` is that amount. `problem` says in Swedish why a file could not be read.
    """

    filename: str
    cost_type: CostType
    format: AttachmentFormat
    readable: bool
    amount: Kronor | None = None
    problem: str = ""
    size_bytes: int = 0
    sha256: str = ""
    """SHA-256 of the bytes downloaded (hex); empty when the file's bytes were not read (world bundles)."""


class Application(Model):
    application_id: Annotated[str, Field(pattern=r"^ANS-[0-9]{4}-[0-9]{6}$")]
    case_number: str
    period: Period
    kind: Literal["first", "reapplication"]
    submitted_at: datetime
    municipality: str
    """The municipality that runs the e-service (its name is in the e-service header)."""
    members: list[Member]
    """The household the applicant declares, with roles as the e-service shows them."""
    declared_incomes: list[DeclaredIncome] = []
    declared_costs: list[DeclaredCost] = []
    bank_balance: Kronor = 0
    message: str = ""
    attachments: list[Attachment] = []

    @property
    def applicant(self) -> Member:
        return next(m for m in self.members if m.role is Role.APPLICANT)

    @property
    def period_start(self) -> date:
        year, month = self.period.split("-")
        return date(int(year), int(month), 1)


# --- Agency registers ----------------------------------------------------------------------


class Payment(Model):
    """One payment row from FK, PM, CSN or the a-kassa."""

    personnummer: Personnummer
    type: IncomeType
    period: Period
    amount: Kronor
    paid_on: date | None = None


class EmployerDeclaration(Model):
    personnummer: Personnummer
    period: Period
    employer: str
    gross: Kronor
    tax: Kronor


class Address(Model):
    street: str
    postal_code: str
    city: str
    municipality: str

    def same_dwelling(self, other: Address) -> bool:
        """RULES.md §5: same street and postal code (case and spacing ignored)."""
        norm = lambda s: " ".join(s.split()).casefold()  # noqa: E731
        return norm(self.street) == norm(other.street) and norm(
            self.postal_code.replace(" ", "")
        ) == norm(other.postal_code.replace(" ", ""))


class PopulationRecord(Model):
    personnummer: Personnummer
    first_name: str
    last_name: str
    address: Address


class AfStatus(Model):
    personnummer: Personnummer
    registered: bool
    registered_since: date | None = None
    category: str = ""
    last_activity_report: date | None = None


class PersonRecords(Model):
    """Everything the agencies show for one person (only the registers that were asked)."""

    personnummer: Personnummer
    fk: list[Payment] = []
    pm: list[Payment] = []
    csn: list[Payment] = []
    akassa: list[Payment] = []
    employer_declarations: list[EmployerDeclaration] = []
    af: AfStatus | None = None
    population: PopulationRecord | None = None
    """The person's folkbokföring; None when Skatteverket does not know the person."""


class AgencyRecords(Model):
    persons: list[PersonRecords] = []
    registered_at_address: list[PopulationRecord] = []
    """Everyone Skatteverket lists at the applicant's registered address (same street, postal code)."""

    def for_person(self, pnr: Personnummer) -> PersonRecords:
        for record in self.persons:
            if record.personnummer == pnr:
                return record
        return PersonRecords(personnummer=pnr)


# --- Case-management system and reference frame -------------------------------------------


class PreviousDecision(Model):
    period: Period
    decision: Literal["approve", "reject"]
    amount: Kronor


class RegisteredDecision(Model):
    """A decision registered on one of the case's applications (table "Registrerade beslut"),
    by the bot in automated mode or by a caseworker."""

    application_id: str
    period: Period
    decision: Literal["approve", "reject"]
    amount: Kronor
    registered: str = ""
    """When it was registered, as the case-management system shows it ('2026-11-24 10:15')."""


class CaseRecord(Model):
    case_number: str
    members: list[Member]
    previous_decisions: list[PreviousDecision] = []
    """The case's history (table "Tidigare beslut"): period, decision and amount, no application."""
    registered_decisions: list[RegisteredDecision] = []


class CaseApplication(Model):
    """One of the case's applications as the e-service's inbox lists it (any status)."""

    application_id: str
    period: Period
    status: str
    """The e-service's Swedish status label ('Ny', 'Beslutad', ...)."""
    received: datetime


class ExpectedIncome(Model):
    personnummer: Personnummer
    type: IncomeType
    amount: Kronor | None = None


class FrameCondition(Model):
    code: Literal["AF_REGISTERED"]
    personnummer: Personnummer


class ReferenceFrame(Model):
    case_number: str
    valid_from: date
    valid_to: date
    costs: dict[CostType, Kronor]
    expected_incomes: list[ExpectedIncome] = []
    conditions: list[FrameCondition] = []
    asset_buffer: Kronor | None = None
    caseworker_note: str = ""


class FrameStatus(StrEnum):
    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"


class FrameReading(Model):
    """The outcome of reading the case's workbook: a frame, or why there is none."""

    status: FrameStatus
    frame: ReferenceFrame | None = None
    problem: str = ""
    """For INVALID: the message naming file, sheet and cell."""
    file_name: str = ""
    sha256: str = ""
    """SHA-256 of the workbook's bytes as read (hex); empty when there was no file to read."""


# --- Inputs bundled for one application ----------------------------------------------------


class SourceRead(Model):
    system: Register
    read_at: datetime
    detail: str = ""


class CaseBundle(Model):
    """All inputs read for one application, with when each source was read."""

    application: Application
    case: CaseRecord
    frame: FrameReading
    records: AgencyRecords
    case_applications: list[CaseApplication] = []
    """The e-service's applications of the same case for the same period, this one included
    (RULES.md §5, DUPLICATE_PERIOD)."""
    sources: list[SourceRead] = []


# --- What the rules produce ----------------------------------------------------------------


class Finding(Model):
    code: str
    blocking: bool
    message: str
    """One sentence in Swedish."""
    source: Register
    data: dict[str, str | int | None] = {}
    """The data that raised it (amounts as int, personnummer in full)."""


class NormLine(Model):
    personnummer: Personnummer | None
    """None for the household's common costs."""
    label: str
    """Swedish: 'Ensamstående vuxen', 'Barn 11-14 år', 'Gemensamma kostnader, 3 personer'."""
    table_key: str
    """The riksnorm table key: adults.single, children.11-14, common.3, ..."""
    amount: Kronor
    status: Literal["official", "derived", "not_counted"]
    note: str = ""


class CostLine(Model):
    type: CostType
    declared: Kronor
    document_amount: Kronor | None = None
    """Σ of amounts read from readable attachments; None when there were none or any unreadable."""
    cap: Kronor | None = None
    approved: Kronor
    note: str = ""


class IncomeLine(Model):
    personnummer: Personnummer
    type: IncomeType
    declared: Kronor
    source_register: Register | None
    """The authoritative register for the type (RULES.md §4); None for ovrig_inkomst."""
    register_amount: Kronor | None
    counted: Kronor
    """After job stimulus."""
    job_stimulus_deduction: Kronor = 0
    note: str = ""


class Assessment(Model):
    application_id: str
    case_number: str
    period: Period
    mode: Mode
    norm_year: int
    norm_lines: list[NormLine]
    cost_lines: list[CostLine]
    income_lines: list[IncomeLine]
    asset_excess: Kronor = 0
    findings: list[Finding]
    norm_total: int
    costs_total: int
    incomes_total: int
    result: int
    proposal: Proposal
    amount: Kronor
    bot_version: str
    rules_version: str
    assessed_at: datetime

    @property
    def blocking_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def finding_codes(self) -> list[str]:
        return sorted({f.code for f in self.findings})
