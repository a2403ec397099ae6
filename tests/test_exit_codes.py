"""One ExitCode enum (bistand.run.exit_codes): the documents and `--help` say what it says."""

from __future__ import annotations

from pathlib import Path

from bistand.run import cli
from bistand.run.exit_codes import ExitCode, exit_code_lines, exit_code_table

ROOT = Path(__file__).resolve().parents[1]


def test_every_code_has_a_meaning_and_what_to_do_and_the_codes_are_the_documented_numbers():
    assert [int(code) for code in ExitCode] == list(range(8))
    for code in ExitCode:
        assert code.__doc__ and code.__doc__ != ExitCode.__doc__, code
        assert code.action, code


def test_operations_doc_carries_the_enums_table():
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = operations.split("### Exit codes\n", 1)[1].split("\n\n", 1)[0]
    assert section.strip() == exit_code_table()


def test_the_run_commands_docstring_is_made_from_the_enum():
    for line in exit_code_lines():
        assert line in cli.__doc__
    assert f"  6  {ExitCode.PARKED.__doc__}" in cli.__doc__


def test_the_table_changes_when_a_meaning_changes(monkeypatch):
    """The check can fail: a changed meaning no longer matches the document."""
    monkeypatch.setattr(ExitCode.PARKED, "__doc__", "something else")
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert exit_code_table() not in operations
