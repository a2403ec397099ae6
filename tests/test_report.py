"""The caseworker's report: every figure of every example application is in the text, HTML and PDF."""

from __future__ import annotations

import html as html_lib
import io
import json
import re
from datetime import UTC, date, datetime

import pypdf
import pytest

from bistand.core.engine import assess
from bistand.core.models import (
    AgencyRecords,
    Application,
    Attachment,
    CaseBundle,
    CaseRecord,
    DeclaredCost,
    DeclaredIncome,
    EmployerDeclaration,
    FrameReading,
    Member,
    Payment,
    PersonRecords,
    ReferenceFrame,
    SourceRead,
)
from bistand.core.personnummer import luhn_check_digit
from bistand.core.world_bundles import bundles_from_world
from bistand.report import clean_text
from bistand.report.html import render_html
from bistand.report.pdf import render_pdf
from bistand.report.text import render_text

NOW = datetime(2026, 11, 23, 8, 15, tzinfo=UTC)
PROPOSAL_WORDS = {"approve": "Bevilja", "reject": "Avslå", "manual_review": "Manuell handläggning"}
REGISTER_NAMES = {"fk": "Försäkringskassan", "skv": "Skatteverket", "csn": "CSN", "pm": "Pensionsmyndigheten",
                  "akassa": "A-kassan", "af": "Arbetsförmedlingen"}
XSS_APPLICATION = "ANS-2026-000018"


def kronor(amount: int) -> str:
    """How the caseworker reads an amount: '12 345 kr' (written out here, not taken from the code)."""
    return f"{amount:,} kr".replace(",", " ")


def flat(text: str) -> str:
    """Text with markup and line wrapping removed, so a wrapped sentence can be found whole."""
    text = re.sub(r"</?code[^>]*>", "", text)  # inline: a key set small reads as part of its sentence
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", text)).replace("\u00a0", " ")
    return " ".join(text.split())


