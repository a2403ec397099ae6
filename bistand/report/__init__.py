"""The caseworker's report (beslutsunderlag): one view of a case, rendered as text, HTML and PDF.

`build_view(bundle, assessment)` gathers everything RULES.md §7 says the caseworker must see, in
Swedish, with names resolved and untrusted free text cleaned and truncated. The text and HTML
templates only lay that view out, so both say the same thing. Renderers live in `text`, `html`
and `pdf` (the only module that touches the browser).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bistand.core.models import Assessment, CaseBundle, FrameStatus, Member, Mode, Proposal, Role
from bistand.core.personnummer import Personnummer
from bistand.core.rules.costs import PROOF_REQUIRED
from bistand.report.labels import (
    COST_LABELS,
    DATA_KEY_LABELS,
    DATA_VALUE_LABELS,
    DEFAULT_GUIDELINE,
    FINDING_TITLES,
    INCOME_LABELS,
    KIND_LABELS,
    MODE_LABELS,
    NO_PROOF_NOTE,
    NORM_STATUS_LABELS,
    PROPOSAL_LABELS,
    REGISTER_LABELS,
    ROLE_LABELS,
    format_kr,
    is_amount_key,
    label,
    norm_key_label,
    with_norm_key_labels,
)

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "resources" / "templates"
LOCAL_TZ = ZoneInfo("Europe/Stockholm")

MESSAGE_LIMIT = 300
"""Characters of the applicant's message shown; the rest is cut with a marker."""
NOTE_LIMIT = 300
"""Characters of other free text (caseworker note, problems, finding data) shown."""

_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029|\x85")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")

MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
          "oktober", "november", "december")


