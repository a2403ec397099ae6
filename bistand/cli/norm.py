"""`python -m bistand norm show [YEAR] | add YEAR --from FILE.yaml [--force] | verify YEAR --from FILE [--correct]`

The riksnorm tables as an operation: each November the government sets next year's norm and the
municipality installs it before the first application for January (docs/operations.md). The
tables live in the norm directory (`norm_dir` in resources/config.yaml, `BISTAND_NORM_DIR`).
Exit codes: 0 done, 1 published figures did not match (nothing written), 2 invalid input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from bistand.core.errors import ApplicationError
from bistand.core.norm import (
    check_new_table,
    dump_table,
    installed_years,
    leading_comments,
    load_norm_table,
    parse_published,
    table_path,
    verify_table,
    write_atomically,
)
from bistand.run.exit_codes import ExitCode
from bistand.settings import load_or_exit

NORM_MISMATCH = 1
"""`norm verify` only: the published figures differ from the installed ones (otherwise bistand.run.exit_codes)."""

STATUS_LABELS = {"official": "officiell", "derived": "härledd"}
CHILD_LABELS = {
    "0": "Barn 0 år", "1-2": "Barn 1–2 år", "3": "Barn 3 år", "4-6": "Barn 4–6 år",
    "7-10": "Barn 7–10 år", "11-14": "Barn 11–14 år", "15-18": "Barn 15–18 år", "19-20": "Ung vuxen 19–20 år",
}


def label(key: str) -> str:
    """'children.4-6' -> 'Barn 4–6 år'; 'common.3' -> 'Gemensamma kostnader, 3 personer'."""
    section, name = key.split(".", 1)
    if section == "children":
        return CHILD_LABELS[name]
    if section == "adults":
        return {"single": "Ensamstående vuxen", "couple": "Sammanboende vuxna (tillsammans)"}[name]
    return f"Gemensamma kostnader, {name} {'person' if name == '1' else 'personer'}"


def kr(amount: int) -> str:
    return f"{amount:,} kr".replace(",", " ")


def _fail(problems: list[str], what: str) -> int:
    print(f"norm: {what}", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    return ExitCode.USAGE


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"norm: kan inte läsa {path} / cannot read the file: {exc.strerror or exc}", file=sys.stderr)
        return None


def show(directory: Path, year: int | None) -> int:
    if year is None:
        years = installed_years(directory)
        if not years:
            print(f"Inga normtabeller i {directory} / no norm tables installed")
            return ExitCode.OK
        print(f"Normtabeller i {directory}:")
        for each in years:
            try:
                table = load_norm_table(each, directory)
            except ApplicationError as exc:
                print(f"  {each}  ogiltig / invalid: {exc.message}")
                continue
            derived = sum(1 for _key, value in table.values() if value.status == "derived")
            total = len(list(table.values()))
            state = "alla officiella" if derived == 0 else f"{derived} av {total} härledda"
            print(f"  {each}  {total} belopp, {state}")
        return ExitCode.OK
    try:
        table = load_norm_table(year, directory)
    except ApplicationError as exc:
        print(f"norm: {exc.message}", file=sys.stderr)
        return ExitCode.USAGE
    rows = [(label(key), key, kr(value.amount), STATUS_LABELS[value.status], value.source)
            for key, value in table.values()]
    headers = ("Värde", "Nyckel", "Belopp", "Status", "Källa")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(4)]
    print(f"Riksnormen {table.year} ({table_path(year, directory)})")
    for row in [headers, *rows]:
        amount = row[2].rjust(widths[2])
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {amount}  {row[3]:<{widths[3]}}  {row[4]}")
    return ExitCode.OK


def add(directory: Path, year: int, source: Path, force: bool) -> int:
    target = table_path(year, directory)
    if target.exists() and not force:
        return _fail([f"{target} finns redan; skriv över med --force / already installed, use --force"],
                     f"{year} är redan installerad / already installed")
    text = _read(source)
    if text is None:
        return ExitCode.USAGE
    checked = check_new_table(text, year, directory, force=force)
    if checked.table is None:
        return _fail(checked.problems, f"{source} installerades inte / not installed:")
    write_atomically(target, text)
    load_norm_table(year, directory)  # what the bot will read: must load
    derived = [key for key, value in checked.table.values() if value.status == "derived"]
    compared = f", jämförd med {checked.previous_year}" if checked.previous_year and not force else ""
    print(f"Installerad / installed: riksnormen {year} -> {target} "
          f"({len(list(checked.table.values()))} belopp, {len(derived)} härledda{compared})")
    if derived:
        print(f"Härledda belopp (kontrollera mot SFS och kör `python -m bistand norm verify {year} --from FILE`): "
              f"{', '.join(derived)}")
    return ExitCode.OK


def verify(directory: Path, year: int, source: Path, correct: bool) -> int:
    try:
        table = load_norm_table(year, directory)
    except ApplicationError as exc:
        print(f"norm: {exc.message}", file=sys.stderr)
        return ExitCode.USAGE
    text = _read(source)
    if text is None:
        return ExitCode.USAGE
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return _fail([str(exc).splitlines()[0]], f"{source} är inte giltig YAML / not valid YAML:")
    published, problems = parse_published(raw, year)
    if published is None:
        return _fail(problems, f"{source} kan inte användas / cannot be used:")
    result = verify_table(table, published, correct=correct)
    for key in result.confirmed:
        print(f"  {key}: {kr(result.table.value(key).amount)} stämmer, härledd -> officiell")
    for key in result.already_official:
        print(f"  {key}: {kr(table.value(key).amount)} stämmer, redan officiell")
    for key, installed, figure in result.mismatches:
        fixed = " -> rättad till det publicerade beloppet (officiell)" if correct else ""
        print(f"  {key}: installerat {kr(installed)}, publicerat {kr(figure)}: AVVIKER{fixed}")
    if result.mismatches and not correct:
        print(f"norm: {len(result.mismatches)} belopp avviker; inget ändrat / nothing written. "
              f"Rätta med `--correct` (tar de publicerade beloppen) eller "
              f"`python -m bistand norm add {year} --from FILE.yaml --force`.", file=sys.stderr)
        return NORM_MISMATCH
    if not result.confirmed and not result.corrected:
        print(f"Inget att ändra / nothing to change in {year}")
        return ExitCode.OK
    target = table_path(year, directory)
    write_atomically(target, dump_table(result.table, leading_comments(target.read_text(encoding="utf-8"))))
    remaining = [key for key, value in result.table.values() if value.status == "derived"]
    print(f"Uppdaterad / updated: {target}: {len(result.confirmed)} bekräftade, {len(result.corrected)} rättade; "
          f"{len(remaining)} belopp fortfarande härledda{': ' + ', '.join(remaining) if remaining else ''}")
    return ExitCode.OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--norm-dir", type=Path, default=None,
                        help="the installed tables (default: norm_dir of the settings, BISTAND_NORM_DIR)")
    commands = parser.add_subparsers(dest="command", required=True)
    show_cmd = commands.add_parser("show", help="list installed years, or one year's values with status and source")
    show_cmd.add_argument("year", type=int, nargs="?")
    add_cmd = commands.add_parser("add", help="validate and install a new year's table")
    add_cmd.add_argument("year", type=int)
    add_cmd.add_argument("--from", dest="source", type=Path, required=True, help="the table (YAML)")
    add_cmd.add_argument("--force", action="store_true", help="overwrite the year; skip the ±15 %% check")
    verify_cmd = commands.add_parser("verify", help="derived values that match the published figures become official")
    verify_cmd.add_argument("year", type=int)
    verify_cmd.add_argument("--from", dest="source", type=Path, required=True, help="published figures (YAML)")
    verify_cmd.add_argument("--correct", action="store_true",
                            help="replace mismatching values by the published figures (official)")


def register(commands: argparse._SubParsersAction) -> None:
    """`norm show | add | verify` in `python -m bistand`'s command tree."""
    parser = commands.add_parser("norm", help="show | add | verify the riksnorm tables (next year's norm)",
                                 description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(handler=norm)


def main(argv: list[str]) -> int:
    """The command on its own (tests): the same options as in the tree."""
    parser = argparse.ArgumentParser(prog="python -m bistand norm", description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints the usage; an invalid command line is exit 2
        return ExitCode.USAGE if exc.code else ExitCode.OK
    return norm(args)


def norm(args: argparse.Namespace) -> int:
    directory = args.norm_dir
    if directory is None:
        directory = load_or_exit().norm_dir
    directory = directory.resolve()
    if args.command == "show":
        return show(directory, args.year)
    if args.command == "add":
        return add(directory, args.year, args.source, args.force)
    return verify(directory, args.year, args.source, args.correct)
