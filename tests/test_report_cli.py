"""`python -m bistand report`: reports and outcomes.json for a whole world file, offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bistand.cli.report import main

ROOT = Path(__file__).resolve().parent.parent
FAILING_APPLICATION = "ANS-2026-000003"


@pytest.fixture(scope="module")
def world(example_world_path):
    return json.loads(example_world_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def run(example_world_path, tmp_path_factory):
    """One full run (text, HTML and PDF for all 20 applications) shared by the tests below."""
    out = tmp_path_factory.mktemp("report-cli")
    captured = tmp_path_factory.mktemp("report-cli-stdout") / "stdout.txt"
    original = sys.stdout
    with captured.open("w", encoding="utf-8") as stream:
        sys.stdout = stream
        try:
            code = main(["--world", str(example_world_path), "--out", str(out)])
        finally:
            sys.stdout = original
    return code, out, captured.read_text(encoding="utf-8")


def test_the_outcomes_equal_the_worlds_expected_outcomes(run, world):
    code, out, _ = run
    outcomes = json.loads((out / "outcomes.json").read_text(encoding="utf-8"))
    expected = {app_id: {**raw, "findings": sorted(raw["findings"])} for app_id, raw in world["expected"].items()}
    assert code == 0
    assert len(outcomes) == 20
    assert outcomes == expected


def test_every_application_gets_a_text_html_and_pdf_report(run, world):
    _, out, _ = run
    for app in world["applications"]:
        app_id = app["application_id"]
        assert (out / f"{app_id}.txt").read_text(encoding="utf-8").startswith("BESLUTSUNDERLAG")
        assert "<!DOCTYPE html>" in (out / f"{app_id}.html").read_text(encoding="utf-8")
        assert (out / f"{app_id}.pdf").read_bytes().startswith(b"%PDF")


def test_the_console_shows_ids_and_proposals_but_no_personal_data(run, world):
    _, out, stdout = run
    lines = stdout.strip().splitlines()
    assert "ANS-2026-000001  Bevilja" in lines
    assert "ANS-2026-000009  Manuell handläggning" in lines
    assert str(out.resolve()) in stdout
    assert not re.search(r"\d{8}-?\d{4}", stdout)
    assert " kr" not in stdout
    names = {m["last_name"] for h in world["households"] for m in h["members"]}
    assert not [name for name in names if name in stdout]


def world_with_one_application_in_2027(world: dict, tmp_path) -> Path:
    """The world with FAILING_APPLICATION filed for 2027-01, a year without an installed norm table."""
    changed = json.loads(json.dumps(world))
    for app in changed["applications"]:
        if app["application_id"] == FAILING_APPLICATION:
            app["period"] = "2027-01"
    world_file = tmp_path / "world-2027.json"
    world_file.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    return world_file


def test_an_application_without_a_norm_table_gets_an_error_and_the_others_are_assessed(world, tmp_path):
    world_file = world_with_one_application_in_2027(world, tmp_path)
    out = tmp_path / "out"

    done = subprocess.run(
        [sys.executable, "-m", "bistand", "report", "--world", str(world_file), "--out", str(out), "--no-pdf"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )

    outcomes = json.loads((out / "outcomes.json").read_text(encoding="utf-8"))
    assert done.returncode == 1
    assert set(outcomes[FAILING_APPLICATION]) == {"error"}
    assert "2027" in outcomes[FAILING_APPLICATION]["error"]
    assessed = {app_id: o for app_id, o in outcomes.items() if app_id != FAILING_APPLICATION}
    assert len(assessed) == 19
    assert all(o["proposal"] == world["expected"][app_id]["proposal"] for app_id, o in assessed.items())
    assert not (out / f"{FAILING_APPLICATION}.txt").exists()
    assert f"{FAILING_APPLICATION}  FEL" in done.stderr


def test_the_report_reads_norm_tables_from_the_installed_norm_dir(world, tmp_path):
    """BISTAND_NORM_DIR (where `python -m bistand norm add` installs) is where the report looks."""
    import shutil

    world_file = world_with_one_application_in_2027(world, tmp_path)
    norm_dir = tmp_path / "norm"
    shutil.copytree(ROOT / "resources" / "norm", norm_dir)
    (norm_dir / "2027.yaml").write_text(
        (norm_dir / "2026.yaml").read_text(encoding="utf-8").replace("year: 2026", "year: 2027"), encoding="utf-8")
    out = tmp_path / "out"

    done = subprocess.run(
        [sys.executable, "-m", "bistand", "report", "--world", str(world_file), "--out", str(out), "--no-pdf"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "BISTAND_NORM_DIR": str(norm_dir)},
    )

    outcomes = json.loads((out / "outcomes.json").read_text(encoding="utf-8"))
    assert done.returncode == 0, done.stderr
    assert "error" not in outcomes[FAILING_APPLICATION]


def test_a_household_of_two_partners_without_an_applicant_is_reported_and_stops_nothing(world, tmp_path):
    """Issue 7 §6: the report renders HOUSEHOLD_UNCLEAR; every application gets its outcome."""
    changed = json.loads(json.dumps(world))
    household = next(h for h in changed["households"] if h["case_number"] == "EB-2026-0003")
    assert [m["role"] for m in household["members"]] == ["applicant", "partner"]
    household["members"][0]["role"] = "partner"
    world_file = tmp_path / "no-applicant.json"
    world_file.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"

    done = subprocess.run(
        [sys.executable, "-m", "bistand", "report", "--world", str(world_file), "--out", str(out), "--no-pdf"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    outcomes = json.loads((out / "outcomes.json").read_text(encoding="utf-8"))
    assert set(outcomes) == {a["application_id"] for a in changed["applications"]}
    unclear = outcomes[FAILING_APPLICATION]
    assert unclear["proposal"] == "manual_review"
    assert "HOUSEHOLD_UNCLEAR" in unclear["findings"]
    text = (out / f"{FAILING_APPLICATION}.txt").read_text(encoding="utf-8")
    assert "Sökande saknas" in text
    assert "Hushållet kan inte bedömas (HOUSEHOLD_UNCLEAR)" in text
    assert "antalet sökande är inte exakt en" in text
    assert "Sökande saknas" in (out / f"{FAILING_APPLICATION}.html").read_text(encoding="utf-8")


def test_an_application_whose_report_fails_gets_an_error_line_with_the_personnummer_masked(world, tmp_path, capsys,
                                                                                              monkeypatch):
    """A failure after the assessment (here: the text renderer) is still one application's error."""
    from bistand.cli import report as cli
    from bistand.report import text as text_module

    original = text_module.render_text

    def failing(bundle, assessment, guideline):
        if bundle.application.application_id == FAILING_APPLICATION:
            raise ValueError(f"cannot render {bundle.application.members[0].personnummer.full}")
        return original(bundle, assessment, guideline)

    monkeypatch.setattr(text_module, "render_text", failing)
    outcomes = cli.assess_world(world, tmp_path, cli.Mode.SUPPORT, pdf=False)

    err = capsys.readouterr().err
    assert set(outcomes[FAILING_APPLICATION]) == {"error"}
    assert len([o for o in outcomes.values() if "proposal" in o]) == 19
    assert f"{FAILING_APPLICATION}  FEL: ValueError: cannot render" in err
    assert not re.search(r"\d{8}-\d{4}", err + json.dumps(outcomes))


def test_an_unreadable_world_file_exits_with_2(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main(["--world", str(broken), "--out", str(tmp_path / "out"), "--no-pdf"]) == 2
