"""How the report reads to a caseworker (issue 7 §3): whole words, agreeing numbers, Swedish before
codes, who decided, the rules' version and guideline, costs that need no document."""

from __future__ import annotations

import ast
import html as html_lib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bistand.bot.summary import ItemResult, RunSummary
from bistand.core.engine import RULES_VERSION, assess
from bistand.core.models import Mode
from bistand.core.world_bundles import bundles_from_world
from bistand.report.html import render_html
from bistand.report.labels import (
    DATA_KEY_LABELS,
    DATA_VALUE_LABELS,
    DEFAULT_GUIDELINE,
    FINDING_TITLES,
    norm_key_label,
)
from bistand.report.plural import plural
from bistand.report.text import _enforce_width, render_text, wrap
from tests.report_cases import NOW, assessed, automated_decision, fresh, household_of_nine, single_person

RULES_DIR = Path(__file__).resolve().parent.parent / "bistand" / "core" / "rules"
NORM_KEY = re.compile(r"\b(?:adults|children|common)\.[\w+-]+")
CODE = re.compile(r"\b[A-Z]{2,}(?:_[A-Z]+)+\b")


@pytest.fixture(scope="module")
def example_reports(example_world_path):
    """application_id → (bundle, assessment, text, html) for every example application, both modes."""
    world = json.loads(example_world_path.read_text(encoding="utf-8"))
    reports = {}
    for app_id, bundle in bundles_from_world(world).items():
        for mode in Mode:
            assessment = assess(bundle, mode, now=NOW)
            reports[(app_id, mode.value)] = (bundle, assessment, render_text(bundle, assessment),
                                             render_html(bundle, assessment))
    return reports


def visible_html(page: str) -> str:
    """The HTML's visible text, with the small code elements dropped (what is left must not show codes)."""
    body = page.split("<body>", 1)[1]
    body = re.sub(r'<code class="(?:code|key)">[^<]*</code>', " ", body)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())


# --- 1. whole words ------------------------------------------------------------------------------

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzåäöÅÄÖé-/().,:0123456789", min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(words=st.lists(WORDS, min_size=1, max_size=40), width=st.integers(min_value=12, max_value=100),
       indent=st.integers(min_value=0, max_value=8))
def test_wrapping_never_splits_a_word_at_any_width(words, width, indent):
    text = " ".join(words)
    lines = wrap(text, indent=indent, width=width).split("\n")
    assert [word for line in lines for word in line.split()] == text.split()
    assert all(len(line) <= width for line in lines if not unbreakable(line))


AMOUNT_ONLY = re.compile(r"[^\w\s]*(?:\d{1,3}(?: \d{3})*(?: kr)?|\d+ kr)[^\w\s]*")


def unbreakable(line: str) -> bool:
    """A line allowed past the width: one word, or one amount (`1 000 000 kr` is never broken)."""
    return len(line.split()) <= 1 or AMOUNT_ONLY.fullmatch(line.strip()) is not None


@pytest.mark.parametrize(("text", "width", "expected"), [
    ("000000 000:00", 12, ["000000", "000:00"]),  # six digits then three: two words, not an amount
    ("Att betala 12 345 kr", 14, ["Att betala", "12 345 kr"]),
    ("x 1 000 000 kr.", 8, ["x", "1 000 000 kr."]),
    ("0 000:00000 x", 8, ["0", "000:00000", "x"]),  # not a whole amount
    ("a1 000 b", 4, ["a1", "000", "b"]),
])
def test_amounts_stay_whole_and_only_amounts(text, width, expected):
    assert wrap(text, indent=0, width=width).split("\n") == expected


@settings(max_examples=300, deadline=None)
@given(words=st.lists(WORDS, min_size=1, max_size=60), indent=st.integers(min_value=0, max_value=10))
def test_the_last_width_guard_never_splits_a_word(words, indent):
    line = " " * indent + " ".join(words)
    guarded = _enforce_width(line).split("\n")
    assert [word for row in guarded for word in row.split()] == line.split()
    assert all(len(row) <= 78 for row in guarded if not unbreakable(row))


def test_a_long_swedish_sentence_keeps_every_word_whole_at_every_width():
    sentence = ("Automatiserat beslut – roboten beslutar återansökningar utan blockerande noteringar; "
                "försörjningsstödsberäkningen 12 345 kr gäller hushållsmedlemmarna")
    for width in range(20, 101):
        lines = wrap(sentence, indent=2, width=width).split("\n")
        assert [w for line in lines for w in line.split()] == sentence.split(), width
        assert "12 345 kr" in " ".join(lines) and not any(line.rstrip().endswith("12") for line in lines)


