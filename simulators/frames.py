"""Write each case's reference-frame workbook (the caseworker's Excel file) into the frames folder.

The simulators stand in for a file share where caseworkers keep one workbook per case, made from
resources/reference-frame-template.xlsx (docs/reference-frame.md). `workbook_defect` in the world
breaks a workbook on purpose; ordinary workbooks also vary in harmless ways (amounts typed as
text, blank rows, moved headers, widths), chosen from the case number so every run gives the same
files, so the bot's reader meets what real caseworkers type. This module must not import bistand.
"""

from __future__ import annotations

import html
import io
import os
import tempfile
import zlib
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "resources" / "reference-frame-template.xlsx"

SHEET_FRAME, SHEET_COSTS, SHEET_INCOMES, SHEET_CONDITIONS = "Referensram", "Kostnader", "Inkomster", "Villkor"
FRAME_LABELS = ("Ärendenummer", "Giltig från", "Giltig till", "Tillgångsbuffert (kr)", "Handläggarens anteckning")
AMOUNT_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"

STYLES: dict[int, dict[str, Any]] = {
    0: {"amounts": "int", "dates": "date"},
    1: {"amounts": "spaced", "dates": "text", "widths": (30, 16, 50)},
    2: {"amounts": "decimal", "dates": "date", "blank_rows": True, "widths": (14, 30, 30)},
    3: {"amounts": "kr", "dates": "text", "header_offset": 2, "table_title": True},
}
"""Harmless ways caseworkers fill the template; `merged_header` is style 4 (see `_style_for`)."""
MERGED_HEADER_STYLE = {
    "amounts": "int", "dates": "date", "header_offset": 1, "merge_header": True, "restyle": True,
    "widths": (35, 12, 60), "frame_blank_row": True,
}

_UNITS = (
    "noll", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio", "tio", "elva", "tolv",
    "tretton", "fjorton", "femton", "sexton", "sjutton", "arton", "nitton",
)
_TENS = ("", "", "tjugo", "trettio", "fyrtio", "femtio", "sextio", "sjuttio", "åttio", "nittio")


