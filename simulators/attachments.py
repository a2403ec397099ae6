"""The files applicants attach to an application: invoices in every format the e-service sees.

`render_attachment` turns a world attachment into bytes at seed time. The same input always
gives the same bytes (seeded noise, fixed document dates, fixed zip timestamps), so a restart or
a reseed serves identical files. Only `pdf` and `docx` carry a machine-readable amount; the
images and the scanned PDF show it only as pixels, and `corrupt` opens in no reader at all.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import random
import unicodedata
import zipfile
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
DOCUMENT_DATE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
"""Fixed creation date inside PDFs and DOCX files so the bytes do not change between runs."""

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "pdf_scanned": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "corrupt": "application/octet-stream",
}

SENDERS = {
    "hyra": ("{municipality}hem AB", "Hyresavi", "Hyra"),
    "hushallsel": ("Sydkraft Elhandel AB", "Elfaktura", "Elförbrukning"),
    "hemforsakring": ("Trygga Hem Försäkring AB", "Faktura", "Hemförsäkring"),
    "fackavgift": ("Fackförbundet Kommunal Syd", "Avgiftsavi", "Medlemsavgift"),
    "akassa": ("Arbetslöshetskassan Syd", "Avgiftsavi", "Medlemsavgift a-kassa"),
    "arbetsresor": ("Skånetrafiken-liknande AB", "Kvitto", "Månadskort"),
    "barnomsorg": ("{municipality} kommun, Barn och utbildning", "Faktura", "Förskoleavgift"),
    "lakarvard": ("Vårdcentralen {municipality}", "Faktura", "Patientavgift"),
    "medicin": ("Apoteket Hjärtat-liknande AB", "Kvitto", "Receptbelagda läkemedel"),
    "tandvard": ("Folktandvården {municipality}", "Faktura", "Tandvård enligt behandlingsplan"),
    "glasogon": ("Optikhuset {municipality} AB", "Faktura", "Glasögon"),
    "ovrigt": ("Leverantören AB", "Faktura", "Övrigt"),
}

MONTHS_SV = (
    "", "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)


def kr(amount: int) -> str:
    return f"{amount:,}".replace(",", " ") + " kr"


def _seed(application: dict[str, Any], attachment: dict[str, Any]) -> int:
    key = f"{application.get('application_id')}|{attachment.get('filename')}|{attachment.get('format')}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def attachment_amount(application: dict[str, Any], attachment: dict[str, Any]) -> int:
    """The amount the document states: its own, else what was declared for its cost type."""
    if attachment.get("amount") is not None:
        return int(attachment["amount"])
    return sum(
        int(cost["amount"])
        for cost in application.get("declared_costs", [])
        if cost["type"] == attachment["cost_type"]
    )


def _recipient(world: dict[str, Any], application: dict[str, Any]) -> tuple[str, list[str]]:
    household = next(
        (h for h in world.get("households", []) if h["case_number"] == application.get("case_number")), None
    )
    if household is None:
        return "Mottagare okänd", []
    applicant = next((m for m in household["members"] if m["role"] == "applicant"), household["members"][0])
    address = household["address"]
    return (
        f"{applicant['first_name']} {applicant['last_name']}",
        [address["street"], f"{address['postal_code']} {address['city']}"],
    )


def invoice_lines(world: dict[str, Any], application: dict[str, Any], attachment: dict[str, Any]) -> list[str]:
    """The invoice as text lines; every format renders these (exactly one 'Att betala' line)."""
    rng = random.Random(_seed(application, attachment))  # noqa: S311 - test data, not crypto
    municipality = world.get("municipality", "")
    sender, document, item = SENDERS.get(attachment["cost_type"], SENDERS["ovrigt"])
    sender = sender.format(municipality=municipality)
    year, month = (int(part) for part in application["period"].split("-"))
    due_day = min(28, calendar.monthrange(year, month)[1])
    amount = attachment_amount(application, attachment)
    name, address = _recipient(world, application)
    invoice_number = f"{rng.randrange(10**7, 10**8)}"
    ocr = f"{rng.randrange(10**11, 10**12)}"
    customer = f"{rng.randrange(10**5, 10**6)}"
    return [
        sender,
        f"{document} {MONTHS_SV[month]} {year}",
        "",
        f"Till: {name}",
        *address,
        "",
        f"Fakturanummer: {invoice_number}",
        f"Kundnummer: {customer}",
        f"Fakturadatum: {year}-{month:02d}-01",
        f"Förfallodatum: {year}-{month:02d}-{due_day:02d}",
        f"OCR-nummer: {ocr}",
        "",
        f"Avser: {item}, {MONTHS_SV[month]} {year}",
        "Varav moms 0 kr",
        "",
        f"Att betala: {kr(amount)}",
        "",
        f"Bankgiro: {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
    ]


# --- formats -------------------------------------------------------------------------------


def _new_pdf():
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(DOCUMENT_DATE)
    pdf.set_producer("Fakturaservice")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    return pdf


def _pdf_with_text(lines: list[str]) -> bytes:
    """A text-layer PDF in core Helvetica.

    Helvetica's WinAnsi encoding holds å, ä, ö and é, so Swedish text survives extraction; an
    embedded TTF would cost ~100 ms of font subsetting per file at seed time for nothing.
    """
    lines = [_winansi(line) for line in lines]
    pdf = _new_pdf()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, lines[0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for line in lines[1:]:
        if line.startswith("Att betala"):
            pdf.set_font("Helvetica", "B", 13)
            pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 11)
        else:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _winansi(text: str) -> str:
    """Keep what cp1252 can show; strip the accents of anything else (a name like 'Łukasz')."""
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        kept = []
        for char in text:
            try:
                char.encode("cp1252")
                kept.append(char)
            except UnicodeEncodeError:
                base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
                kept.append(base or "?")
        return "".join(kept)


@lru_cache(maxsize=4)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_BOLD_PATH if bold else FONT_PATH
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _invoice_image(lines: list[str], rng: random.Random, *, photo: bool) -> Image.Image:
    """The invoice drawn as pixels; `photo` adds a grey cast, noise and a slight tilt."""
    width, height = 900, 1100
    background = 232 if photo else 255
    image = Image.new("L", (width, height), background)
    draw = ImageDraw.Draw(image)
    y = 60
    for index, line in enumerate(lines):
        bold = index == 0 or line.startswith("Att betala")
        font = _font(34 if index == 0 else 26, bold)
        draw.text((70, y), line, fill=20, font=font)
        y += 52 if index == 0 else 40
    if photo:
        pixels = image.load()
        for _ in range(6000):
            x, y = rng.randrange(width), rng.randrange(height)
            pixels[x, y] = max(0, min(255, pixels[x, y] + rng.randint(-60, 60)))
        image = image.filter(ImageFilter.GaussianBlur(0.6))
        image = image.rotate(rng.uniform(-2.5, 2.5), resample=Image.Resampling.BICUBIC, fillcolor=90)
    return image.convert("RGB")


def _image_bytes(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, format="JPEG", quality=82)
    else:
        image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _scanned_pdf(lines: list[str], rng: random.Random) -> bytes:
    pdf = _new_pdf()
    image = _invoice_image(lines, rng, photo=True)
    pdf.image(io.BytesIO(_image_bytes(image, "PNG")), x=0, y=0, w=210)
    return bytes(pdf.output())


def _docx(lines: list[str]) -> bytes:
    from docx import Document
    from docx.shared import Pt

    document = Document()
    properties = document.core_properties
    properties.author = "Fakturaservice"
    properties.created = DOCUMENT_DATE.replace(tzinfo=None)
    properties.modified = DOCUMENT_DATE.replace(tzinfo=None)
    properties.last_printed = DOCUMENT_DATE.replace(tzinfo=None)
    properties.revision = 1
    document.add_heading(lines[0], level=1)
    for line in lines[1:]:
        paragraph = document.add_paragraph()
        run = paragraph.add_run(line)
        if line.startswith("Att betala"):
            run.bold = True
            run.font.size = Pt(13)
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip_times(buffer.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite a zip with a fixed timestamp per entry (python-docx stamps the current time)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 12, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def _corrupt(rng: random.Random) -> bytes:
    """A PDF header cut off after a few bytes, then noise: no xref, no trailer, no %%EOF."""
    noise = bytes(rng.randrange(256) for _ in range(2048)).replace(b"%%EOF", b"%%EOX")
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Cat" + noise


def render_attachment(
    world: dict[str, Any], application: dict[str, Any], attachment: dict[str, Any]
) -> tuple[bytes, str]:
    """(content, media type) of one world attachment; deterministic for the same input."""
    fmt = attachment["format"]
    rng = random.Random(_seed(application, attachment) ^ 0x5EED)  # noqa: S311 - test data, not crypto
    lines = invoice_lines(world, application, attachment)
    if fmt == "pdf":
        content = _pdf_with_text(lines)
    elif fmt == "pdf_scanned":
        content = _scanned_pdf(lines, rng)
    elif fmt == "png":
        content = _image_bytes(_invoice_image(lines, rng, photo=True), "PNG")
    elif fmt == "jpg":
        content = _image_bytes(_invoice_image(lines, rng, photo=True), "JPEG")
    elif fmt == "docx":
        content = _docx(lines)
    elif fmt == "corrupt":
        content = _corrupt(rng)
    else:
        raise ValueError(f"unknown attachment format: {fmt}")
    return content, MEDIA_TYPES[fmt]
