"""The reference-frame workbook: the template, the simulators' writer and the bot's reader agree."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.styles import Font, PatternFill

from bistand.core import frames
from bistand.core.errors import BusinessError
from bistand.core.frames import frame_path, parse_amount, read_frame
from bistand.core.models import CostType, FrameStatus, IncomeType, ReferenceFrame
from simulators.frames import STYLES, TEMPLATE_PATH, format_amount, frame_workbook_bytes, write_frames
from tests.simulator_process import EXAMPLE_WORLD

WORLD = json.loads(EXAMPLE_WORLD.read_text(encoding="utf-8"))
HOUSEHOLDS_WITH_FRAME = [h for h in WORLD["households"] if h.get("reference_frame")]
ORDINARY = [h for h in HOUSEHOLDS_WITH_FRAME if h["reference_frame"].get("workbook_defect", "none") == "none"]
CASE = "EB-2099-0001"
APPLICANT = "19700215-5526"
CHILD = "19990128-2880"
RICH_FRAME = {
    "valid_from": "2026-07-01",
    "valid_to": "2027-06-30",
    "costs": {"hyra": 7200, "hushallsel": 400, "hemforsakring": 200, "tandvard": 1250},
    "expected_incomes": [
        {"personnummer": CHILD, "type": "barnbidrag", "amount": 2500},
        {"personnummer": APPLICANT, "type": "lon"},
    ],
    "conditions": [{"code": "AF_REGISTERED", "personnummer": APPLICANT}],
    "asset_buffer": 1000,
    "caseworker_note": "Hyran prövas igen i december.",
}


def expected_frame(case_number: str, frame: dict) -> ReferenceFrame:
    return ReferenceFrame(case_number=case_number, **{k: v for k, v in frame.items() if k != "workbook_defect"})


def write(tmp_path: Path, data: bytes, case_number: str = CASE) -> Path:
    path = tmp_path / f"{case_number}.xlsx"
    path.write_bytes(data)
    return path


def workbook_file(tmp_path: Path, edit, frame: dict = RICH_FRAME, style: int = 0) -> Path:
    """A plain workbook for RICH_FRAME, changed by `edit(workbook)` as a caseworker would."""
    workbook = load_workbook(io.BytesIO(frame_workbook_bytes(CASE, frame, style=style)))
    edit(workbook)
    path = tmp_path / f"{CASE}.xlsx"
    workbook.save(path)
    return path


def cost_cell(workbook, cost_type: str):
    sheet = workbook["Kostnader"]
    return next(row[1] for row in sheet.iter_rows() if row[0].value == cost_type)


# --- Round trip -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_frames(tmp_path_factory):
    """The example world's workbooks as the simulators write them (each case in its own style)."""
    frames_dir = tmp_path_factory.mktemp("frames")
    return frames_dir, write_frames(WORLD, frames_dir, reset=True)


@pytest.mark.parametrize("household", HOUSEHOLDS_WITH_FRAME, ids=lambda h: h["case_number"])
def test_every_example_frame_reads_back_as_the_world_wrote_it(example_frames, household):
    frames_dir, _paths = example_frames
    case_number, frame = household["case_number"], household["reference_frame"]

    reading = read_frame(frame_path(frames_dir, case_number), case_number)

    assert reading.file_name == f"{case_number}.xlsx"
    if frame.get("workbook_defect", "none") in ("none", "merged_header"):
        assert reading.status is FrameStatus.OK, reading.problem
        assert reading.frame == expected_frame(case_number, frame)
    else:
        assert reading.status is FrameStatus.INVALID
        assert reading.problem.startswith(f"{case_number}.xlsx")


@pytest.mark.parametrize("style", sorted(STYLES))
def test_incomes_conditions_asset_buffer_and_note_survive_the_round_trip_in_every_style(tmp_path, style):
    reading = read_frame(write(tmp_path, frame_workbook_bytes(CASE, RICH_FRAME, style=style)), CASE)

    assert reading.status is FrameStatus.OK, reading.problem
    assert reading.frame == expected_frame(CASE, RICH_FRAME)
    assert reading.frame.expected_incomes[1].amount is None
    assert reading.frame.costs[CostType.TANDVARD] == 1250


def test_the_simulators_vary_how_ordinary_workbooks_are_filled(example_frames):
    _frames_dir, paths = example_frames
    ordinary = {f"{h['case_number']}.xlsx" for h in ORDINARY}
    cap_values = set()
    for path in paths:
        if path.name in ordinary:
            sheet = load_workbook(path)["Kostnader"]
            cap_values |= {type(row[1].value) for row in sheet.iter_rows() if row[0].value == "hyra"}

    assert cap_values == {int, str}


