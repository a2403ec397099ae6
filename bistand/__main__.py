"""`python -m bistand <command>`: one command tree, every command with its `--help`.

Each command module adds its own sub-commands (`register(commands)`) and names the function that
carries it out (`set_defaults(handler=…)`); this module only builds the tree and dispatches. A
command line argparse cannot read exits 2 (ExitCode.USAGE). See README.
"""

from __future__ import annotations

import argparse
import sys

from bistand.bench import cli as bench_cli
from bistand.cli import norm as norm_cli
from bistand.cli import report as report_cli
from bistand.dashboard import cli as dashboard_cli
from bistand.records import cli as records_cli
from bistand.run import cli as run_cli
from bistand.run.exit_codes import ExitCode

COMMAND_MODULES = (report_cli, run_cli, norm_cli, bench_cli, dashboard_cli, records_cli)
"""In the order `--help` lists them: report; run, produce, work, queue, replay, demo; norm; bench;
dashboard; records, explain."""


def command_tree() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bistand", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="bistand_command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = command_tree()
    if not argv:  # the list of commands, as `--help` gives it
        parser.print_help()
        return ExitCode.OK
    args = parser.parse_args(argv)  # a usage error: argparse says what, exit 2
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
