"""The caseworker's report is accessible: WCAG 2.1 AA by axe-core in real Chromium, a tagged PDF with an outline.

axe-core runs from the copy bundled with axe-playwright-python (nothing is downloaded) in the
test session's Chromium, on an approve, a reject and a manual-review report of the example
world, as the screen shows them and as they print (the PDF is printed with print media).
"""

from __future__ import annotations

import io
import re

import pytest
from axe_playwright_python.async_playwright import Axe
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from bistand.core.engine import assess
from bistand.core.world_bundles import bundles_from_world
from bistand.report.html import render_html
from bistand.report.pdf import render_pdf
from tests.bot_harness import load_world

pytestmark = pytest.mark.browser

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}
SERIOUS = {"serious", "critical"}
CASES = {"approve": "ANS-2026-000001", "reject": "ANS-2026-000003", "manual_review": "ANS-2026-000005"}


@pytest.fixture(scope="module")
def reports(example_world_path):
    """proposal → the HTML report of an application of the example world with that proposal."""
    bundles = bundles_from_world(load_world(example_world_path))
    rendered = {}
    for proposal, application_id in CASES.items():
        bundle = bundles[application_id]
        assessment = assess(bundle)
        assert assessment.proposal.value == proposal, application_id
        rendered[proposal] = render_html(bundle, assessment)
    return rendered


def axe_violations(browser_session, html: str, media: str) -> list[dict]:
    async def run() -> list[dict]:
        context = await browser_session.context("axe")  # scripts on: axe runs in the page
        page = await context.new_page()
        try:
            await page.emulate_media(media=media)
            await page.set_content(html, wait_until="load")
            results = await Axe().run(page, options=WCAG_21_AA)
            return results.response["violations"]
        finally:
            await page.close()

    return browser_session.run(run())


def summary(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['help']}" for v in violations]


@pytest.mark.parametrize("media", ["screen", "print"])
@pytest.mark.parametrize("proposal", sorted(CASES))
def test_the_report_has_no_serious_or_critical_wcag_21_aa_violations(browser_session, reports, proposal, media):
    violations = axe_violations(browser_session, reports[proposal], media)
    assert [v for v in violations if v["impact"] in SERIOUS] == [], summary(violations)
    assert violations == [], summary(violations)  # and none of lesser impact either, today


def test_axe_finds_what_a_broken_report_would_lose(browser_session, reports):
    """The check can fail: the report without its language and with a faint proposal is caught."""
    broken = reports["approve"].replace('<html lang="sv">', "<html>")
    broken = broken.replace("</style>", ".summary .proposal { color: #c8e6c9 !important; }</style>")
    found = {v["id"]: v["impact"] for v in axe_violations(browser_session, broken, "screen")}
    assert found.get("html-has-lang") == "serious"
    assert found.get("color-contrast") == "serious"


def structure_roles(node, roles: set[str], depth: int = 0) -> set[str]:
    """Every structure type (/S) under a node of the PDF's structure tree."""
    if depth > 60:
        return roles
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, DictionaryObject):
        if "/S" in node:
            roles.add(str(node["/S"]))
        kids = node.get("/K")
        if kids is not None:
            structure_roles(kids, roles, depth + 1)
    elif isinstance(node, ArrayObject):
        for kid in node:
            structure_roles(kid, roles, depth + 1)
    return roles


def test_the_pdf_is_tagged_with_headings_and_tables_and_has_an_outline(browser_session, reports, tmp_path):
    html = reports["manual_review"]
    path = render_pdf(html, tmp_path / "report.pdf", browser_session)
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert str(root["/Lang"]) == "sv"
    roles = structure_roles(root["/StructTreeRoot"], set())
    assert {"/H1", "/H2", "/Table", "/TH", "/TD", "/L"} <= roles, sorted(roles)

    def titles(outline) -> list[str]:
        found = []
        for item in outline:
            found += titles(item) if isinstance(item, list) else [item.title]
        return found

    headings = [re.sub(r"<[^>]+>|\s+", " ", h).strip() for h in re.findall(r"<h[12]>(.*?)</h[12]>", html, re.S)]
    assert titles(reader.outline) == [re.sub(r"\s+", " ", h) for h in headings]
