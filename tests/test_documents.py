"""Uploaded invoices: the real format from the bytes, and the amount to pay when a machine can read it."""

from __future__ import annotations

import io
import zipfile

import pytest
from docx import Document
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bistand.core import documents
from bistand.core.documents import amounts_to_pay, read_attachment
from bistand.core.models import AttachmentFormat, CostType

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def invoice_lines(amount_line: str = "Att betala: 7 200 kr") -> list[str]:
    return [
        "Höörhem AB",
        "Hyresavi juli 2026",
        "Fakturadatum: 2026-07-01",
        "Förfallodatum: 2026-07-28",
        "OCR-nummer: 123456789012",
        "Varav moms 0 kr",
        amount_line,
        "Bankgiro: 123-4567",
    ]


def pdf_with_text(lines: list[str], pages: int = 1) -> bytes:
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=FONT)
    pdf.set_font("DejaVu", size=11)
    for _ in range(pages):
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def invoice_image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(buffer, fmt)
    return buffer.getvalue()


def scanned_pdf() -> bytes:
    """A PDF that holds only a picture of the invoice, as a scanner makes it."""
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buffer, "PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=10, y=10, w=100)
    return bytes(pdf.output())


def docx_with(lines: list[str], table_row: tuple[str, str] | None = None) -> bytes:
    document = Document()
    for line in lines:
        document.add_paragraph(line)
    if table_row:
        table = document.add_table(rows=1, cols=2)
        table.rows[0].cells[0].text, table.rows[0].cells[1].text = table_row
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def read(data: bytes, filename: str = "faktura.pdf"):
    return read_attachment(filename, CostType.HYRA, data)


def test_a_pdf_with_a_text_layer_is_readable_and_gives_the_amount_to_pay():
    data = pdf_with_text(invoice_lines())

    attachment = read(data)

    assert attachment.format is AttachmentFormat.PDF
    assert attachment.readable
    assert attachment.amount == 7200
    assert attachment.problem == ""
    assert attachment.size_bytes == len(data)
    assert attachment.filename == "faktura.pdf"
    assert attachment.cost_type is CostType.HYRA


@pytest.mark.parametrize(
    ("line", "amount"),
    [
        ("Att betala: 7 200 kr", 7200),
        ("Summa att betala: 7 200,00 kr", 7200),
        ("Belopp att betala 7200:-", 7200),
        ("Totalt att betala: 7.200,00", 7200),
        ("Att betala (SEK) 12 345", 12345),
        ("ATT BETALA SEK 950", 950),
        ("Att betala: 412,50 kr", 413),
        ("Att betala: 412,49 kr", 412),
        ("Att betala\t1\u00a0250 kr", 1250),
    ],
)
def test_the_amount_to_pay_is_read_in_every_swedish_format(line, amount):
    assert read(pdf_with_text(invoice_lines(line))).amount == amount


def test_the_amount_may_stand_on_the_line_below_its_label():
    assert amounts_to_pay("Att betala\n3 400 kr\nBankgiro 123-4567") == {3400}


def test_a_due_date_after_the_label_is_not_taken_for_an_amount():
    assert amounts_to_pay("Att betala senast 2026-07-31\nAtt betala\n2026-07-31") == set()


def test_a_pdf_without_an_amount_to_pay_is_not_readable():
    attachment = read(pdf_with_text(invoice_lines("Summa: 7 200 kr")))

    assert attachment.format is AttachmentFormat.PDF
    assert not attachment.readable
    assert attachment.amount is None
    assert attachment.problem == "Inget belopp att betala hittades i dokumentet"


def test_a_pdf_with_two_different_amounts_to_pay_is_not_readable():
    lines = [*invoice_lines("Att betala: 7 200 kr"), "Att betala: 6 900 kr"]

    attachment = read(pdf_with_text(lines))

    assert not attachment.readable
    assert attachment.amount is None
    assert "flera olika belopp" in attachment.problem


def test_the_same_amount_to_pay_twice_is_one_amount():
    lines = [*invoice_lines("Att betala: 7 200 kr"), "Inbetalningskort – att betala 7 200,00"]

    assert read(pdf_with_text(lines)).amount == 7200


def test_a_scanned_pdf_without_text_is_not_readable():
    attachment = read(scanned_pdf())

    assert attachment.format is AttachmentFormat.PDF_SCANNED
    assert not attachment.readable
    assert "textlager" in attachment.problem


@pytest.mark.parametrize(("fmt", "expected"), [("PNG", AttachmentFormat.PNG), ("JPEG", AttachmentFormat.JPG)])
def test_an_image_is_never_read_for_an_amount(fmt, expected):
    attachment = read(invoice_image(fmt), "faktura.pdf")

    assert attachment.format is expected
    assert not attachment.readable
    assert attachment.amount is None
    assert attachment.problem


def test_a_docx_is_readable_from_its_paragraphs():
    attachment = read(docx_with(invoice_lines("Att betala: 2 150 kr")), "faktura.docx")

    assert attachment.format is AttachmentFormat.DOCX
    assert attachment.readable
    assert attachment.amount == 2150


