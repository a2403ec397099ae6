"""`python -m bistand records verify|purge|schema` and `python -m bistand explain ANS-…|--all`.

Exit codes. records verify: 0 the chain is whole, 1 a record was changed, removed or inserted.
records purge: 0. explain: 0 every decision re-assesses to the same outcome, 1 at least one
differs or cannot be re-assessed, 2 no such record (or no records). Explaining one application
prints its report (personal data, as the report itself): for the caseworker's or auditor's
screen, never a log. `explain --all` prints no names and masks personnummer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import date, datetime, time
from pathlib import Path

from bistand.records.chain import RecordChain
from bistand.records.explain import (
    SAME,
    explain_record,
    find_decision,
    installed_now,
    latest_decisions,
    reassess,
    record_header,
)
from bistand.records.record import SCHEMA_FILE
from bistand.records.schema import schema_text
from bistand.report import LOCAL_TZ
from bistand.settings import Settings, load_or_exit


def _settings() -> Settings:
    """This command's settings, loaded once per use (a bad value: one line and exit code 2)."""
    return load_or_exit()


def since_type(value: str) -> datetime:
    """A date (midnight, Swedish time) or a date and time; naive times are Swedish time."""
    try:
        moment = datetime.combine(date.fromisoformat(value), time(0, 0)) if len(value) == 10 \
            else datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"inte ett datum (ÅÅÅÅ-MM-DD): {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_TZ)


def _records_dir(value: Path | None) -> Path:
    return value if value is not None else _settings().records_dir


# --- records ---------------------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    """`records verify | purge | schema` and `explain` in `python -m bistand`'s command tree."""
    records = commands.add_parser("records", help="verify [--since DATE] | purge [--older-than N] | schema: "
                                                  "the sealed decision records",
                                  description="The sealed decision records (docs/records.md).")
    add_records_arguments(records)
    records.set_defaults(handler=records_command)
    explain = commands.add_parser("explain", help="ANS-… | --all [--since DATE] [--json]: how a decision was "
                                                  "reached; the same today?", description=EXPLAIN)
    add_explain_arguments(explain)
    explain.set_defaults(handler=explain_command, usage_error=explain.error)


def records_main(argv: list[str]) -> int:
    """`records …` on its own (tests): the same options as in the tree."""
    parser = argparse.ArgumentParser(prog="python -m bistand records",
                                     description="The sealed decision records (docs/records.md).")
    add_records_arguments(parser)
    return records_command(parser.parse_args(argv))


def add_records_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="find changed, removed or inserted records (exit 1)")
    verify.add_argument("--since", type=since_type, help="only records sealed on or after DATE (YYYY-MM-DD)")
    purge = commands.add_parser("purge", help="remove records older than the retention, keeping the chain whole")
    purge.add_argument("--older-than", type=int, metavar="N",
                       help="days (default: records_retention_days, BISTAND_RECORDS_RETENTION_DAYS)")
    schema = commands.add_parser("schema", help="print the records' JSON Schema")
    schema.add_argument("--write", action="store_true", help=f"write it to {SCHEMA_FILE}")
    for sub in (verify, purge):
        sub.add_argument("--dir", type=Path, help="the records folder (default: <output_dir>/records)")


def records_command(args: argparse.Namespace) -> int:
    if args.command == "schema":
        if args.write:
            SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
            SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
            print(f"Skrev {SCHEMA_FILE}")
        else:
            sys.stdout.write(schema_text())
        return 0
    chain = RecordChain(_records_dir(args.dir))
    if args.command == "purge":
        return _purge(chain, args.older_than)
    return _verify(chain, args.since)


def _verify(chain: RecordChain, since: datetime | None) -> int:
    result = chain.verify(since)
    for problem in result.problems:
        print(problem.line())
    span = f"nr {result.first_sequence}–{result.head_sequence}" if result.head_sequence else "inga poster"
    if result.intact:
        print(f"Kedjan är hel: {result.checked} filer ({span}). Huvud: sha256 {result.head_sha256}")
        return 0
    print(f"Kedjan är bruten: {len(result.problems)} fel bland {result.checked} filer ({span}).", file=sys.stderr)
    return 1