def swedish_words(amount: int) -> str:
    """An amount as a caseworker might spell it ('sjutusen trehundra'); never a valid amount."""
    if amount == 0:
        return "noll"

    def below_thousand(n: int) -> str:
        words = _UNITS[n // 100] + "hundra" if n // 100 else ""
        rest = n % 100
        if rest >= 20:
            words += _TENS[rest // 10] + (_UNITS[rest % 10] if rest % 10 else "")
        elif rest:
            words += _UNITS[rest]
        return words

    thousands, rest = divmod(amount, 1000)
    parts = []
    if thousands:
        parts.append("ettusen" if thousands == 1 else below_thousand(thousands) + "tusen")
    if rest:
        parts.append(below_thousand(rest))
    return " ".join(parts)


def format_amount(amount: int, style: str) -> int | str:
    """An amount as typed in one of the accepted ways (docs/reference-frame.md, 'Belopp')."""
    spaced = f"{amount:,}".replace(",", " ")
    return {
        "int": amount,
        "spaced": spaced,
        "decimal": f"{amount},00",
        "kr": f"{spaced} kr",
    }[style]


def _style_for(case_number: str, defect: str) -> dict[str, Any]:
    if defect == "merged_header":
        return MERGED_HEADER_STYLE
    return STYLES[zlib.crc32(case_number.encode()) % len(STYLES)]


def _write_amount(sheet: Worksheet, row: int, column: int, amount: int | None, style: dict[str, Any]) -> None:
    cell = sheet.cell(row=row, column=column)
    if amount is None:
        cell.value = None
        return
    value = format_amount(amount, style["amounts"])
    cell.value = value
    cell.number_format = TEXT_FORMAT if isinstance(value, str) else AMOUNT_FORMAT


def _write_date(sheet: Worksheet, row: int, column: int, iso: str, style: dict[str, Any]) -> None:
    cell = sheet.cell(row=row, column=column)
    if style["dates"] == "text":
        cell.value, cell.number_format = iso, TEXT_FORMAT
    else:
        cell.value, cell.number_format = date.fromisoformat(iso), DATE_FORMAT


def _label_rows(sheet: Worksheet) -> dict[str, int]:
    rows = {}
    for (cell,) in sheet.iter_rows(min_col=1, max_col=1):
        if isinstance(cell.value, str):
            rows[cell.value.strip()] = cell.row
    return rows


def _fill_frame_sheet(sheet: Worksheet, case_number: str, frame: dict[str, Any], style: dict[str, Any]) -> None:
    if style.get("frame_blank_row"):
        sheet.insert_rows(2)
    rows = _label_rows(sheet)
    sheet.cell(row=rows["Ärendenummer"], column=2, value=case_number)
    _write_date(sheet, rows["Giltig från"], 2, frame["valid_from"], style)
    _write_date(sheet, rows["Giltig till"], 2, frame["valid_to"], style)
    _write_amount(sheet, rows["Tillgångsbuffert (kr)"], 2, frame.get("asset_buffer"), style)
    sheet.cell(row=rows["Handläggarens anteckning"], column=2, value=frame.get("caseworker_note", ""))
    if style.get("restyle"):
        for name in FRAME_LABELS:
            label = sheet.cell(row=rows[name], column=1)
            label.value = label.value.upper()
            label.font = Font(name="Arial", size=10, italic=True)
            label.fill = PatternFill("solid", fgColor="FFF2CC")


def _fill_table(sheet: Worksheet, rows: list[tuple[Any, ...]], amount_column: int | None, style: dict[str, Any],
                title: str) -> list[int]:
    """Write data rows under the header with the style's layout; returns the row of each data row."""
    offset = style.get("header_offset", 0)
    if offset:
        sheet.insert_rows(1, offset)
        if style.get("table_title"):
            sheet.cell(row=1, column=1, value=title).font = Font(bold=True, size=13)
    header_row = 1 + offset
    data_row = header_row + 1
    width = sheet.max_column
    if style.get("merge_header"):
        sheet.insert_rows(header_row + 1)
        for column in range(1, width + 1):
            sheet.merge_cells(start_row=header_row, start_column=column, end_row=header_row + 1, end_column=column)
        data_row += 1
    if style.get("restyle"):
        for column in range(1, width + 1):
            cell = sheet.cell(row=header_row, column=column)
            cell.font = Font(name="Arial", size=12, bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="C00000")
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for column, width_chars in enumerate(style.get("widths", ()), start=1):
        if column <= width:
            sheet.column_dimensions[sheet.cell(row=1, column=column).column_letter].width = width_chars
    sheet.freeze_panes = sheet.cell(row=data_row, column=1).coordinate
    written = []
    for values in rows:
        for column, value in enumerate(values, start=1):
            if column == amount_column:
                _write_amount(sheet, data_row, column, value, style)
            else:
                cell = sheet.cell(row=data_row, column=column, value=value)
                cell.number_format = TEXT_FORMAT
        written.append(data_row)
        data_row += 2 if style.get("blank_rows") else 1
    return written


def _apply_amount_defect(sheet: Worksheet, cost_rows: list[int], caps: list[int], defect: str) -> None:
    if not cost_rows:
        return
    cell = sheet.cell(row=cost_rows[0], column=2)
    cap = caps[0]
    if defect == "text_in_amount":
        cell.value, cell.number_format = swedish_words(cap), TEXT_FORMAT
    elif defect == "formula_amount":
        whole = cap - cap % 1000 if cap >= 1000 else cap // 2
        cell.value, cell.number_format = f"={whole}+{cap - whole}", AMOUNT_FORMAT


def _not_xlsx(case_number: str, frame: dict[str, Any]) -> bytes:
    """An old system's 'Excel export': an HTML table saved under the .xlsx name."""
    rows = "".join(
        f"<tr><td>{html.escape(code)}</td><td>{cap}</td></tr>" for code, cap in frame["costs"].items()
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>Referensram {html.escape(case_number)}</title></head><body>"
        f"<h1>Referensram {html.escape(case_number)}</h1>"
        f"<table><tr><th>Kostnadstyp</th><th>Tak per månad (kr)</th></tr>{rows}</table>"
        "</body></html>\n"
    ).encode()


def frame_workbook_bytes(case_number: str, frame: dict[str, Any], style: int | None = None) -> bytes:
    """The file content for one case's frame (an .xlsx, or the broken file its defect asks for).

    `style` picks one of `STYLES` (harmless variations); None chooses it from the case number.
    """
    defect = frame.get("workbook_defect", "none")
    if defect == "not_xlsx":
        return _not_xlsx(case_number, frame)
    chosen = STYLES[style] if style is not None and defect != "merged_header" else _style_for(case_number, defect)
    workbook = load_workbook(TEMPLATE_PATH)
    _fill_frame_sheet(workbook[SHEET_FRAME], case_number, frame, chosen)
    caps = list(frame["costs"].values())
    cost_rows = _fill_table(
        workbook[SHEET_COSTS], [(code, cap, "") for code, cap in frame["costs"].items()], 2, chosen, "Kostnader"
    )
    _fill_table(
        workbook[SHEET_INCOMES],
        [(e["personnummer"], e["type"], e.get("amount")) for e in frame.get("expected_incomes", [])],
        3, chosen, "Förväntade inkomster",
    )
    _fill_table(
        workbook[SHEET_CONDITIONS],
        [(c["code"], c["personnummer"]) for c in frame.get("conditions", [])],
        None, chosen, "Villkor",
    )
    _apply_amount_defect(workbook[SHEET_COSTS], cost_rows, caps, defect)
    if defect == "missing_sheet":
        del workbook[SHEET_COSTS]
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers never see half a file (the bot may read while the simulators start)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".xlsx")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_frames(world: dict, frames_dir: Path, reset: bool = False) -> list[Path]:
    """Write `<case_number>.xlsx` for every household with a reference frame; return all their paths.

    Existing workbooks are kept (a caseworker may have edited them) unless `reset`, which also
    removes the workbook of a case whose frame is null in the world.
    """
    frames_dir = Path(frames_dir)
    frames_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for household in world["households"]:
        case_number = household["case_number"]
        path = frames_dir / f"{Path(case_number).name}.xlsx"
        frame = household.get("reference_frame")
        if not frame:
            if reset:
                path.unlink(missing_ok=True)
            continue
        if reset or not path.exists():
            _write_atomically(path, frame_workbook_bytes(case_number, frame))
        paths.append(path)
    return paths