def test_the_automated_mode_line_keeps_blockerande_whole():
    bundle, assessment = assessed(automated_decision(), Mode.AUTOMATED)
    text = render_text(bundle, assessment)
    words = text.split()
    assert "blockerande" in words
    assert not [w for w in words if w in ("bl", "ockerande")]
    assert max(len(line) for line in text.splitlines()) <= 78


# --- 2. singular and plural ----------------------------------------------------------------------


def test_plural_agrees_with_the_count():
    assert plural(1, "person", "personer") == "1 person"
    assert plural(2, "person", "personer") == "2 personer"
    assert plural(0, "notering", "noteringar") == "0 noteringar"
    assert plural(1, "item") == "1 item" and plural(3, "item") == "3 items"


def test_one_person_and_one_blocking_finding_are_singular_in_text_and_html():
    bundle, assessment = assessed(single_person())
    text, page = render_text(bundle, assessment), visible_html(render_html(bundle, assessment))
    assert len(assessment.blocking_findings) == 1
    for shown in (text, page):
        assert "1 blockerande notering" in shown and "1 blockerande noteringar" not in shown
        assert "(1 person)" in shown
        assert "1 personer" not in shown and "(ar)" not in shown


def test_nine_people_are_plural():
    text = render_text(*assessed(household_of_nine()))
    assert "HUSHÅLL (9 personer)" in text


def test_no_example_report_says_1_personer_or_notering_ar(example_reports):
    for key, (_, _, text, page) in example_reports.items():
        for shown in (text, visible_html(page)):
            assert not re.search(r"\b1 personer\b|\b1 blockerande noteringar\b|\(ar\)", shown), key


def test_the_run_summary_says_1_item_and_2_items():
    summary = RunSummary(mode="support", started_at=datetime(2026, 11, 23, tzinfo=UTC))
    summary.add(ItemResult(application_id="ANS-2026-000001", outcome="DONE", seconds=1.0))
    assert "1 item: 1 done, 0 business failures, 0 system failures" in summary.console_lines()[0]
    summary.add(ItemResult(application_id="ANS-2026-000002", outcome="BUSINESS", seconds=1.0))
    assert "2 items: 1 done, 1 business failure, 0 system failures" in summary.console_lines()[0]


# --- 3. a decision says who decided --------------------------------------------------------------


def test_a_decision_by_the_robot_is_headed_beslut_and_names_the_delegation():
    bundle, assessment = assessed(automated_decision(), Mode.AUTOMATED)
    text, page = render_text(bundle, assessment), render_html(bundle, assessment)
    assert assessment.proposal.value == "approve" and not assessment.blocking_findings
    assert re.search(r"^BESLUT: BEVILJA, ", text, re.M)
    assert "FÖRSLAG TILL BESLUT" not in text
    flat = " ".join(text.split())
    assert "fattat automatiskt av roboten med stöd av socialnämndens delegationsordning" in flat
    assert '<div class="label">Beslut</div>' in page
    assert "fattat automatiskt av roboten" in page and "Förslag till beslut" not in page


@pytest.mark.parametrize("case, mode", [
    ("support", Mode.SUPPORT),          # the caseworker decides
    ("blocking", Mode.AUTOMATED),       # a blocking finding: manual review
    ("first", Mode.AUTOMATED),          # a first application is never decided by the robot
])
def test_a_proposal_is_headed_forslag_and_says_a_caseworker_decides(case, mode):
    bundle = {"support": automated_decision, "blocking": single_person,
              "first": lambda: fresh().first_application().with_rent(6200).build()}[case]()
    bundle, assessment = assessed(bundle, mode)
    text, page = render_text(bundle, assessment), render_html(bundle, assessment)
    assert re.search(r"^FÖRSLAG TILL BESLUT: ", text, re.M) and not re.search(r"^BESLUT:", text, re.M)
    assert "Beslutet fattas av en handläggare." in " ".join(text.split())
    assert '<div class="label">Förslag till beslut</div>' in page
    assert "fattat automatiskt" not in text + page


# --- 4. Swedish first, the code small beside it --------------------------------------------------