@pytest.fixture(scope="module")
def world(example_world_path):
    return json.loads(example_world_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cases(world):
    """application_id → (bundle, assessment) for every example application."""
    return {app_id: (bundle, assess(bundle, now=NOW)) for app_id, bundle in bundles_from_world(world).items()}


@pytest.fixture(scope="module")
def texts(cases):
    return {app_id: render_text(*case) for app_id, case in cases.items()}


@pytest.fixture(scope="module")
def htmls(cases):
    return {app_id: render_html(*case) for app_id, case in cases.items()}


@pytest.fixture(scope="module")
def pdfs(htmls, browser_session, tmp_path_factory):
    """application_id → (raw bytes, extracted text); printed once, on the session's one browser."""
    out = tmp_path_factory.mktemp("report-pdf")
    printed = {}
    for app_id, page in htmls.items():
        data = render_pdf(page, out / f"{app_id}.pdf", browser_session).read_bytes()
        reader = pypdf.PdfReader(io.BytesIO(data))
        printed[app_id] = (data, " ".join(p.extract_text() for p in reader.pages))
    return printed


def figures(bundle, assessment) -> list[str]:
    """Every figure and word RULES.md §7 says the caseworker must see, as it must appear."""
    expected = [
        PROPOSAL_WORDS[assessment.proposal.value], kronor(assessment.amount), assessment.period,
        bundle.application.applicant.personnummer.full, bundle.application.applicant.name,
        assessment.bot_version, assessment.rules_version, str(assessment.norm_year),
        kronor(assessment.norm_total), kronor(assessment.result),
    ]
    for line in assessment.norm_lines:
        expected += [kronor(line.amount), line.label, {"official": "officiell", "derived": "härledd",
                                                         "not_counted": "räknas ej"}[line.status]]
    for line in assessment.cost_lines:
        expected += [kronor(line.declared), kronor(line.approved)]
        expected += [kronor(value) for value in (line.cap, line.document_amount) if value is not None]
    for line in assessment.income_lines:
        expected += [kronor(line.declared), kronor(line.counted), line.personnummer.full]
        if line.register_amount is not None:
            expected.append(kronor(line.register_amount))
        if line.source_register is not None:
            expected.append(REGISTER_NAMES[line.source_register.value])
    for finding in assessment.findings:
        # A norm table key in a message is shown after its Swedish words: "Barn 4–6 år (children.4-6)".
        parts = re.split(r"\b((?:adults|children|common)\.[\w+-]+)", " ".join(finding.message.split()))
        expected += [finding.code, *(f"({part})" if index % 2 else part.strip() for index, part in enumerate(parts))]
        expected += [kronor(v) for k, v in finding.data.items() if isinstance(v, int) and "amount" in k]
    return expected


def test_the_example_world_covers_every_proposal_and_many_findings(cases):
    proposals = {assessment.proposal.value for _, assessment in cases.values()}
    codes = {code for _, assessment in cases.values() for code in assessment.finding_codes}
    assert proposals == {"approve", "reject", "manual_review"}
    assert len(codes) >= 12


@pytest.mark.parametrize("number", range(1, 21))
def test_the_text_report_explains_every_figure(number, cases, texts):
    app_id = f"ANS-2026-{number:06d}"
    shown = flat(texts[app_id])
    missing = [item for item in figures(*cases[app_id]) if item not in shown]
    assert missing == []


@pytest.mark.parametrize("number", range(1, 21))
def test_the_html_report_explains_every_figure(number, cases, htmls):
    app_id = f"ANS-2026-{number:06d}"
    shown = flat(htmls[app_id])
    missing = [item for item in figures(*cases[app_id]) if item not in shown]
    assert missing == []


def test_the_text_report_shows_each_cost_declared_document_cap_and_approved_in_one_row(cases, texts):
    _, assessment = cases["ANS-2026-000004"]  # rent above the frame: capped
    capped = next(line for line in assessment.cost_lines if line.cap is not None and line.declared > line.cap)
    row = next(line for line in texts["ANS-2026-000004"].splitlines() if line.strip().startswith("Hyra"))
    assert re.findall(r"\d[\d ]* kr", row) == [
        kronor(capped.declared), kronor(capped.document_amount), kronor(capped.cap), kronor(capped.approved)
    ]
    assert "COST_CAPPED" in texts["ANS-2026-000004"]


def test_every_text_report_fits_78_columns_and_a_text_area(texts):
    """Only a single token longer than a line (ANS-…18's hostile 226-letter "word") may pass 78: it is kept whole."""
    too_wide = {app_id: [line for line in text.splitlines()
                         if len(line) > 78 and len(line.removeprefix("  | ").split()) > 1]
                for app_id, text in texts.items()}
    assert {app_id: lines for app_id, lines in too_wide.items() if lines} == {}
    assert max(len(text) for text in texts.values()) < 12_000


def test_the_text_report_names_the_mode_and_when_each_system_was_read(cases, texts):
    bundle, _ = cases["ANS-2026-000001"]
    text = texts["ANS-2026-000001"]
    assert "beslutsstöd" in text.lower()
    for name in ("E-tjänsten", "Försäkringskassan", "Skatteverket", "Referensramen"):
        assert re.search(rf"{name}\s+\d{{4}}-\d\d-\d\d \d\d:\d\d", text), name
    assert len(bundle.sources) >= 4


def test_derived_norm_values_carry_a_note_to_check_them_against_the_sfs(cases, texts):
    derived = [app_id for app_id, (_, a) in cases.items() if any(n.status == "derived" for n in a.norm_lines)]
    official_only = [app_id for app_id in cases if app_id not in derived]
    assert derived and official_only
    assert all("SFS" in texts[app_id] for app_id in derived)
    assert not any("SFS" in texts[app_id] for app_id in official_only)


def test_the_automated_mode_is_named_in_the_report(cases):
    bundle, _ = cases["ANS-2026-000001"]
    text = render_text(bundle, assess(bundle, "automated", now=NOW))
    assert "Automatiserat beslut" in text
    assert "beslutsstöd" not in text.lower()


def test_the_html_report_escapes_the_applicants_script(htmls, world):
    page = htmls[XSS_APPLICATION]
    assert "&lt;script&gt;" in page
    assert "<script>alert" not in page
    assert "<script" not in page.lower()


def test_the_text_report_shows_the_message_as_text_and_truncates_it(texts, world):
    message = next(a["message"] for a in world["applications"] if a["application_id"] == XSS_APPLICATION)
    text = texts[XSS_APPLICATION]
    assert '<script>alert("x")</script>' in text  # shown as the applicant wrote it, not interpreted
    marker = re.search(r"\[… avkortat, (\d+) tecken till\]", text)
    assert marker is not None
    shown = "".join(line[4:] for line in text.splitlines() if line.startswith("  | "))
    assert len(shown) + int(marker.group(1)) >= len(message) - message.count(" ") - 5
    assert message not in text


def test_every_pdf_is_a_pdf_whose_text_holds_the_amount_and_the_applicant(pdfs, cases):
    for app_id, (data, text) in pdfs.items():
        bundle, assessment = cases[app_id]
        assert data.startswith(b"%PDF"), app_id
        assert kronor(assessment.amount) in flat(text), app_id
        assert bundle.application.applicant.personnummer.full in text, app_id


# --- A big household with hostile free text -----------------------------------------------------


def pnr(birth: str, serial: str) -> str:
    return f"{birth}-{serial}{luhn_check_digit(birth[2:] + serial)}"


def big_household_bundle(message: str) -> CaseBundle:
    """Nine members, every cost type, incomes from several registers, a long hostile message."""
    applicant, partner = pnr("19800101", "123"), pnr("19820202", "234")
    children = [pnr(f"20{10 + i:02d}0{1 + i % 9}15", f"3{i}5") for i in range(6)]
    adult = pnr("19600303", "456")
    members = [Member(personnummer=applicant, first_name="Aleksandra-Marianne", last_name="Johansson-Wikström",
                      role="applicant"),
               Member(personnummer=partner, first_name="Bo", last_name="Johansson", role="partner"),
               Member(personnummer=adult, first_name="Gun", last_name="Berg", role="other_adult")]
    members += [Member(personnummer=c, first_name=f"Barn{i}", last_name="Johansson", role="child", in_school=True)
                for i, c in enumerate(children)]
    costs = [DeclaredCost(type=t, amount=100 * (i + 1)) for i, t in enumerate(
        ["hyra", "hushallsel", "hemforsakring", "fackavgift", "akassa", "arbetsresor", "barnomsorg",
         "lakarvard", "medicin", "tandvard", "glasogon", "ovrigt"])]
    incomes = [DeclaredIncome(personnummer=applicant, type="lon", amount=9000),
               DeclaredIncome(personnummer=partner, type="sjukpenning", amount=4000)]
    incomes += [DeclaredIncome(personnummer=c, type="barnbidrag", amount=1250) for c in children]
    app = Application(
        application_id="ANS-2026-000999", case_number="EB-2026-0999", period="2026-12", kind="reapplication",
        submitted_at=NOW, municipality="Höörby", members=members, declared_incomes=incomes,
        declared_costs=costs, bank_balance=30_000, message=message,
        attachments=[Attachment(filename=f"{c.type}.png", cost_type=c.type, format="png", readable=False,
                                problem="Bild") for c in costs],
    )
    records = AgencyRecords(persons=[
        PersonRecords(personnummer=applicant, employer_declarations=[
            EmployerDeclaration(personnummer=applicant, period="2026-12", employer="Bygg AB", gross=12000, tax=2500)]),
        PersonRecords(personnummer=partner, fk=[Payment(personnummer=partner, type="sjukpenning", period="2026-12",
                                                        amount=4100)]),
    ])
    frame = FrameReading(status="ok", file_name="EB-2026-0999.xlsx", frame=ReferenceFrame(
        case_number="EB-2026-0999", valid_from=date(2026, 7, 1), valid_to=date(2027, 6, 30),
        costs={"hyra": 90, "hushallsel": 400}, asset_buffer=5000, caseworker_note="Lång anteckning. " * 60))
    return CaseBundle(application=app, case=CaseRecord(case_number="EB-2026-0999", members=members), frame=frame,
                      records=records, sources=[SourceRead(system="eservice", read_at=NOW)])


HOSTILE = "Hej!\r\nRad två\x00\x07\u202e gömd\ttext <b>fet</b>\r" + "lång text " * 600


def test_a_big_household_with_a_long_message_still_fits_the_text_area():
    bundle = big_household_bundle(HOSTILE)
    text = render_text(bundle, assess(bundle, now=NOW))
    assert len(text) < 12_000
    assert max(len(line) for line in text.splitlines() if len(line.removeprefix("  | ").split()) > 1) <= 78
    assert re.search(r"\[… avkortat, \d+ tecken till\]", text)
    assert "Aleksandra-Marianne Johansson-Wikström" in flat(text)


def test_the_text_report_is_safe_to_paste_into_a_web_form():
    bundle = big_household_bundle(HOSTILE)
    text = render_text(bundle, assess(bundle, now=NOW))
    assert "\r" not in text
    assert not [ch for ch in text if ch != "\n" and (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0)]
    assert "\u202e" not in text
    assert "Rad två" in text and "gömd text" in text


def test_cleaning_keeps_words_and_drops_control_and_bidi_characters():
    assert clean_text("a\r\nb\rc\x00d\u202ee\tf") == "a\nb\ncde f"
