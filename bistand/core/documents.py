"""Read an uploaded invoice: what the file really is, and the amount to pay when a machine can read it.

RULES.md §3: only a PDF with a text layer or a DOCX counts as machine-readable; images and scanned
PDFs go to a person (never OCR for money decisions); damaged files are `corrupt`. The format is
taken from the bytes, never from the file name. Every parser error becomes a result, never an
exception, and the work is bounded (bytes, pages, unpacked size, text length) so a hostile file
cannot hang or exhaust the bot.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

from bistand.core.models import Attachment, AttachmentFormat, CostType

MAX_BYTES = 10 * 1024 * 1024
MAX_PAGES = 10
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_TEXT_CHARS = 200_000

PROBLEM_TOO_LARGE = "Filen är för stor för att läsas maskinellt (över 10 MB)"
PROBLEM_CORRUPT = "Filen är skadad eller har ett okänt format och kan inte öppnas"
PROBLEM_SCANNED = "PDF-filen saknar textlager (inskannad); beloppet kan inte läsas maskinellt"
PROBLEM_IMAGE = "Bilden kan inte läsas maskinellt; en handläggare behöver titta på den"
PROBLEM_ENCRYPTED = "PDF-filen är lösenordsskyddad och kan inte läsas"
PROBLEM_NO_AMOUNT = "Inget belopp att betala hittades i dokumentet"
PROBLEM_SEVERAL_AMOUNTS = "Dokumentet anger flera olika belopp att betala"

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_ZIP = b"PK\x03\x04"
_PDF = b"%PDF-"
_PDF_HEADER_WINDOW = 1024
"""PDF readers accept the header anywhere in the first kilobyte."""

_AMOUNT_TO_PAY = re.compile(
    r"att[ \t]+betala"
    r"(?:[ \t]*\([ \t]*(?:sek|kr)[ \t]*\))?"  # 'Att betala (SEK)'
    r"[ \t]*[:=]?\s*"  # the amount may stand on the next line (a two-column layout)
    r"(?:(?:sek|kr)[ \t]*)?"  # 'SEK 7 200'
    r"(?P<kronor>\d{1,3}(?:[ .]\d{3})+|\d+)"  # 7 200, 7.200, 7200
    r"(?:,(?P<ore>\d{2})|\.(?P<ore_dot>\d{2})(?!\d))?"  # 7 200,00 / 7200.00
    r"(?![\d-])",  # not a date (2026-07-31) or a longer number
    re.IGNORECASE,
)


def _normalized_text(text: str) -> str:
    for space in ("\u00a0", "\u202f", "\u2009", "\u2007"):
        text = text.replace(space, " ")
    return text


def amounts_to_pay(text: str) -> set[int]:
    """Every distinct amount that follows an 'att betala' label, in whole kronor.

    Öre are rounded to the nearest krona (öresavrundning, 50 öre up), as Swedish payments are.
    """
    amounts = set()
    for match in _AMOUNT_TO_PAY.finditer(_normalized_text(text)):
        kronor = int(re.sub(r"[ .]", "", match["kronor"]))
        ore = int(match["ore"] or match["ore_dot"] or 0)
        amounts.add(kronor + (1 if ore >= 50 else 0))
    return amounts


def sniff_format(data: bytes) -> AttachmentFormat:
    """What the bytes are: pdf, png, jpg or docx; everything else is corrupt.

    A PDF is reported as `pdf` here; whether it has a text layer is found when reading it.
    """
    if data.startswith(_PNG):
        return AttachmentFormat.PNG
    if data.startswith(_JPEG):
        return AttachmentFormat.JPG
    if _PDF in data[:_PDF_HEADER_WINDOW]:
        return AttachmentFormat.PDF
    if data.startswith(_ZIP):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return AttachmentFormat.DOCX
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            pass
    return AttachmentFormat.CORRUPT


class _Corrupt(Exception):
    """The parser failed; the file is reported as corrupt."""


def _pdf_text(data: bytes) -> tuple[str, bool]:
    """(text of the first pages, encrypted?) from a PDF; raises _Corrupt when it cannot be parsed."""
    from pypdf import PdfReader  # deferred: loaded only when an attachment is a PDF

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return "", True
        pages = reader.pages
        if len(pages) == 0:
            raise _Corrupt("no pages")
        parts: list[str] = []
        length = 0
        for index in range(min(len(pages), MAX_PAGES)):
            text = pages[index].extract_text() or ""
            parts.append(text)
            length += len(text)
            if length >= MAX_TEXT_CHARS:
                break
        return "\n".join(parts)[:MAX_TEXT_CHARS], False
    except _Corrupt:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged or hostile files
        raise _Corrupt(type(exc).__name__) from None


def _docx_text(data: bytes) -> str:
    """Paragraphs and table cells of a DOCX; raises _Corrupt when it cannot be parsed."""
    from docx import Document  # deferred: loaded only when an attachment is a DOCX

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise _Corrupt("unpacks too large")
        document = Document(io.BytesIO(data))
        parts = [paragraph.text for paragraph in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                parts.append("\t".join(cell.text for cell in row.cells))
        return "\n".join(parts)[:MAX_TEXT_CHARS]
    except _Corrupt:
        raise
    except Exception as exc:  # python-docx/lxml raise many kinds on damaged files
        raise _Corrupt(type(exc).__name__) from None


def _from_text(base: dict, text: str) -> Attachment:
    amounts = amounts_to_pay(text)
    if len(amounts) == 1:
        return Attachment(**base, readable=True, amount=amounts.pop())
    problem = PROBLEM_SEVERAL_AMOUNTS if amounts else PROBLEM_NO_AMOUNT
    return Attachment(**base, readable=False, problem=problem)


def read_attachment(filename: str, cost_type: CostType, data: bytes) -> Attachment:
    """Read one uploaded file: its real format, and its amount to pay when it is machine-readable."""
    size = len(data)
    digest = hashlib.sha256(data).hexdigest()  # the decision record names the exact file read

    def result(fmt: AttachmentFormat, **fields) -> Attachment:
        return Attachment(filename=filename, cost_type=cost_type, format=fmt, size_bytes=size, sha256=digest,
                          **fields)

    fmt = sniff_format(data[:MAX_BYTES] if size > MAX_BYTES else data)
    if fmt in (AttachmentFormat.PNG, AttachmentFormat.JPG):
        return result(fmt, readable=False, problem=PROBLEM_IMAGE)
    if fmt is AttachmentFormat.CORRUPT:
        return result(fmt, readable=False, problem=PROBLEM_CORRUPT)
    if size > MAX_BYTES:
        return result(fmt, readable=False, problem=PROBLEM_TOO_LARGE)
    base = {"filename": filename, "cost_type": cost_type, "size_bytes": size, "sha256": digest}
    try:
        if fmt is AttachmentFormat.DOCX:
            return _from_text({**base, "format": fmt}, _docx_text(data))
        text, encrypted = _pdf_text(data)
    except _Corrupt:
        return result(AttachmentFormat.CORRUPT, readable=False, problem=PROBLEM_CORRUPT)
    if encrypted:
        return result(AttachmentFormat.PDF, readable=False, problem=PROBLEM_ENCRYPTED)
    if not text.strip():
        return result(AttachmentFormat.PDF_SCANNED, readable=False, problem=PROBLEM_SCANNED)
    return _from_text({**base, "format": AttachmentFormat.PDF}, text)