def clean_text(text: str) -> str:
    """Untrusted text made safe to show and paste: NFC, `\\n` newlines, no control or format characters.

    Removes NUL and every other control character (tabs become spaces) and invisible format
    characters such as bidi overrides, which could make the text read differently than it is.
    """
    text = unicodedata.normalize("NFC", _LINE_BREAKS.sub("\n", text or "")).replace("\t", " ")
    kept = [ch for ch in text if ch == "\n" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"}]
    lines = [line.rstrip() for line in "".join(kept).split("\n")]
    return _MANY_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def truncate(text: str, limit: int) -> tuple[str, int]:
    """The first `limit` characters and how many were left out."""
    if len(text) <= limit:
        return text, 0
    return text[:limit].rstrip(), len(text) - limit


def truncation_marker(remaining: int) -> str:
    return f"[… avkortat, {remaining} tecken till]"


def local_time(moment: datetime | None, seconds: bool = False) -> str:
    """A read time as the caseworker's wall clock shows it (Europe/Stockholm)."""
    if moment is None:
        return "–"
    if moment.tzinfo is not None:
        moment = moment.astimezone(LOCAL_TZ)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def period_label(period: str) -> str:
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


@dataclass
class Person:
    name: str
    personnummer: str
    role: str = ""
    age: int | None = None

    @property
    def display(self) -> str:
        return f"{self.name}, {self.personnummer}" if self.name else self.personnummer


@dataclass
class NormRow:
    label: str
    person: Person | None
    table_key: str
    key_label: str
    """Swedish words for the table key ('Vuxen ensamstående' for adults.single)."""
    amount: int
    status: str
    status_code: str
    note: str

    @property
    def unverified(self) -> bool:
        """A derived figure: the caseworker must check it against the year's SFS."""
        return self.status_code == "derived"


@dataclass
class CostRow:
    label: str
    declared: int
    document_amount: int | None
    cap: int | None
    approved: int
    note: str
    proof_required: bool = True
    """False for the types RULES.md §3.1 approves without a document (home insurance, union fee, ...)."""


@dataclass
class IncomeRow:
    label: str
    register: str
    declared: int
    register_amount: int | None
    counted: int
    job_stimulus_deduction: int
    note: str


@dataclass
class IncomeGroup:
    person: Person
    rows: list[IncomeRow]


@dataclass
class DataItem:
    key: str
    value: str


@dataclass
class FindingRow:
    code: str
    title: str
    blocking: bool
    message: str
    source: str
    data: list[DataItem]


@dataclass
class SourceRow:
    system: str
    read_at: str
    detail: str


@dataclass
class FrameInfo:
    status: str
    file_name: str
    valid_from: str = ""
    valid_to: str = ""
    asset_buffer: int | None = None
    note: str = ""
    problem: str = ""


@dataclass
class Message:
    text: str
    remaining: int

    @property
    def marker(self) -> str:
        return truncation_marker(self.remaining) if self.remaining else ""


@dataclass
class ReportView:
    """Everything the report shows, in Swedish, with amounts as int for the templates to format."""

    application_id: str
    case_number: str
    period: str
    period_label: str
    kind: str
    submitted_at: str
    municipality: str
    applicant: Person
    applicant_missing: bool
    """No single applicant (HOUSEHOLD_UNCLEAR): `applicant` is the first member, or empty."""
    members: list[Person]
    proposal: str
    proposal_code: str
    amount: int
    mode: str
    mode_code: str
    decided_by_robot: bool
    """The robot decided (automated mode, a reapplication, no blocking finding): a decision, not a proposal."""
    norm_year: int
    norm_rows: list[NormRow]
    norm_has_derived: bool
    cost_rows: list[CostRow]
    income_groups: list[IncomeGroup]
    bank_balance: int
    asset_excess: int
    norm_total: int
    costs_total: int
    incomes_total: int
    income_lines_total: int
    assets_in_incomes: bool
    result: int
    findings: list[FindingRow]
    blocking_count: int
    frame: FrameInfo
    sources: list[SourceRow]
    message: Message
    bot_version: str
    rules_version: str
    assessed_at: str
    guideline: str
    attachments: list[str] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return "Beslut" if self.decided_by_robot else "Förslag till beslut"

    @property
    def decided_by(self) -> str:
        """Who decides, in one sentence the caseworker can quote."""
        if self.decided_by_robot:
            return ("Beslutet är fattat automatiskt av roboten med stöd av socialnämndens delegationsordning "
                    "(automatiserat beslut av en återansökan utan blockerande noteringar).")
        return "Beslutet fattas av en handläggare."


def _people_index(bundle: CaseBundle) -> dict[str, tuple[str, str]]:
    """personnummer (full) → (name, role label) from the e-service, the case and the population register."""
    index: dict[str, tuple[str, str]] = {}
    for record in bundle.records.persons:
        if record.population is not None:
            index[record.personnummer.full] = (f"{record.population.first_name} {record.population.last_name}", "")
    for member in [*bundle.case.members, *bundle.application.members]:
        index[member.personnummer.full] = (member.name, label(ROLE_LABELS, member.role))
    return index


def _person(pnr: Personnummer | str, bundle: CaseBundle, index: dict[str, tuple[str, str]]) -> Person:
    full = pnr.full if isinstance(pnr, Personnummer) else str(pnr)
    name, role = index.get(full, ("", ""))
    try:
        age = Personnummer(full).age_on(bundle.application.period_start)
    except ValueError:
        age = None
    return Person(name=clean_text(name), personnummer=full, role=role, age=age)


def _data_value(key: str, value: object) -> str:
    if isinstance(value, Personnummer):
        return value.full
    if isinstance(value, bool) or value is None:
        return {True: "ja", False: "nej", None: "–"}[value]
    if isinstance(value, int) and is_amount_key(key):
        return format_kr(value)
    if key in CODE_VALUE_LABELS and isinstance(value, str):
        return label(CODE_VALUE_LABELS[key], value)
    if key == "age" and isinstance(value, int):
        return f"{value} år"
    if key == "values" and isinstance(value, str):
        value = with_norm_key_labels(value)
    text, remaining = truncate(clean_text(str(value)).replace("\n", " "), NOTE_LIMIT)
    return f"{text} {truncation_marker(remaining)}" if remaining else text


CODE_VALUE_LABELS: dict[str, dict] = {
    "cost_type": {k.value: v for k, v in COST_LABELS.items()},
    "income_type": {k.value: v for k, v in INCOME_LABELS.items()},
    "role": {k.value: v for k, v in ROLE_LABELS.items()},
    "kind": KIND_LABELS,
    **DATA_VALUE_LABELS,
}


_UNGROUPED_KR = re.compile(r"(?<![\d ])\d{4,}(?= kr\b)")


def _group_amounts(text: str) -> str:
    """`2820 kr` in a rule's note becomes `2 820 kr`, as every amount in the report."""
    return _UNGROUPED_KR.sub(lambda match: format_kr(int(match.group(0)))[:-3], text)


def _frame_info(bundle: CaseBundle) -> FrameInfo:
    reading = bundle.frame
    status = {FrameStatus.OK: "inläst", FrameStatus.MISSING: "saknas", FrameStatus.INVALID: "kan inte läsas"}
    info = FrameInfo(status=label(status, reading.status), file_name=clean_text(reading.file_name))
    info.problem = _data_value("problem", reading.problem) if reading.problem else ""
    if reading.frame is not None:
        info.valid_from = reading.frame.valid_from.isoformat()
        info.valid_to = reading.frame.valid_to.isoformat()
        info.asset_buffer = reading.frame.asset_buffer
        info.note = _data_value("note", reading.frame.caseworker_note) if reading.frame.caseworker_note else ""
    return info


def decided_by_robot(bundle: CaseBundle, assessment: Assessment) -> bool:
    """RULES.md §6 modes: automated mode decides a reapplication with no blocking finding
    (the same test the bot applies before it registers the decision)."""
    return (
        assessment.mode is Mode.AUTOMATED
        and bundle.application.kind == "reapplication"
        and not assessment.blocking_findings
        and assessment.proposal in (Proposal.APPROVE, Proposal.REJECT)
    )


def the_applicant_or_first(members: list[Member]) -> Member | None:
    """The one applicant; without exactly one (HOUSEHOLD_UNCLEAR) the first member, or None."""
    applicants = [m for m in members if m.role is Role.APPLICANT]
    if len(applicants) == 1:
        return applicants[0]
    return members[0] if members else None


def build_view(bundle: CaseBundle, assessment: Assessment, guideline: str = DEFAULT_GUIDELINE) -> ReportView:
    """The report's content for one application (RULES.md §7); `guideline` names the municipality's rules."""
    app = bundle.application
    index = _people_index(bundle)
    members = [_person(m.personnummer, bundle, index) for m in app.members]
    applicant = the_applicant_or_first(app.members)
    applicant_missing = sum(1 for m in app.members if m.role is Role.APPLICANT) != 1

    norm_rows = [
        NormRow(
            label=line.label,
            person=_person(line.personnummer, bundle, index) if line.personnummer is not None else None,
            table_key=line.table_key,
            key_label=norm_key_label(line.table_key),
            amount=line.amount,
            status=label(NORM_STATUS_LABELS, line.status),
            status_code=line.status,
            note=_group_amounts(clean_text(line.note)),
        )
        for line in assessment.norm_lines
    ]
    cost_rows = [
        CostRow(label(COST_LABELS, c.type), c.declared, c.document_amount, c.cap, c.approved,
                " ".join(n for n in (clean_text(c.note), "" if c.type in PROOF_REQUIRED else NO_PROOF_NOTE) if n),
                proof_required=c.type in PROOF_REQUIRED)
        for c in assessment.cost_lines
    ]
    groups: dict[str, IncomeGroup] = {}
    for line in assessment.income_lines:
        group = groups.setdefault(
            line.personnummer.full, IncomeGroup(person=_person(line.personnummer, bundle, index), rows=[])
        )
        group.rows.append(IncomeRow(
            label=label(INCOME_LABELS, line.type),
            register=label(REGISTER_LABELS, line.source_register) if line.source_register else "inget register",
            declared=line.declared,
            register_amount=line.register_amount,
            counted=line.counted,
            job_stimulus_deduction=line.job_stimulus_deduction,
            note=clean_text(line.note),
        ))
    income_lines_total = sum(line.counted for line in assessment.income_lines)
    assets_in_incomes = assessment.incomes_total == income_lines_total + assessment.asset_excess

    findings = [
        FindingRow(
            code=f.code,
            title=FINDING_TITLES.get(f.code, ""),
            blocking=f.blocking,
            message=with_norm_key_labels(clean_text(f.message)),
            source=label(REGISTER_LABELS, f.source),
            data=[DataItem(DATA_KEY_LABELS.get(k, k), _data_value(k, v)) for k, v in f.data.items()],
        )
        for f in sorted(assessment.findings, key=lambda f: (not f.blocking, f.code))
    ]
    sources = [
        SourceRow(label(REGISTER_LABELS, s.system), local_time(s.read_at, seconds=True), clean_text(s.detail))
        for s in sorted(bundle.sources, key=lambda s: s.read_at)
    ]
    message_text, remaining = truncate(clean_text(app.message), MESSAGE_LIMIT)

    return ReportView(
        application_id=app.application_id,
        case_number=assessment.case_number,
        period=assessment.period,
        period_label=period_label(assessment.period),
        kind=label(KIND_LABELS, app.kind),
        submitted_at=local_time(app.submitted_at),
        municipality=clean_text(app.municipality),
        applicant=_person(applicant.personnummer, bundle, index) if applicant else Person(name="", personnummer=""),
        applicant_missing=applicant_missing,
        members=members,
        proposal=label(PROPOSAL_LABELS, assessment.proposal),
        proposal_code=Proposal(assessment.proposal).value,
        amount=assessment.amount,
        mode=label(MODE_LABELS, assessment.mode),
        mode_code=assessment.mode.value,
        decided_by_robot=decided_by_robot(bundle, assessment),
        norm_year=assessment.norm_year,
        norm_rows=norm_rows,
        norm_has_derived=any(row.status_code == "derived" for row in norm_rows),
        cost_rows=cost_rows,
        income_groups=list(groups.values()),
        bank_balance=app.bank_balance,
        asset_excess=assessment.asset_excess,
        norm_total=assessment.norm_total,
        costs_total=assessment.costs_total,
        incomes_total=assessment.incomes_total,
        income_lines_total=income_lines_total,
        assets_in_incomes=assets_in_incomes,
        result=assessment.result,
        findings=findings,
        blocking_count=sum(1 for f in findings if f.blocking),
        frame=_frame_info(bundle),
        sources=sources,
        message=Message(message_text, remaining),
        bot_version=assessment.bot_version,
        rules_version=assessment.rules_version,
        assessed_at=local_time(assessment.assessed_at),
        guideline=clean_text(guideline) or DEFAULT_GUIDELINE,
        attachments=[clean_text(a.filename) for a in app.attachments],
    )
