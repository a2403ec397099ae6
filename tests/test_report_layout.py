"""The printed report (PDF): every heading on the same page as its table, ids that never wrap."""

from __future__ import annotations

import io
import re

import pypdf
import pytest

from bistand.report.html import render_html
from bistand.report.pdf import render_pdf
from tests.report_cases import assessed, household_of, household_of_nine

HEADINGS = {  # heading → the first line of its table's header row, as pypdf reads it
    "Hushåll": "Roll Namn Personnummer",
    "Riksnorm 2026": "Post Person Tabell Status Belopp",
    "Skäliga kostnader utanför riksnormen": "Kostnad Yrkat Enligt underlag",
    "Inkomster": "Person Inkomst Register",
}
# Households whose "Inkomster" heading ended page 1 with its table on page 2 before headings were
# kept with their tables (found by printing households of 3-9 people with 0-12 cost types).
FORMERLY_SPLIT = [(1, 12), (2, 9), (3, 6), (5, 3), (6, 0)]


def pages_of(pdf: bytes) -> list[list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [[line.strip() for line in page.extract_text().splitlines()] for page in reader.pages]


def first_page(pages: list[list[str]], matches) -> int | None:
    return next((number for number, lines in enumerate(pages) if any(matches(line) for line in lines)), None)


def split_headings(pages: list[list[str]]) -> dict[str, tuple[int | None, int]]:
    split = {}
    for heading, header_row in HEADINGS.items():
        table_page = first_page(pages, lambda line, row=header_row: line.startswith(row))
        if table_page is None:
            continue  # no table (e.g. no costs declared)
        heading_page = first_page(pages, lambda line, h=heading, row=header_row: line.startswith(h)
                                  and not line.startswith(row))
        if heading_page != table_page:
            split[heading] = (heading_page, table_page)
    return split


def printed(bundle, browser_session, tmp_path) -> list[list[str]]:
    html = render_html(*assessed(bundle))
    return pages_of(render_pdf(html, tmp_path / "report.pdf", browser_session).read_bytes())


def test_a_household_of_nine_prints_inkomster_with_its_table(browser_session, tmp_path):
    bundle = household_of_nine()
    assert len(bundle.application.members) == 9
    pages = printed(bundle, browser_session, tmp_path)
    assert len(pages) >= 2
    assert split_headings(pages) == {}
    assert first_page(pages, lambda line: line == "Inkomster") is not None


@pytest.mark.parametrize("children, costs", FORMERLY_SPLIT)
def test_no_heading_ends_a_page_without_its_table(children, costs, browser_session, tmp_path):
    pages = printed(household_of(children, costs), browser_session, tmp_path)
    assert split_headings(pages) == {}


def test_application_ids_in_the_sources_never_wrap(browser_session, tmp_path):
    pages = printed(household_of_nine(), browser_session, tmp_path)
    lines = [line for page in pages for line in page]
    assert any(re.search(r"ANS-2026-900001", line) for line in lines)
    assert not [line for line in lines if re.search(r"\bANS-?$|^\d{4}-\d{6}\b|^-?2026-?$", line)]
