"""Read the case's reference-frame workbook (Excel) into a `ReferenceFrame`.

Layout: docs/reference-frame.md (built by tools/build_frame_template.py).
RULES.md §5: no workbook is FRAME_MISSING; one that cannot be read as the template says is
FRAME_INVALID with a message naming the file, sheet and cell; cosmetic edits must still read.
"""

from __future__ import annotations

import hashlib
import math
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from openpyxl.worksheet.worksheet import Worksheet

from bistand.core.errors import BusinessError
from bistand.core.models import (
    CostType,
    ExpectedIncome,
    FrameCondition,
    FrameReading,
    FrameStatus,
    IncomeType,
    ReferenceFrame,
)
from bistand.core.personnummer import InvalidPersonnummer, Personnummer, mask_personnummer_in_text

COST_TYPE_NAMES: dict[CostType, str] = {
    CostType.HYRA: "Hyra",
    CostType.HUSHALLSEL: "Hushållsel",
    CostType.HEMFORSAKRING: "Hemförsäkring",
    CostType.FACKAVGIFT: "Fackavgift",
    CostType.AKASSA: "A-kasseavgift",
    CostType.ARBETSRESOR: "Arbetsresor",
    CostType.BARNOMSORG: "Barnomsorgsavgift",
    CostType.LAKARVARD: "Läkarvård",
    CostType.MEDICIN: "Medicin",
    CostType.TANDVARD: "Tandvård",
    CostType.GLASOGON: "Glasögon",
    CostType.OVRIGT: "Övrigt",
}
"""Swedish names, shown in the template's guide and accepted by the reader beside the codes."""

INCOME_TYPE_NAMES: dict[IncomeType, str] = {
    IncomeType.LON: "Lön (netto)",
    IncomeType.SJUKPENNING: "Sjukpenning",
    IncomeType.FORALDRAPENNING: "Föräldrapenning",
    IncomeType.AKTIVITETSSTOD: "Aktivitetsstöd",
    IncomeType.ETABLERINGSERSATTNING: "Etableringsersättning",
    IncomeType.AKASSA_ERSATTNING: "Ersättning från a-kassa",
    IncomeType.BOSTADSBIDRAG: "Bostadsbidrag",
    IncomeType.BARNBIDRAG: "Barnbidrag",
    IncomeType.UNDERHALLSSTOD: "Underhållsstöd",
    IncomeType.SJUKERSATTNING: "Sjukersättning",
    IncomeType.AKTIVITETSERSATTNING: "Aktivitetsersättning",
    IncomeType.PENSION: "Pension",
    IncomeType.BOSTADSTILLAGG: "Bostadstillägg",
    IncomeType.STUDIEMEDEL: "Studiemedel",
    IncomeType.OVRIG_INKOMST: "Övrig inkomst",
}

CONDITION_NAMES: dict[str, str] = {"AF_REGISTERED": "Ska vara inskriven hos Arbetsförmedlingen"}

SHEET_FRAME = "Referensram"
SHEET_COSTS = "Kostnader"
SHEET_INCOMES = "Inkomster"
SHEET_CONDITIONS = "Villkor"
SHEET_GUIDE = "Anvisning"

LABEL_CASE = "Ärendenummer"
LABEL_VALID_FROM = "Giltig från"
LABEL_VALID_TO = "Giltig till"
LABEL_ASSET_BUFFER = "Tillgångsbuffert (kr)"
LABEL_NOTE = "Handläggarens anteckning"

COSTS_HEADER = ("Kostnadstyp", "Tak per månad (kr)", "Kommentar")
INCOMES_HEADER = ("Personnummer", "Inkomsttyp", "Förväntat belopp (kr)")
CONDITIONS_HEADER = ("Villkor", "Personnummer")

MAX_FILE_BYTES = 5 * 1024 * 1024
"""A frame workbook is a few kilobytes; anything this large is not one (and could be a zip bomb)."""
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_HEADER_SEARCH_ROWS = 100
MAX_DATA_ROWS = 2000
MAX_COLUMNS = 30
MAX_FILLED_CELLS = 20_000
"""A frame holds a few hundred filled cells; the read-only pass refuses a workbook with more
before the full load (which needs memory per cell: 289 MB for a 1.9 MB file of filler)."""
_QUOTE_LIMIT = 40

_AMOUNT_TEXT = re.compile(
    r"^(?P<kronor>\d{1,3}(?: \d{3})+|\d+)(?:[,.](?P<ore>\d{2})|,(?P<short_ore>\d))?(?: ?(?:kr\.?|sek|:-))?$",
    re.IGNORECASE,
)
_DATE_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00)?)?$")
_EXCEL_SERIAL_RANGE = (20000, 80000)
"""Dates whose cell format a caseworker changed to 'General' show up as Excel serial numbers."""