def test_no_report_shows_a_bare_finding_code_or_norm_key(example_reports):
    extra = [assessed(b, m) for b, m in ((household_of_nine(), Mode.SUPPORT), (single_person(), Mode.SUPPORT),
                                         (automated_decision(), Mode.AUTOMATED))]
    reports = list(example_reports.values()) + [(b, a, render_text(b, a), render_html(b, a)) for b, a in extra]
    for bundle, assessment, text, page in reports:
        app_id = bundle.application.application_id
        for finding in assessment.findings:
            assert f"{FINDING_TITLES[finding.code]} ({finding.code})" in " ".join(text.split()), (app_id, finding.code)
            assert f'<code class="code">{finding.code}</code>' in page, (app_id, finding.code)
        bare_text = NORM_KEY.sub("", re.sub(r"\((?:adults|children|common)\.[\w+-]+\)", "", text))
        assert not NORM_KEY.search(bare_text), app_id
        assert not [c for c in CODE.findall(text) if f"({c})" not in text], app_id
        shown = visible_html(page)
        assert not NORM_KEY.search(shown), (app_id, NORM_KEY.findall(shown)[:3])
        assert not CODE.findall(shown), (app_id, CODE.findall(shown)[:3])


def test_norm_table_keys_have_swedish_labels():
    assert norm_key_label("adults.single") == "Vuxen ensamstående"
    assert norm_key_label("adults.couple") == "Vuxna sambor/makar"
    assert norm_key_label("common.1") == "Gemensamma kostnader 1 person"
    assert norm_key_label("common.4") == "Gemensamma kostnader 4 personer"
    assert norm_key_label("common.7+") == "Gemensamma kostnader 7 personer eller fler"
    assert norm_key_label("children.4-6") == "Barn 4–6 år"
    assert norm_key_label("children.0") == "Barn 0 år"
    assert norm_key_label("children.19-20") == "Ungdom 19–20 år i skola"


def _finding_calls() -> list[ast.Call]:
    calls = []
    for path in RULES_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("finding", "_out_of_scope"):
                calls.append(node)
    return calls


def test_every_finding_code_data_key_and_reason_a_rule_can_raise_has_swedish_words():
    """Read from the rules' source, so a new finding, key or reason without a label fails here."""
    codes, keys, reasons = set(), set(), set()
    for call in _finding_calls():
        if call.func.id == "finding" and isinstance(call.args[0], ast.Constant):
            codes.add(call.args[0].value)
        if call.func.id == "_out_of_scope" and isinstance(call.args[1], ast.Constant):
            reasons.add(call.args[1].value)
        for keyword in call.keywords:
            if keyword.arg not in (None, "blocking"):
                keys.add(keyword.arg)
            if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant):
                reasons.add(keyword.value.value)
    for path in RULES_DIR.glob("*.py"):  # data built as a dict and passed with **data
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "data" \
                    and isinstance(node.value, ast.Dict):
                keys |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    assert {"NORM_UNVERIFIED", "HOUSEHOLD_UNCLEAR", "NORM_OUT_OF_SCOPE", "COST_CAPPED"} <= codes
    assert {"values", "norm_year", "reason", "applicants", "partners"} <= keys
    assert {"applicant_count", "partner_count", "not_born", "other_adult", "lunch_at_home"} <= reasons
    assert sorted(codes - set(FINDING_TITLES)) == []
    assert sorted(keys - set(DATA_KEY_LABELS)) == []
    assert sorted(reasons - set(DATA_VALUE_LABELS["reason"])) == []


@pytest.mark.parametrize("build, reason_words", [
    (lambda: fresh(single=False).without_applicant(), "antalet sökande är inte exakt en"),
    (lambda: fresh(single=False).with_child(born=datetime(2027, 1, 15).date()), "personen är inte född"),
    (lambda: fresh().with_other_adult(), "annan vuxen i hushållet"),
    (lambda: fresh().with_child(4, lunch_at_home=True), "barn 0–6 år som äter lunch hemma"),
])
def test_household_and_out_of_scope_reasons_are_shown_in_swedish(build, reason_words):
    bundle, assessment = assessed(build().build())
    text = " ".join(render_text(bundle, assessment).split())
    assert f"orsak: {reason_words}" in text
    assert not re.search(r"orsak: [a-z_]+_[a-z_]+", text)


# --- 5. NORM_UNVERIFIED at a glance ---------------------------------------------------------------


