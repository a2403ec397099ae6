"""Build resources/reference-frame-template.xlsx, the caseworker's empty reference-frame workbook.

Run `.venv/bin/python tools/build_frame_template.py` after changing the layout; the output is
committed. The sheet names, labels, headers and codes come from `bistand.core.frames`, so the
template and the reader cannot drift apart. Zip timestamps are fixed so a rebuild without
changes gives the same bytes.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bistand.core import frames as layout  # noqa: E402
from bistand.core.models import CostType, IncomeType  # noqa: E402

TEMPLATE_PATH = ROOT / "resources" / "reference-frame-template.xlsx"
FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)
FIXED_STAMP = b"2026-01-01T00:00:00Z"
DATA_ROWS = 200
"""How many rows under each header offer the validation lists (the columns carry the number formats)."""

TITLE_FONT = Font(name="Calibri", size=16, bold=True, color="FFFFFF")
TITLE_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(name="Calibri", size=11, bold=True)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
LABEL_FONT = Font(name="Calibri", size=11, bold=True)
THIN = Side(style="thin", color="8EA9DB")
HEADER_BORDER = Border(bottom=THIN)
AMOUNT_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"


def _list_validation(codes: list[str], sqref: str, what: str) -> DataValidation:
    validation = DataValidation(
        type="list",
        formula1='"' + ",".join(codes) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Okänd kod",
        error=f"Välj en {what} ur listan (se bladet Anvisning).",
        promptTitle=what.capitalize(),
        prompt=f"Välj {what} ur listan.",
        showInputMessage=True,
    )
    validation.add(sqref)
    return validation


def _header(sheet: Worksheet, titles: tuple[str, ...], widths: tuple[int, ...]) -> None:
    for column, (title, width) in enumerate(zip(titles, widths, strict=True), start=1):
        cell = sheet.cell(row=1, column=column, value=title)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = Alignment(vertical="center")
        sheet.column_dimensions[cell.column_letter].width = width
    sheet.freeze_panes = "A2"


def _frame_sheet(sheet: Worksheet) -> None:
    sheet.title = layout.SHEET_FRAME
    sheet["A1"] = "Referensram – ekonomiskt bistånd"
    sheet.merge_cells("A1:C1")
    sheet["A1"].font = TITLE_FONT
    sheet["A1"].fill = TITLE_FILL
    sheet["A1"].alignment = Alignment(vertical="center")
    sheet.row_dimensions[1].height = 28
    labels = (
        (3, layout.LABEL_CASE, "@"),
        (4, layout.LABEL_VALID_FROM, DATE_FORMAT),
        (5, layout.LABEL_VALID_TO, DATE_FORMAT),
        (6, layout.LABEL_ASSET_BUFFER, AMOUNT_FORMAT),
        (7, layout.LABEL_NOTE, "@"),
    )
    for row, label, number_format in labels:
        sheet.cell(row=row, column=1, value=label).font = LABEL_FONT
        sheet.cell(row=row, column=2).number_format = number_format
    sheet["B7"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 40
    sheet.column_dimensions["C"].width = 12


def _costs_sheet(sheet: Worksheet) -> None:
    _header(sheet, layout.COSTS_HEADER, (22, 22, 40))
    last = DATA_ROWS + 1
    sheet.add_data_validation(_list_validation([t.value for t in CostType], f"A2:A{last}", "kostnadstyp"))
    sheet.column_dimensions["B"].number_format = AMOUNT_FORMAT


def _incomes_sheet(sheet: Worksheet) -> None:
    _header(sheet, layout.INCOMES_HEADER, (20, 26, 24))
    last = DATA_ROWS + 1
    sheet.add_data_validation(_list_validation([t.value for t in IncomeType], f"B2:B{last}", "inkomsttyp"))
    sheet.column_dimensions["A"].number_format = "@"  # keep Excel from turning the number into 1,97E+11
    sheet.column_dimensions["C"].number_format = AMOUNT_FORMAT


def _conditions_sheet(sheet: Worksheet) -> None:
    _header(sheet, layout.CONDITIONS_HEADER, (22, 20))
    last = DATA_ROWS + 1
    sheet.add_data_validation(_list_validation(list(layout.CONDITION_NAMES), f"A2:A{last}", "villkor"))
    sheet.column_dimensions["B"].number_format = "@"


def guide_lines() -> list[tuple[str, str]]:
    """The Anvisning sheet as (style, text) rows: style is title, heading or text."""
    lines: list[tuple[str, str]] = [
        ("title", "Anvisning – referensram för ekonomiskt bistånd"),
        ("text", "Arbetsboken är ärendets referensram: de tak och villkor som handläggaren har beslutat."),
        ("text", "Roboten läser den inför varje återansökan. Filen heter som ärendet, till exempel EB-2026-0017.xlsx."),
        ("heading", "Bladet Referensram"),
        ("text", "Ärendenummer: samma som filnamnet. Giltig från / Giltig till: datum (ÅÅÅÅ-MM-DD)."),
        ("text", "Tillgångsbuffert (kr): belopp som hushållet får ha kvar på kontot; lämna tomt om inget beslutats."),
        ("text", "Handläggarens anteckning: fritext, läses men används inte i beräkningen."),
        ("heading", "Bladet Kostnader"),
        ("text", "En rad per kostnadstyp: kod i kolumn A, tak per månad i hela kronor i kolumn B, kommentar i C."),
        ("text", "En kostnadstyp som inte finns på bladet godtas inte av roboten (COST_NOT_IN_FRAME)."),
    ]
    lines += [("text", f"  {code.value} – {name}") for code, name in layout.COST_TYPE_NAMES.items()]
    lines += [
        ("heading", "Bladet Inkomster (förväntade inkomster)"),
        ("text", "En rad per förväntad inkomst: personnummer (ÅÅÅÅMMDD-NNNN), inkomsttyp och gärna belopp."),
    ]
    lines += [("text", f"  {code.value} – {name}") for code, name in layout.INCOME_TYPE_NAMES.items()]
    lines += [("heading", "Bladet Villkor"), ("text", "En rad per villkor och person:")]
    lines += [("text", f"  {code} – {name}") for code, name in layout.CONDITION_NAMES.items()]
    lines += [
        ("heading", "Belopp"),
        ("text", "Skriv belopp i hela kronor: 7200, 7 200, 7200,00 eller 7 200 kr går bra. Inga ören, inga minus."),
        ("text", "Skriv inte formler (=6000+1200): roboten räknar inte om Excel-formler och godtar dem inte."),
        ("heading", "Vad roboten tål och inte tål"),
        ("text", "Går bra: andra kolumnbredder, färger, sammanslagna eller omformaterade rubriker, tomma rader."),
        ("text", "Gör arbetsboken oläslig (FRAME_INVALID): ett blad saknas eller har bytt namn, en rubrik saknas,"),
        ("text", "text eller formel där ett belopp ska stå, okänd kod, ogiltigt personnummer, fel ärendenummer,"),
        ("text", "eller en fil som inte är en riktig .xlsx. Roboten anger då fil, blad och cell i beslutsunderlaget."),
    ]
    return lines


def _guide_sheet(sheet: Worksheet) -> None:
    sheet.column_dimensions["A"].width = 110
    for row, (style, text) in enumerate(guide_lines(), start=1):
        cell = sheet.cell(row=row, column=1, value=text)
        if style == "title":
            cell.font = Font(size=14, bold=True)
        elif style == "heading":
            cell.font = Font(size=11, bold=True, color="1F4E78")


def build_template() -> Workbook:
    workbook = Workbook()
    _frame_sheet(workbook.active)
    _costs_sheet(workbook.create_sheet(layout.SHEET_COSTS))
    _incomes_sheet(workbook.create_sheet(layout.SHEET_INCOMES))
    _conditions_sheet(workbook.create_sheet(layout.SHEET_CONDITIONS))
    _guide_sheet(workbook.create_sheet(layout.SHEET_GUIDE))
    workbook.properties.creator = "bistand"
    workbook.properties.title = "Referensram"
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    return workbook


def _with_fixed_timestamps(data: bytes) -> bytes:
    """Rewrite the zip with fixed member dates so identical content gives identical bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps 'modified' with the time of saving
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + FIXED_STAMP, content)
            target.writestr(fixed, content)
    return output.getvalue()


def write_template(path: Path = TEMPLATE_PATH) -> Path:
    buffer = io.BytesIO()
    build_template().save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_with_fixed_timestamps(buffer.getvalue()))
    return path


if __name__ == "__main__":
    print(write_template())