class _Unreadable(Exception):
    """Why the workbook cannot be read as the template says; becomes FRAME_INVALID's message."""

    def __init__(self, text: str, sheet: str | None = None, cell: str | None = None) -> None:
        super().__init__(text)
        self.text, self.sheet, self.cell = text, sheet, cell

    def message(self, file_name: str) -> str:
        where = file_name
        if self.sheet:
            where += f", blad {self.sheet}"
        if self.cell:
            where += f", cell {self.cell}"
        return f"{where}: {self.text}"


def _normalized(value: object) -> str:
    """Text as compared: whitespace collapsed, case folded, a trailing colon dropped."""
    return " ".join(str(value).split()).casefold().rstrip(":").strip()


def _key(value: object) -> str:
    """A label or header compared without its '(kr)' unit, so 'Tak per månad' matches too."""
    return _normalized(value).replace("(kr)", "").strip()


def _quoted(value: object) -> str:
    text = mask_personnummer_in_text(" ".join(str(value).split()))
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 1] + "…"
    return f'"{text}"'


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_amount(value: object) -> int:
    """Whole kronor from a cell: a number without öre, or text like '7 200', '7200,00', '7 200 kr'.

    Raises ValueError with the Swedish reason. Negative amounts and öre are refused: the template
    asks for whole kronor, and a rule must never guess what a caseworker meant.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("är inte ett belopp")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("är negativt")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError("är inte ett belopp i hela kronor")
        if value < 0:
            raise ValueError("är negativt")
        return int(value)
    if isinstance(value, str):
        text = " ".join(value.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ").split())
        match = _AMOUNT_TEXT.match(text)
        if match is None:
            raise ValueError("är inte ett belopp")
        if int(match["ore"] or match["short_ore"] or 0):
            raise ValueError("är inte ett belopp i hela kronor")
        return int(match["kronor"].replace(" ", ""))
    raise ValueError("är inte ett belopp")


def _is_formula(cell: Cell | MergedCell) -> bool:
    return cell.data_type == "f" or isinstance(cell.value, ArrayFormula | DataTableFormula)


def _amount(cell: Cell | MergedCell, sheet: str, *, required: bool) -> int | None:
    if _is_formula(cell):
        raise _Unreadable(
            f"{_quoted(cell.value)} är en formel; skriv beloppet som ett tal (formler räknas inte om)",
            sheet, cell.coordinate,
        )
    if _is_empty(cell.value):
        if required:
            raise _Unreadable("belopp saknas", sheet, cell.coordinate)
        return None
    try:
        return parse_amount(cell.value)
    except ValueError as exc:
        raise _Unreadable(f"{_quoted(cell.value)} {exc}", sheet, cell.coordinate) from None


def _date(cell: Cell | MergedCell, sheet: str, label: str) -> date:
    value = cell.value
    if _is_formula(cell):
        raise _Unreadable(f"{label} är en formel; skriv datumet som ÅÅÅÅ-MM-DD", sheet, cell.coordinate)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and (
        _EXCEL_SERIAL_RANGE[0] <= value <= _EXCEL_SERIAL_RANGE[1]
    ):
        return from_excel(value).date()
    if isinstance(value, str):
        match = _DATE_TEXT.match(value.strip())
        if match:
            try:
                return date.fromisoformat(match[1])
            except ValueError:
                pass
    if _is_empty(value):
        raise _Unreadable(f"{label} saknas", sheet, cell.coordinate)
    raise _Unreadable(f"{_quoted(value)} är inte ett datum (ÅÅÅÅ-MM-DD)", sheet, cell.coordinate)


def _personnummer(cell: Cell | MergedCell, sheet: str) -> Personnummer:
    value = cell.value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # Excel turned 197002155526 into a number
    if _is_empty(value) or not isinstance(value, str):
        raise _Unreadable("personnummer saknas", sheet, cell.coordinate)
    try:
        return Personnummer(value.strip())
    except InvalidPersonnummer:
        raise _Unreadable("är inte ett giltigt personnummer (ÅÅÅÅMMDD-NNNN)", sheet, cell.coordinate) from None


def _code(cell: Cell | MergedCell, sheet: str, names: dict, what: str):
    wanted = _normalized(cell.value)
    for code, name in names.items():
        if wanted in (_normalized(code), _normalized(name)):
            return code
    raise _Unreadable(f"{_quoted(cell.value)} är ingen känd {what} (se bladet {SHEET_GUIDE})", sheet, cell.coordinate)


def _open(path: Path) -> Workbook:
    """The workbook, or why it is not one: the size, zip and parser checks come before openpyxl."""
    not_xlsx = "filen är inte en Excel-arbetsbok (.xlsx) och kan inte läsas"
    if path.stat().st_size > MAX_FILE_BYTES:
        raise _Unreadable("filen är för stor för en referensram")
    with path.open("rb") as file:
        if file.read(4) != b"PK\x03\x04":
            raise _Unreadable(not_xlsx)
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _Unreadable(not_xlsx) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise _Unreadable("filen är för stor för en referensram")
    try:
        _within_cell_limit(path)
        return load_workbook(path, data_only=False)
    except _Unreadable:
        raise
    except Exception:  # openpyxl raises many kinds (KeyError, XML errors, InvalidFileException, ...)
        raise _Unreadable(not_xlsx) from None


def _within_cell_limit(path: Path) -> None:
    """First pass in openpyxl's read-only mode (rows streamed, constant memory): a workbook with
    more filled cells than a frame can hold is refused before it is loaded whole. The whole load
    that follows (for merged labels, which read-only mode does not report) is bounded by it."""
    workbook = load_workbook(path, read_only=True, data_only=False)
    try:
        filled = 0
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(values_only=True):
                filled += sum(1 for value in row if value is not None and value != "")
                if filled > MAX_FILLED_CELLS:
                    raise _Unreadable(f"filen har fler än {MAX_FILLED_CELLS:,} ifyllda celler; en referensram "
                                      "har några hundra (är det rätt fil?)".replace(",", " "), sheet.title)
    finally:
        workbook.close()


def _sheet(workbook: Workbook, title: str) -> Worksheet:
    for sheet in workbook.worksheets:
        if _normalized(sheet.title) == _normalized(title):
            return sheet
    raise _Unreadable(f"bladet {title} saknas")


def _value_cell(sheet: Worksheet, label_cell: Cell) -> Cell | MergedCell:
    """The cell right of a label (right of the label's merged range when the label is merged)."""
    column = label_cell.column
    for merged in sheet.merged_cells.ranges:
        if label_cell.coordinate in merged:
            column = merged.max_col
    return sheet.cell(row=label_cell.row, column=column + 1)


def _labels(sheet: Worksheet, labels: tuple[str, ...]) -> dict[str, Cell | MergedCell]:
    wanted = {_key(label): label for label in labels}
    found: dict[str, Cell | MergedCell] = {}
    max_row = min(sheet.max_row, MAX_HEADER_SEARCH_ROWS)
    for row in sheet.iter_rows(min_row=1, max_row=max_row, max_col=min(sheet.max_column, MAX_COLUMNS)):
        for cell in row:
            if isinstance(cell.value, str) and _key(cell.value) in wanted:
                found.setdefault(wanted[_key(cell.value)], _value_cell(sheet, cell))
    for label in labels:
        if label not in found:
            raise _Unreadable(f'raden "{label}" saknas', sheet.title)
    return found


def _table(sheet: Worksheet, headers: tuple[str, ...]) -> list[dict[str, Cell | MergedCell]]:
    """The non-empty rows under the header row, as header -> cell; the header is found by its text."""
    wanted = {_key(header): header for header in headers}
    max_row = min(sheet.max_row, MAX_HEADER_SEARCH_ROWS)
    columns: dict[str, int] = {}
    header_row = 0
    for row in sheet.iter_rows(min_row=1, max_row=max_row, max_col=min(sheet.max_column, MAX_COLUMNS)):
        seen = {wanted[_key(c.value)]: c.column for c in row if isinstance(c.value, str) and _key(c.value) in wanted}
        if len(seen) == len(headers):
            columns, header_row = seen, row[0].row
            break
    if not header_row:
        names = ", ".join(f'"{h}"' for h in headers)
        raise _Unreadable(f"rubrikraden ({names}) saknas", sheet.title)
    rows = []
    last = min(sheet.max_row, header_row + MAX_DATA_ROWS)
    for number in range(header_row + 1, last + 1):
        cells = {header: sheet.cell(row=number, column=column) for header, column in columns.items()}
        if all(_is_empty(cell.value) for cell in cells.values()):
            continue  # blank rows and the lower half of a merged header are cosmetic
        rows.append(cells)
    return rows


def _costs(sheet: Worksheet) -> dict[CostType, int]:
    type_header, cap_header = COSTS_HEADER[0], COSTS_HEADER[1]
    costs: dict[CostType, int] = {}
    for row in _table(sheet, (type_header, cap_header)):
        type_cell, cap_cell = row[type_header], row[cap_header]
        if _is_empty(type_cell.value):
            raise _Unreadable("kostnadstyp saknas", sheet.title, type_cell.coordinate)
        cost_type = _code(type_cell, sheet.title, COST_TYPE_NAMES, "kostnadstyp")
        if cost_type in costs:
            raise _Unreadable(f"{cost_type.value} står på flera rader", sheet.title, type_cell.coordinate)
        costs[cost_type] = _amount(cap_cell, sheet.title, required=True)
    return costs


def _incomes(sheet: Worksheet) -> list[ExpectedIncome]:
    pnr_header, type_header, amount_header = INCOMES_HEADER
    incomes = []
    for row in _table(sheet, INCOMES_HEADER):
        type_cell = row[type_header]
        if _is_empty(type_cell.value):
            raise _Unreadable("inkomsttyp saknas", sheet.title, type_cell.coordinate)
        incomes.append(ExpectedIncome(
            personnummer=_personnummer(row[pnr_header], sheet.title),
            type=_code(type_cell, sheet.title, INCOME_TYPE_NAMES, "inkomsttyp"),
            amount=_amount(row[amount_header], sheet.title, required=False),
        ))
    return incomes


def _conditions(sheet: Worksheet) -> list[FrameCondition]:
    code_header, pnr_header = CONDITIONS_HEADER
    conditions = []
    for row in _table(sheet, CONDITIONS_HEADER):
        code_cell = row[code_header]
        if _is_empty(code_cell.value):
            raise _Unreadable("villkor saknas", sheet.title, code_cell.coordinate)
        code = _code(code_cell, sheet.title, CONDITION_NAMES, "villkorskod")
        conditions.append(FrameCondition(code=code, personnummer=_personnummer(row[pnr_header], sheet.title)))
    return conditions


def _frame(workbook: Workbook, case_number: str) -> ReferenceFrame:
    sheets = {title: _sheet(workbook, title) for title in (SHEET_FRAME, SHEET_COSTS, SHEET_INCOMES, SHEET_CONDITIONS)}
    head = sheets[SHEET_FRAME]
    cells = _labels(head, (LABEL_CASE, LABEL_VALID_FROM, LABEL_VALID_TO, LABEL_ASSET_BUFFER, LABEL_NOTE))
    case_cell = cells[LABEL_CASE]
    written_case = "" if _is_empty(case_cell.value) else " ".join(str(case_cell.value).split())
    if not written_case:
        raise _Unreadable("ärendenummer saknas", head.title, case_cell.coordinate)
    if written_case.casefold() != case_number.strip().casefold():
        raise _Unreadable(
            f"ärendenummer {_quoted(written_case)} hör inte till ärendet {case_number}",
            head.title, case_cell.coordinate,
        )
    valid_from = _date(cells[LABEL_VALID_FROM], head.title, LABEL_VALID_FROM)
    valid_to = _date(cells[LABEL_VALID_TO], head.title, LABEL_VALID_TO)
    if valid_to < valid_from:
        raise _Unreadable(f"{LABEL_VALID_TO} är före {LABEL_VALID_FROM}", head.title, cells[LABEL_VALID_TO].coordinate)
    note = cells[LABEL_NOTE].value
    return ReferenceFrame(
        case_number=case_number,
        valid_from=valid_from,
        valid_to=valid_to,
        costs=_costs(sheets[SHEET_COSTS]),
        expected_incomes=_incomes(sheets[SHEET_INCOMES]),
        conditions=_conditions(sheets[SHEET_CONDITIONS]),
        asset_buffer=_amount(cells[LABEL_ASSET_BUFFER], head.title, required=False),
        caseworker_note="" if _is_empty(note) else str(note).strip(),
    )


def frame_path(frames_dir: Path, case_number: str) -> Path:
    """Where the case's workbook lives: `<frames_dir>/<case_number>.xlsx`."""
    name = case_number.strip()
    if not name or name in {".", ".."} or Path(name).name != name or "\\" in name:
        raise BusinessError("CASE_NUMBER_INVALID", "the case number cannot name a frame file")
    return Path(frames_dir) / f"{name}.xlsx"


def read_frame(path: Path, case_number: str) -> FrameReading:
    """Read one case's workbook: OK with the frame, MISSING (no file) or INVALID with the reason.

    Never raises for a bad file: every way a workbook can be broken is a FrameReading.
    """
    path = Path(path)
    file_name = path.name
    if not path.is_file():
        return FrameReading(
            status=FrameStatus.MISSING, file_name=file_name, problem=f"{file_name}: ingen referensram finns för ärendet"
        )
    digest = file_sha256(path)
    try:
        frame = _frame(_open(path), case_number)
    except _Unreadable as reason:
        return FrameReading(status=FrameStatus.INVALID, file_name=file_name, problem=reason.message(file_name),
                            sha256=digest)
    return FrameReading(status=FrameStatus.OK, frame=frame, file_name=file_name, sha256=digest)


def file_sha256(path: Path) -> str:
    """The workbook's SHA-256 (hex), for the decision record: which file the frame was read from."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