def _purge(chain: RecordChain, older_than: int | None) -> int:
    days = older_than if older_than is not None else _settings().records_retention_days
    if days < 1:
        print("--older-than ska vara minst 1 dag", file=sys.stderr)
        return 2
    removed = chain.purge(days, on_remove=lambda entry: remove_reports(chain.directory, entry.record))
    print(f"Gallrade {removed} poster äldre än {days} dagar; kedjan börjar nu på en gallringspost."
          if removed else f"Inga poster äldre än {days} dagar.")
    return 0


def remove_reports(records_dir: Path, record: dict) -> None:
    """A purged record's report files, where they are still the ones written with it (and the PDF)."""
    files = record.get("report", {}).get("files", {})
    for kind, meta in files.items():
        path = (records_dir / meta["path"]).resolve()
        try:
            same = hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
        except OSError:
            continue
        if same:
            path.unlink(missing_ok=True)
            if kind == "txt":
                path.with_suffix(".pdf").unlink(missing_ok=True)


# --- explain ---------------------------------------------------------------------------------------


EXPLAIN = "How a decision was reached, from its record, and whether it would be the same today."


def explain_main(argv: list[str]) -> int:
    """`explain …` on its own (tests): the same options as in the tree."""
    parser = argparse.ArgumentParser(prog="python -m bistand explain", description=EXPLAIN)
    add_explain_arguments(parser)
    parser.set_defaults(usage_error=parser.error)
    return explain_command(parser.parse_args(argv))


def add_explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("application_id", nargs="?", help="ANS-ÅÅÅÅ-NNNNNN")
    parser.add_argument("--all", action="store_true", help="every application's latest record")
    parser.add_argument("--since", type=since_type, help="with --all: records sealed on or after DATE")
    parser.add_argument("--json", action="store_true", help="with --all: one JSON document")
    parser.add_argument("--dir", type=Path, help="the records folder (default: <output_dir>/records)")
    parser.add_argument("--norm-dir", type=Path,
                        help="the norm tables to re-assess with (default: norm_dir, BISTAND_NORM_DIR)")


def explain_command(args: argparse.Namespace) -> int:
    if bool(args.application_id) == bool(args.all):
        args.usage_error("ange ett ansökningsnummer eller --all")
    settings = None if args.dir and args.norm_dir else _settings()
    chain = RecordChain(args.dir or settings.records_dir)
    norm_dir = args.norm_dir or settings.norm_dir

    if not args.all:
        entry = find_decision(chain, args.application_id)
        if entry is None:
            print(f"Ingen beslutspost för {args.application_id} i {chain.directory}", file=sys.stderr)
            return 2
        result = reassess(entry, norm_dir)
        print("\n".join(record_header(entry)))
        print()
        print(explain_record(entry.record))
        print()
        year = result.stored.norm_year if result.stored else None
        print(f"Omprövning med det som är installerat nu ({installed_now(norm_dir, year)}):")
        for note in result.changes_since:
            print(f"  ({note})")
        if result.error:
            print(f"  kan inte omprövas: {result.error}")
        else:
            print(f"  {SAME}" if result.same else "\n".join(f"  {line}" for line in result.differences))
        return 0 if result.same else 1

    entries = latest_decisions(chain, args.since)
    if not entries:
        print(f"Inga beslutsposter i {chain.directory}", file=sys.stderr)
        return 2
    results = [reassess(entry, norm_dir) for entry in entries]
    changed = [r for r in results if not r.same]
    if args.json:
        print(json.dumps({"records_dir": str(chain.directory), "norm_dir": str(norm_dir),
                          "checked": len(results), "same": len(results) - len(changed),
                          "changed": [r.application_id for r in changed],
                          "results": [r.as_json() for r in results]}, ensure_ascii=False, indent=2))
    else:
        print(f"Omprövning med det som är installerat nu ({installed_now(norm_dir)}):")
        for result in results:
            if result.same:
                print(f"{result.application_id}  {SAME}")
                continue
            print(f"{result.application_id}  {'kan inte omprövas' if result.error else 'ändras'}:")
            for line in ([result.error] if result.error else result.differences):
                print(f"    {line}")
        print(f"{len(results)} beslut omprövade: {len(results) - len(changed)} samma utfall, "
              f"{len(changed)} ändras" + (f" ({', '.join(r.application_id for r in changed)})" if changed else ""))
    return 1 if changed else 0