def test_unverified_norm_figures_are_marked_in_text_and_html_and_named_in_the_finding():
    bundle, assessment = assessed(household_of_nine())
    derived = [line for line in assessment.norm_lines if line.status == "derived"]
    text, page = render_text(bundle, assessment), render_html(bundle, assessment)
    assert len(derived) >= 2
    assert text.count("härledd – kontrollera") == len(derived) + 1  # each row, and the note under the table
    assert page.count('<tr class="unverified">') == len(derived)
    assert "OBS: Härledda värden är beräknade" in " ".join(text.split())
    flat = " ".join(text.split())
    assert "[INFORMATION] Normbelopp inte kontrollerade mot SFS (NORM_UNVERIFIED)" in flat
    assert "normår: 2026" in flat
    assert "härledda belopp: Vuxna sambor/makar (adults.couple) 7 100 kr" in flat
    assert "Gemensamma kostnader 7 personer (common.7)" in flat


def test_official_norm_figures_are_not_marked():
    bundle, assessment = assessed(automated_decision(), Mode.AUTOMATED)
    assert all(line.status == "official" for line in assessment.norm_lines)
    text, page = render_text(bundle, assessment), render_html(bundle, assessment)
    assert "kontrollera" not in text and 'class="unverified"' not in page


# --- 6. footer ---------------------------------------------------------------------------------------


def test_the_footer_names_the_rules_version_and_the_guideline_not_rules_md():
    bundle, assessment = assessed(single_person())
    text, page = render_text(bundle, assessment), render_html(bundle, assessment)
    assert f"regelversion {RULES_VERSION} och {DEFAULT_GUIDELINE}" in " ".join(text.split())
    assert f"regelversion {RULES_VERSION} och {DEFAULT_GUIDELINE}" in " ".join(visible_html(page).split())
    assert "RULES.md" not in text + page


def test_a_municipality_names_its_own_guideline():
    bundle, assessment = assessed(single_person())
    own = "Riktlinjer för ekonomiskt bistånd, Höörby kommun 2026"
    assert own in " ".join(render_text(bundle, assessment, own).split())
    assert own in render_html(bundle, assessment, own)


def test_the_guideline_is_a_setting_with_the_default(tmp_path):
    from bistand.settings import load
    assert load(environ={}).guideline == DEFAULT_GUIDELINE
    assert load(environ={"BISTAND_GUIDELINE": "Egna riktlinjer"}).guideline == "Egna riktlinjer"


# --- 7. costs that need no document -------------------------------------------------------------------


@pytest.mark.parametrize("cost_type, label", [("hemforsakring", "Hemförsäkring"), ("fackavgift", "Fackavgift"),
                                              ("akassa", "A-kasseavgift"), ("arbetsresor", "Arbetsresor"),
                                              ("barnomsorg", "Barnomsorg")])
def test_a_cost_that_needs_no_document_says_so(cost_type, label):
    bundle, assessment = assessed(fresh().with_cost(cost_type, 250, attachments=()).with_cap(cost_type, 300).build())
    text, page = render_text(bundle, assessment), render_html(bundle, assessment)
    row = next(line for line in text.splitlines() if line.strip().startswith(label))
    assert "krävs ej" in row and "–" not in row
    assert "Underlag krävs inte för denna kostnadstyp." in text
    assert "krävs ej" in page and "Underlag krävs inte för denna kostnadstyp." in page


def test_a_cost_that_needs_a_document_keeps_the_dash_when_none_was_read():
    bundle, assessment = assessed(fresh().with_cost("hyra", 6000, attachments=()).with_cap("hyra", 7000).build())
    row = next(line for line in render_text(bundle, assessment).splitlines() if line.strip().startswith("Hyra"))
    assert "krävs ej" not in row and "–" in row


def test_the_count_of_marked_rows_agrees_in_number(example_reports):
    counts = set()
    for key, (_, assessment, text, page) in example_reports.items():
        derived = sum(1 for line in assessment.norm_lines if line.status == "derived")
        if derived:
            counts.add(derived)
            phrase = "1 rad markerad" if derived == 1 else f"{derived} rader markerade"
            assert phrase in " ".join(text.split()), key
            assert phrase in visible_html(page), key
    assert counts and 1 not in counts  # the example world has only plural counts; the singular is below


def test_one_marked_row_is_singular():
    bundle, assessment = assessed(fresh().with_child(12).build())  # only common.2 is derived
    assert [line.table_key for line in assessment.norm_lines if line.status == "derived"] == ["common.2"]
    text, page = render_text(bundle, assessment), render_html(bundle, assessment)
    assert "1 rad markerad" in " ".join(text.split()) and "1 rad markerade" not in text
    assert "1 rad markerad" in visible_html(page) and "1 rad markerade" not in page