def test_a_docx_is_readable_from_a_table():
    attachment = read(docx_with(invoice_lines("Avser juli"), table_row=("Att betala", "3 975,00 kr")), "a.docx")

    assert attachment.amount == 3975


def test_a_pdf_named_as_an_image_is_read_as_the_pdf_it_is():
    attachment = read(pdf_with_text(invoice_lines()), "kvitto.jpg")

    assert attachment.format is AttachmentFormat.PDF
    assert attachment.amount == 7200
    assert attachment.filename == "kvitto.jpg"


def test_an_image_named_as_a_pdf_is_an_image():
    assert read(invoice_image("PNG"), "faktura.pdf").format is AttachmentFormat.PNG


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not an invoice",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Cat" + bytes(range(256)) * 4,
        b"PK\x03\x04 broken zip",
        b"\x00" * 100,
    ],
    ids=["empty", "text", "truncated-pdf", "broken-zip", "zeros"],
)
def test_damaged_or_unknown_bytes_are_corrupt(data):
    attachment = read(data)

    assert attachment.format is AttachmentFormat.CORRUPT
    assert not attachment.readable
    assert attachment.amount is None
    assert attachment.problem


def test_a_zip_that_is_not_a_word_document_is_corrupt():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("invoice.txt", "Att betala: 7 200 kr")

    assert read(buffer.getvalue(), "faktura.docx").format is AttachmentFormat.CORRUPT


def test_a_docx_that_unpacks_to_a_huge_size_is_corrupt_without_being_parsed(monkeypatch):
    monkeypatch.setattr(documents, "MAX_UNPACKED_BYTES", 1024 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * (2 * 1024 * 1024))

    attachment = read(buffer.getvalue(), "faktura.docx")

    assert attachment.format is AttachmentFormat.CORRUPT


def test_a_file_over_the_size_limit_is_not_parsed(monkeypatch):
    data = pdf_with_text(invoice_lines())
    monkeypatch.setattr(documents, "MAX_BYTES", len(data) - 1)

    attachment = read(data)

    assert attachment.format is AttachmentFormat.PDF
    assert not attachment.readable
    assert "för stor" in attachment.problem


def pdf_with_amount_on_page(page_with_amount: int, pages: int) -> bytes:
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=FONT)
    pdf.set_font("DejaVu", size=11)
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(0, 8, "Att betala: 500 kr" if page == page_with_amount else "Bilaga")
    return bytes(pdf.output())


@pytest.mark.parametrize(("max_pages", "amount"), [(2, None), (3, 500)])
def test_only_the_first_pages_are_read(monkeypatch, max_pages, amount):
    monkeypatch.setattr(documents, "MAX_PAGES", max_pages)

    assert read(pdf_with_amount_on_page(3, pages=3)).amount == amount


def test_the_simulators_invoices_read_as_they_were_made():
    from simulators.attachments import render_attachment

    world = {"municipality": "Höör", "households": []}
    application = {"application_id": "ANS-2026-999999", "case_number": "EB-X", "period": "2026-07",
                   "declared_costs": [{"type": "hyra", "amount": 7300}]}
    expected = {
        "pdf": (AttachmentFormat.PDF, True, 7300),
        "docx": (AttachmentFormat.DOCX, True, 7300),
        "pdf_scanned": (AttachmentFormat.PDF_SCANNED, False, None),
        "png": (AttachmentFormat.PNG, False, None),
        "jpg": (AttachmentFormat.JPG, False, None),
        "corrupt": (AttachmentFormat.CORRUPT, False, None),
    }
    for fmt, (found, readable, amount) in expected.items():
        data, _media_type = render_attachment(
            world, application, {"filename": f"hyra.{fmt}", "cost_type": "hyra", "format": fmt}
        )
        attachment = read(data, f"hyra.{fmt}")
        assert (attachment.format, attachment.readable, attachment.amount) == (found, readable, amount), fmt


SWEDISH_FORMATS = [
    lambda n: f"{n:,}".replace(",", " ") + " kr",
    lambda n: f"{n:,}".replace(",", " ") + ",00 kr",
    lambda n: f"{n}:-",
    lambda n: f"{n:,}".replace(",", ".") + ",00",
    lambda n: f"{n:,}".replace(",", "\u00a0") + " kr",
    lambda n: f"SEK {n}",
]


@settings(max_examples=200)
@given(
    amount=st.integers(min_value=0, max_value=9_999_999),
    written=st.sampled_from(SWEDISH_FORMATS),
    label=st.sampled_from(["Att betala:", "Summa att betala", "Belopp att betala:", "Totalt att betala",
                           "Att betala (SEK)"]),
)
def test_any_amount_in_any_accepted_format_reads_back_as_that_int(amount, written, label):
    text = f"Fakturadatum: 2026-07-01\n{label} {written(amount)}\nBankgiro: 123-4567"

    assert amounts_to_pay(text) == {amount}