def test_the_simulators_write_one_workbook_per_case_with_a_frame_and_none_for_the_others(example_frames):
    frames_dir, paths = example_frames

    assert sorted(p.name for p in paths) == sorted(f"{h['case_number']}.xlsx" for h in HOUSEHOLDS_WITH_FRAME)
    assert sorted(p.name for p in frames_dir.iterdir()) == sorted(p.name for p in paths)
    without = [h["case_number"] for h in WORLD["households"] if not h.get("reference_frame")]
    assert without
    for case_number in without:
        assert read_frame(frame_path(frames_dir, case_number), case_number).status is FrameStatus.MISSING


def test_a_caseworkers_edit_survives_a_restart_but_not_a_reset(tmp_path):
    world = {"households": [{"case_number": CASE, "reference_frame": RICH_FRAME}]}
    (path,) = write_frames(world, tmp_path, reset=True)
    workbook = load_workbook(path)
    cost_cell(workbook, "hyra").value = 12345
    workbook.save(path)

    write_frames(world, tmp_path, reset=False)
    assert read_frame(path, CASE).frame.costs[CostType.HYRA] == 12345

    write_frames(world, tmp_path, reset=True)
    assert read_frame(path, CASE).frame.costs[CostType.HYRA] == RICH_FRAME["costs"]["hyra"]


def test_a_reset_removes_a_workbook_the_world_says_does_not_exist(tmp_path):
    world = {"households": [{"case_number": CASE, "reference_frame": None}]}
    stale = tmp_path / f"{CASE}.xlsx"
    stale.write_bytes(frame_workbook_bytes(CASE, RICH_FRAME))

    assert write_frames(world, tmp_path, reset=True) == []
    assert not stale.exists()


# --- Defects --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("defect", "expected_words"),
    [
        ("missing_sheet", ["EB-2099-0001.xlsx", "Kostnader", "saknas"]),
        ("text_in_amount", [f"{CASE}.xlsx", "blad Kostnader", "cell B2", '"sjutusen tvåhundra"', "inte ett belopp"]),
        ("formula_amount", ["EB-2099-0001.xlsx", "blad Kostnader", "cell B2", "=7000+200", "formel"]),
        ("not_xlsx", ["EB-2099-0001.xlsx", "inte en Excel-arbetsbok"]),
    ],
)
def test_each_workbook_defect_makes_the_frame_invalid_and_says_where(tmp_path, defect, expected_words):
    data = frame_workbook_bytes(CASE, {**RICH_FRAME, "workbook_defect": defect})

    reading = read_frame(write(tmp_path, data), CASE)

    assert reading.status is FrameStatus.INVALID
    assert reading.frame is None
    for word in expected_words:
        assert word in reading.problem


def test_a_merged_and_restyled_header_is_cosmetic_and_reads_correctly(tmp_path):
    data = frame_workbook_bytes(CASE, {**RICH_FRAME, "workbook_defect": "merged_header"})
    workbook = load_workbook(io.BytesIO(data))
    assert workbook["Kostnader"].merged_cells.ranges  # the defect really merged something

    reading = read_frame(write(tmp_path, data), CASE)

    assert reading.status is FrameStatus.OK, reading.problem
    assert reading.frame == expected_frame(CASE, RICH_FRAME)


# --- Cosmetic edits a caseworker makes ------------------------------------------------------


def merge_and_restyle_headers(workbook):
    sheet = workbook["Kostnader"]
    sheet.insert_rows(1, 3)
    sheet["A1"] = "Kostnader som beslutats"
    sheet.merge_cells("A1:C2")
    sheet.merge_cells("B4:C4")  # the cap header now spans the comment column
    for cell in sheet[4]:
        cell.font = Font(bold=True, italic=True, size=14)
        cell.fill = PatternFill("solid", fgColor="FFFF00")
    sheet.column_dimensions["A"].width = 5
    sheet.column_dimensions["B"].width = 60
    workbook["Inkomster"]["A1"] = "  PERSONNUMMER  "
    workbook["Referensram"].insert_rows(2, 2)
    workbook["Referensram"]["A5"] = "ärendenummer:"


def blank_rows_between_every_row(workbook):
    for title in ("Kostnader", "Inkomster", "Villkor"):
        sheet = workbook[title]
        for row in range(sheet.max_row, 1, -1):
            sheet.insert_rows(row)


def amounts_typed_as_text(workbook):
    for cost_type, text in (("hyra", "7 200"), ("hushallsel", "400,00"), ("hemforsakring", "200 kr")):
        cell = cost_cell(workbook, cost_type)
        cell.value, cell.number_format = text, "@"
    cell = cost_cell(workbook, "tandvard")
    cell.value, cell.number_format = "1\u00a0250,00 kr", "@"
    workbook["Referensram"]["B6"] = "1000"


