"""`python -m bistand norm show | add | verify`: next year's norm installed as an operation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bistand.cli.norm import main as norm
from bistand.core.engine import assess
from bistand.core.errors import ApplicationError
from bistand.core.models import Mode, Proposal
from bistand.core.norm import DEFAULT_NORM_DIR, load_norm_table
from bistand.settings import load
from tests.builders import household
from tests.simulator_process import ROOT


@pytest.fixture
def norm_dir(tmp_path) -> Path:
    """A copy of the installed tables (2023 official, 2026 partly derived)."""
    directory = tmp_path / "norm"
    shutil.copytree(DEFAULT_NORM_DIR, directory)
    return directory


def run(norm_dir: Path, *args: str) -> int:
    return norm(["--norm-dir", str(norm_dir), *args])


def table_2027(raised_by: float = 1.02, **changes) -> dict:
    """The 2026 table raised by 2 %, every value official, with `changes` applied as {key: value}."""
    raw = yaml.safe_load((DEFAULT_NORM_DIR / "2026.yaml").read_text(encoding="utf-8"))
    raw["year"] = 2027
    for section in ("children", "adults", "common"):
        for key, value in raw[section].items():
            raw[section][key] = {"amount": round(value["amount"] * raised_by), "status": "official",
                                 "source": "SFS 2026:1234 (Riksnorm 2027)"}
    for dotted, value in changes.items():
        section, key = dotted.split(".", 1)
        key = int(key) if section == "common" else key
        if value is None:
            del raw[section][key]
        else:
            raw[section][key] = {**raw[section][key], **value}
    return raw


def write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- show ---------------------------------------------------------------------------------------

def test_show_lists_the_installed_years_with_how_many_values_are_derived(norm_dir, capsys):
    assert run(norm_dir, "show") == 0
    out = capsys.readouterr().out
    assert "2023  17 belopp, alla officiella" in out
    assert "2026  17 belopp, 14 av 17 härledda" in out


def test_show_year_prints_every_value_with_label_key_amount_status_and_source(norm_dir, capsys):
    assert run(norm_dir, "show", "2026") == 0
    lines = capsys.readouterr().out.splitlines()
    couple = next(line for line in lines if "adults.couple" in line)
    assert couple.startswith("Sammanboende vuxna") and "7 100 kr" in couple and "härledd" in couple
    single = next(line for line in lines if "adults.single" in line)
    assert "officiell" in single and "Lifecare" in single
    assert len([line for line in lines if " kr  " in line]) == 17


# --- add ----------------------------------------------------------------------------------------

def test_a_complete_table_within_fifteen_percent_is_installed_and_read_by_the_engine(norm_dir, tmp_path, capsys):
    source = write(tmp_path / "riksnorm-2027.yaml", table_2027())
    assert run(norm_dir, "add", "2027", "--from", str(source)) == 0
    assert "Installerad / installed: riksnormen 2027" in capsys.readouterr().out
    bundle = household(period="2027-01").build()
    assessment = assess(bundle, Mode.AUTOMATED, norm_dir=norm_dir)
    assert assessment.norm_year == 2027
    assert assessment.norm_total == round(3940 * 1.02) + round(1280 * 1.02)
    assert "NORM_UNVERIFIED" not in assessment.finding_codes


@pytest.mark.parametrize(("changes", "expected_line"), [
    ({"children.3": None}, "children.3: värdet saknas"),
    ({"adults.couple": None}, "adults.couple: värdet saknas"),
    ({"common.7": None}, "common.7: värdet saknas"),
    ({"children.4-6": {"status": "estimated"}}, "children.4-6: status 'estimated'"),
    ({"common.2": {"source": " "}}, "common.2: källa saknas"),
    ({"adults.single": {"amount": -4000}}, "adults.single: beloppet -4000 är inte ett positivt heltal"),
    ({"adults.single": {"amount": 4020.5}}, "adults.single: beloppet 4020.5 är inte ett positivt heltal"),
    ({"adults.single": {"amount": "4 020 kr"}}, "adults.single: beloppet '4 020 kr' är inte ett positivt heltal"),
])
def test_an_incomplete_or_malformed_table_is_refused_naming_the_value(
        norm_dir, tmp_path, capsys, changes, expected_line):
    source = write(tmp_path / "riksnorm-2027.yaml", table_2027(**changes))
    assert run(norm_dir, "add", "2027", "--from", str(source)) == 2
    assert expected_line in capsys.readouterr().err
    assert not (norm_dir / "2027.yaml").exists()


def test_a_file_for_another_year_is_refused(norm_dir, tmp_path, capsys):
    source = write(tmp_path / "riksnorm.yaml", {**table_2027(), "year": 2028})
    assert run(norm_dir, "add", "2027", "--from", str(source)) == 2
    assert "year: filen anger 2028, väntat 2027" in capsys.readouterr().err


def test_a_value_more_than_fifteen_percent_from_last_year_is_refused_unless_forced(norm_dir, tmp_path, capsys):
    source = write(tmp_path / "riksnorm-2027.yaml", table_2027(**{"adults.single": {"amount": 39400}}))
    assert run(norm_dir, "add", "2027", "--from", str(source)) == 2
    err = capsys.readouterr().err
    assert "adults.single: 39400 kr är +900% mot 2026 (3940 kr)" in err
    assert "children.0" not in err, "only the value that moved too far is named"
    assert not (norm_dir / "2027.yaml").exists()
    assert run(norm_dir, "add", "2027", "--from", str(source), "--force") == 0
    assert load_norm_table(2027, norm_dir).adults["single"].amount == 39400


def test_an_installed_year_is_not_overwritten_unless_forced(norm_dir, tmp_path, capsys):
    before = (norm_dir / "2026.yaml").read_text(encoding="utf-8")
    source = write(tmp_path / "riksnorm.yaml", {**table_2027(), "year": 2026})
    assert run(norm_dir, "add", "2026", "--from", str(source)) == 2
    assert "redan installerad / already installed" in capsys.readouterr().err
    assert (norm_dir / "2026.yaml").read_text(encoding="utf-8") == before
    assert run(norm_dir, "add", "2026", "--from", str(source), "--force") == 0
    assert load_norm_table(2026, norm_dir).adults["couple"].status == "official"


def test_broken_yaml_is_exit_2_with_a_message_and_no_traceback(tmp_path, norm_dir):
    source = tmp_path / "broken.yaml"
    source.write_text("year: 2027\nchildren: [unclosed\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bistand", "norm", "--norm-dir", str(norm_dir), "add", "2027", "--from", str(source)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "inte giltig YAML / not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_missing_source_file_is_exit_2_with_a_message(norm_dir, tmp_path, capsys):
    assert run(norm_dir, "add", "2027", "--from", str(tmp_path / "nope.yaml")) == 2
    assert "kan inte läsa" in capsys.readouterr().err


# --- verify: derived values become official ------------------------------------------------------

def published(tmp_path: Path, **figures) -> Path:
    data = {"year": 2026, "source": "SFS 2025:1042 (Riksnorm 2026)"}
    for dotted, amount in figures.items():
        section, key = dotted.split("_", 1)
        data.setdefault(section, {})[int(key) if section == "common" else key] = amount
    return write(tmp_path / "published-2026.yaml", data)


def test_verifying_the_couple_figures_makes_norm_unverified_go_away(norm_dir, tmp_path, capsys):
    bundle = household(single=False).build()
    before = assess(bundle, Mode.AUTOMATED, norm_dir=norm_dir)
    assert "NORM_UNVERIFIED" in before.finding_codes and before.proposal is Proposal.MANUAL_REVIEW

    figures = published(tmp_path, adults_couple=7100, common_2=1410, adults_single=3940)
    assert run(norm_dir, "verify", "2026", "--from", str(figures)) == 0
    out = capsys.readouterr().out
    assert "adults.couple: 7 100 kr stämmer, härledd -> officiell" in out
    assert "adults.single: 3 940 kr stämmer, redan officiell" in out

    table = load_norm_table(2026, norm_dir)  # same process: the cache must not serve the old file
    assert table.adults["couple"].status == "official"
    assert table.adults["couple"].source == "SFS 2025:1042 (Riksnorm 2026)"
    assert table.children["0"].status == "derived", "values not in the file stay as they were"
    after = assess(bundle, Mode.AUTOMATED, norm_dir=norm_dir)
    assert "NORM_UNVERIFIED" not in after.finding_codes
    assert after.norm_total == before.norm_total
    assert (norm_dir / "2026.yaml").read_text(encoding="utf-8").startswith("# Riksnormen för försörjningsstöd 2026")


def test_a_published_figure_that_differs_is_reported_and_nothing_is_written(norm_dir, tmp_path, capsys):
    before = (norm_dir / "2026.yaml").read_text(encoding="utf-8")
    figures = published(tmp_path, adults_couple=7120, common_2=1410)
    assert run(norm_dir, "verify", "2026", "--from", str(figures)) == 1
    captured = capsys.readouterr()
    assert "adults.couple: installerat 7 100 kr, publicerat 7 120 kr: AVVIKER" in captured.out
    assert "inget ändrat / nothing written" in captured.err
    assert (norm_dir / "2026.yaml").read_text(encoding="utf-8") == before


def test_correct_takes_the_published_figure_for_a_mismatch(norm_dir, tmp_path):
    figures = published(tmp_path, adults_couple=7120, common_2=1410)
    assert run(norm_dir, "verify", "2026", "--from", str(figures), "--correct") == 0
    table = load_norm_table(2026, norm_dir)
    assert (table.adults["couple"].amount, table.adults["couple"].status) == (7120, "official")
    assert table.common[2].status == "official"


def test_a_published_figures_file_with_an_unknown_key_is_refused(norm_dir, tmp_path, capsys):
    figures = published(tmp_path, **{"children_5-6": 3000})
    assert run(norm_dir, "verify", "2026", "--from", str(figures)) == 2
    assert "children.5-6: okänd nyckel" in capsys.readouterr().err


# --- where the tables live; a missing year ------------------------------------------------------

def test_a_missing_year_names_the_command_that_installs_it(norm_dir):
    with pytest.raises(ApplicationError) as raised:
        assess(household(period="2027-01").build(), norm_dir=norm_dir)
    assert raised.value.code == "NORM_TABLE_MISSING"
    assert "install it with `python -m bistand norm add 2027 --from FILE.yaml`" in raised.value.message


def test_the_norm_directory_comes_from_the_settings_and_bistand_norm_dir(tmp_path):
    assert load(environ={}).norm_dir == DEFAULT_NORM_DIR
    assert load(environ={"BISTAND_NORM_DIR": str(tmp_path)}).norm_dir == tmp_path
