"""Report snapshots: the text and HTML report of three households, compared character by character.

Any change of wording or layout fails with a diff. After a deliberate change, rewrite them with
`BISTAND_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_report_snapshots.py` and review
the diff of tests/snapshots/ before committing (docs/report.md).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from bistand.core.models import Mode
from bistand.report.html import render_html
from bistand.report.text import render_text
from tests.report_cases import assessed, automated_decision, household_of_nine, normalised, single_person

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("BISTAND_UPDATE_SNAPSHOTS") == "1"

CASES = {
    "household-of-nine": lambda: assessed(household_of_nine()),
    "automated-decision": lambda: assessed(automated_decision(), Mode.AUTOMATED),
    "single-person": lambda: assessed(single_person()),
}
RENDERERS = {"txt": render_text, "html": render_html}


def check_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with BISTAND_UPDATE_SNAPSHOTS=1 and review it"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                            f"snapshots/{name}", "rendered now"))
        print(diff)
        pytest.fail(f"report {name} differs from its snapshot (BISTAND_UPDATE_SNAPSHOTS=1 rewrites it):\n{diff}")


@pytest.mark.parametrize("kind", RENDERERS)
@pytest.mark.parametrize("case", CASES)
def test_the_report_matches_its_snapshot(case, kind):
    bundle, assessment = CASES[case]()
    check_snapshot(f"{case}.{kind}", normalised(RENDERERS[kind](bundle, assessment)))


def test_the_snapshot_cases_are_what_their_names_say():
    nine_bundle, nine = CASES["household-of-nine"]()
    _, automated = CASES["automated-decision"]()
    single_bundle, single = CASES["single-person"]()
    assert len(nine_bundle.application.members) == 9
    assert automated.mode is Mode.AUTOMATED and not automated.blocking_findings
    assert len(single_bundle.application.members) == 1 and single.mode is Mode.SUPPORT