def dates_typed_as_text_and_as_general_numbers(workbook):
    sheet = workbook["Referensram"]
    sheet["B4"] = "2026-07-01"
    sheet["B5"] = 46568  # 2027-06-30 when the cell format is changed to General
    sheet["B5"].number_format = "General"


def personnummer_turned_into_a_number_and_codes_in_swedish(workbook):
    workbook["Inkomster"]["A2"] = int(CHILD.replace("-", ""))
    workbook["Kostnader"]["A2"] = "  Hyra "
    workbook["Inkomster"]["B3"] = "Lön (netto)"


@pytest.mark.parametrize(
    "edit",
    [
        merge_and_restyle_headers,
        blank_rows_between_every_row,
        amounts_typed_as_text,
        dates_typed_as_text_and_as_general_numbers,
        personnummer_turned_into_a_number_and_codes_in_swedish,
    ],
)
def test_cosmetic_edits_do_not_change_what_is_read(tmp_path, edit):
    reading = read_frame(workbook_file(tmp_path, edit), CASE)

    assert reading.status is FrameStatus.OK, reading.problem
    assert reading.frame == expected_frame(CASE, RICH_FRAME)


# --- What the template does not allow -------------------------------------------------------


def set_cost(cost_type, value):
    def edit(workbook):
        cost_cell(workbook, cost_type).value = value

    return edit


def set_cell(sheet, coordinate, value):
    def edit(workbook):
        workbook[sheet][coordinate] = value

    return edit


def delete_sheet(title):
    def edit(workbook):
        del workbook[title]

    return edit


