"""`python -m bistand`: one argparse tree; every command and sub-command has its `--help`, a command
line argparse cannot read exits 2 (ExitCode.USAGE), and the run commands' help ends with the exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bistand.__main__ import command_tree, main
from bistand.run.exit_codes import ExitCode
from tests.simulator_process import ROOT

COMMANDS = ["report", "run", "produce", "work", "queue", "replay", "demo", "norm", "bench", "dashboard",
            "records", "explain"]
SUB_COMMANDS = [("queue", "status"), ("queue", "retry"), ("queue", "skip"), ("records", "verify"),
                ("records", "purge"), ("records", "schema"), ("norm", "show"), ("norm", "add"), ("norm", "verify")]


def test_the_tree_holds_every_command_in_the_documented_order():
    commands = next(action for action in command_tree()._actions if action.dest == "bistand_command")
    assert list(commands.choices) == COMMANDS


@pytest.mark.parametrize("words", [[c] for c in COMMANDS] + [list(pair) for pair in SUB_COMMANDS])
def test_every_command_has_its_help(words, capsys):
    with pytest.raises(SystemExit) as ended:
        main([*words, "--help"])
    assert ended.value.code == 0
    assert f"usage: python -m bistand {' '.join(words)}" in capsys.readouterr().out


@pytest.mark.parametrize("words", [["bogus"], ["work", "--watch"], ["queue", "skip", "ANS-2026-000001"],
                                   ["run", "--mode", "manual"], ["records"], ["work", "--nonsense"]])
def test_a_command_line_argparse_cannot_read_exits_2(words, capsys):
    with pytest.raises(SystemExit) as ended:
        main(words)
    assert ended.value.code == ExitCode.USAGE
    assert "error:" in capsys.readouterr().err


def test_the_run_commands_help_ends_with_every_exit_code(capsys):
    with pytest.raises(SystemExit):
        main(["work", "--help"])
    out = capsys.readouterr().out
    assert out.index("exit codes:") > out.index("--until-empty")
    for code in ExitCode:
        assert f"  {code.value}  {code.__doc__}" in out


def test_without_a_command_it_lists_the_commands_and_exits_0(capsys):
    assert main([]) == ExitCode.OK
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)


def test_the_module_runs_as_a_program_and_dispatches():
    """`python -m bistand records schema` through the handler it registered (no network, no queue)."""
    result = subprocess.run([sys.executable, "-m", "bistand", "records", "schema"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"$schema"' in result.stdout