@pytest.mark.parametrize(
    ("edit", "expected_words"),
    [
        (set_cost("hyra", "sjutusen"), ["blad Kostnader", "cell B2", '"sjutusen" är inte ett belopp']),
        (set_cost("hyra", "=6000+1200"), ["blad Kostnader", "cell B2", "formel"]),
        (set_cost("hyra", -7200), ["blad Kostnader", "cell B2", "negativt"]),
        (set_cost("hyra", 7200.5), ["blad Kostnader", "cell B2", "hela kronor"]),
        (set_cost("hyra", "7200,50"), ["blad Kostnader", "cell B2", "hela kronor"]),
        (set_cost("hyra", "7.200"), ["blad Kostnader", "cell B2", "inte ett belopp"]),
        (set_cost("hyra", None), ["blad Kostnader", "cell B2", "belopp saknas"]),
        (set_cell("Kostnader", "A2", "bredband"), ["blad Kostnader", "cell A2", '"bredband"', "kostnadstyp"]),
        (set_cell("Kostnader", "A3", "hyra"), ["blad Kostnader", "cell A3", "flera rader"]),
        (set_cell("Kostnader", "B1", "Belopp"), ["blad Kostnader", "rubrikraden", "Tak per månad"]),
        (set_cell("Inkomster", "B2", "lotterivinst"), ["blad Inkomster", "cell B2", "inkomsttyp"]),
        (set_cell("Inkomster", "C2", "tvåtusen"), ["blad Inkomster", "cell C2", "inte ett belopp"]),
        (set_cell("Inkomster", "A2", "19990128-2881"), ["blad Inkomster", "cell A2", "personnummer"]),
        (set_cell("Villkor", "A2", "CSN_REGISTERED"), ["blad Villkor", "cell A2", "villkorskod"]),
        (set_cell("Villkor", "B2", "12345"), ["blad Villkor", "cell B2", "personnummer"]),
        (set_cell("Referensram", "B3", "EB-2099-0002"), ["blad Referensram", "cell B3", "hör inte till ärendet"]),
        (set_cell("Referensram", "B3", None), ["blad Referensram", "cell B3", "ärendenummer saknas"]),
        (set_cell("Referensram", "B4", "första juli"), ["blad Referensram", "cell B4", "inte ett datum"]),
        (set_cell("Referensram", "B5", date(2026, 1, 1)), ["blad Referensram", "cell B5", "före"]),
        (set_cell("Referensram", "B6", "tusen"), ["blad Referensram", "cell B6", "inte ett belopp"]),
        (set_cell("Referensram", "A4", "Startdatum"), ["blad Referensram", '"Giltig från" saknas']),
        (delete_sheet("Kostnader"), ["bladet Kostnader saknas"]),
        (delete_sheet("Villkor"), ["bladet Villkor saknas"]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_what_the_template_does_not_allow_makes_the_frame_invalid(tmp_path, edit, expected_words):
    reading = read_frame(workbook_file(tmp_path, edit), CASE)

    assert reading.status is FrameStatus.INVALID
    assert reading.problem.startswith(f"{CASE}.xlsx")
    for word in expected_words:
        assert word in reading.problem


def test_an_invalid_personnummer_is_not_repeated_in_the_message(tmp_path):
    reading = read_frame(workbook_file(tmp_path, set_cell("Inkomster", "A2", "19990128-2881")), CASE)

    assert reading.status is FrameStatus.INVALID
    assert "2881" not in reading.problem


@pytest.mark.parametrize(
    "content",
    [b"", b"not a workbook at all", b"PK\x03\x04 truncated zip", b"%PDF-1.4\n%%EOF\n"],
    ids=["empty", "text", "broken-zip", "pdf"],
)
def test_a_file_that_is_not_an_xlsx_is_invalid(tmp_path, content):
    reading = read_frame(write(tmp_path, content), CASE)

    assert reading.status is FrameStatus.INVALID
    assert "inte en Excel-arbetsbok" in reading.problem


def test_a_zip_that_is_not_a_workbook_is_invalid(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hej")

    reading = read_frame(write(tmp_path, buffer.getvalue()), CASE)

    assert reading.status is FrameStatus.INVALID


def test_a_zip_that_unpacks_to_a_huge_size_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(frames, "MAX_UNPACKED_BYTES", 1024 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (2 * 1024 * 1024))

    reading = read_frame(write(tmp_path, buffer.getvalue()), CASE)

    assert reading.status is FrameStatus.INVALID
    assert "för stor" in reading.problem


def test_no_file_means_the_frame_is_missing(tmp_path):
    reading = read_frame(frame_path(tmp_path, CASE), CASE)

    assert reading.status is FrameStatus.MISSING
    assert reading.frame is None
    assert reading.file_name == f"{CASE}.xlsx"


def test_the_frame_file_is_named_after_the_case():
    assert frame_path(Path("/frames"), " EB-2026-0017 ") == Path("/frames/EB-2026-0017.xlsx")


@pytest.mark.parametrize("case_number", ["../secret", "a/b", "..", ""])
def test_a_case_number_that_is_not_a_plain_file_name_is_refused(case_number):
    with pytest.raises(BusinessError):
        frame_path(Path("/frames"), case_number)


# --- Amounts --------------------------------------------------------------------------------


@given(amount=st.integers(min_value=0, max_value=10_000_000), style=st.sampled_from(["int", "spaced", "decimal", "kr"]))
def test_any_whole_amount_written_in_an_accepted_format_reads_back_as_itself(amount, style):
    assert parse_amount(format_amount(amount, style)) == amount


@given(amount=st.integers(min_value=0, max_value=10_000_000), suffix=st.sampled_from(["", " kr", ",00 kr", ":-"]))
def test_any_amount_with_thousands_separated_by_a_non_breaking_space_reads_back(amount, suffix):
    assert parse_amount(f"{amount:,}".replace(",", "\u00a0") + suffix) == amount


@given(amount=st.integers(min_value=0, max_value=10_000_000))
def test_a_whole_float_reads_as_int(amount):
    assert parse_amount(float(amount)) == amount


@pytest.mark.parametrize("value", [True, "", "7 20 0", "7200 €", "-7200", "7200,5", "1e3", None, date(2026, 1, 1)])
def test_what_is_not_a_whole_amount_is_refused(value):
    with pytest.raises(ValueError):
        parse_amount(value)


# --- The template ---------------------------------------------------------------------------


def load_builder():
    spec = importlib.util.spec_from_file_location(
        "build_frame_template", TEMPLATE_PATH.parent.parent / "tools" / "build_frame_template.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_template_is_what_the_builder_makes(tmp_path):
    built = load_builder().write_template(tmp_path / "template.xlsx")

    assert built.read_bytes() == TEMPLATE_PATH.read_bytes()


def test_the_template_offers_every_code_in_its_validation_lists():
    workbook = load_workbook(TEMPLATE_PATH)

    def listed(sheet):
        (validation,) = workbook[sheet].data_validations.dataValidation
        return set(validation.formula1.strip('"').split(","))

    assert workbook.sheetnames == ["Referensram", "Kostnader", "Inkomster", "Villkor", "Anvisning"]
    assert listed("Kostnader") == {t.value for t in CostType}
    assert listed("Inkomster") == {t.value for t in IncomeType}
    assert listed("Villkor") == {"AF_REGISTERED"}
    assert [c.value for c in workbook["Kostnader"][1]] == ["Kostnadstyp", "Tak per månad (kr)", "Kommentar"]
    assert "A1:C1" in {str(r) for r in workbook["Referensram"].merged_cells.ranges}


def test_the_empty_template_reads_as_invalid_because_it_has_no_case_number(tmp_path):
    reading = read_frame(write(tmp_path, TEMPLATE_PATH.read_bytes()), CASE)

    assert reading.status is FrameStatus.INVALID
    assert "ärendenummer saknas" in reading.problem
