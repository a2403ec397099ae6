"""`python -m bistand report --world FILE --out DIR [--mode support|automated] [--no-pdf]`

Assesses every application of a world file offline (no simulators, no portals) and writes, per
application, `<id>.txt`, `<id>.html` and `<id>.pdf` with its sealed decision record in `records/`
(docs/records.md), plus `outcomes.json` in the format of the world's `expected`. An application
that cannot be assessed (e.g. no norm table for its year) gets
`{"error": ...}` (and a line on stderr) and the others are still assessed. Exit code 0 when all
were assessed, 1 when any failed, 2 when the world file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bistand.core.engine import assess
from bistand.core.errors import BistandError
from bistand.core.models import Mode, Proposal
from bistand.core.norm import DEFAULT_NORM_DIR
from bistand.core.personnummer import mask_personnummer_in_text
from bistand.core.world_bundles import bundle_from_world, outcome_of
from bistand.records.writer import write_report_and_record
from bistand.report.labels import DEFAULT_GUIDELINE, PROPOSAL_LABELS
from bistand.run.exit_codes import ExitCode
from bistand.settings import default_runner_id, load_or_exit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--world", required=True, type=Path, help="world JSON file (bistand-world/1)")
    parser.add_argument("--out", required=True, type=Path, help="directory for the reports and outcomes.json")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.SUPPORT.value)
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDFs (no browser needed)")
    parser.add_argument("--guideline", default=None,
                        help="the municipality's guideline named in the report's footer "
                             "(default: the setting guideline, $BISTAND_GUIDELINE)")
    parser.add_argument("--norm-dir", type=Path, default=None,
                        help="installed norm tables (default: the setting norm_dir, $BISTAND_NORM_DIR)")


def register(commands: argparse._SubParsersAction) -> None:
    """`report` in `python -m bistand`'s command tree."""
    parser = commands.add_parser("report", help="assess a world file offline and write reports + outcomes.json",
                                 description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(handler=report)


def _error_text(exc: Exception) -> str:
    """One line for outcomes.json and the console that names the problem and never holds a personnummer."""
    text = f"{exc.code}: {exc.message}" if isinstance(exc, BistandError) else f"{type(exc).__name__}: {exc}"
    return (mask_personnummer_in_text(text).strip().splitlines() or [type(exc).__name__])[0]


class _PdfPrinter:
    """One browser for the whole run, started when the first PDF is printed."""

    def __init__(self) -> None:
        self.session = None

    def print(self, html: str, path: Path) -> None:
        # deferred: Playwright loads only when a PDF is printed (not with --no-pdf, not for --help)
        from bistand.browser import BrowserSession
        from bistand.report.pdf import render_pdf

        if self.session is None:
            self.session = BrowserSession(headless=True).start()
        render_pdf(html, path, self.session)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def assess_world(world: dict[str, Any], out: Path, mode: Mode, pdf: bool = True,
                 guideline: str = DEFAULT_GUIDELINE, norm_dir: Path = DEFAULT_NORM_DIR,
                 runner: str = "") -> dict[str, dict[str, Any]]:
    """Write every application's report files under `out`; return application_id → outcome or error.

    Each application is read, assessed, rendered and printed inside its own error handling: one
    that fails gets `{"error": ...}` in outcomes.json and a line on stderr (personnummer masked).
    `runner` names who wrote the decision records (default: host name and process id).
    """

    out.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, dict[str, Any]] = {}
    printer = _PdfPrinter() if pdf else None
    try:
        for raw in world.get("applications", []):
            application_id = str(raw.get("application_id", "?")) if isinstance(raw, dict) else "?"
            try:  # everything for one application, the report included: one bad one must not stop the others
                bundle = bundle_from_world(world, raw)
                assessment = assess(bundle, mode, norm_dir=norm_dir)
                written = write_report_and_record(bundle, assessment, reports_dir=out, records_dir=out / "records",
                                                  runner=runner or default_runner_id(), guideline=guideline,
                                                  norm_dir=norm_dir)
                if printer is not None:
                    printer.print(written.html, written.report_paths["pdf"])
            except Exception as exc:
                outcomes[application_id] = {"error": _error_text(exc)}
                print(f"{application_id}  FEL: {_error_text(exc)[:200]}", file=sys.stderr)
                continue
            outcomes[application_id] = outcome_of(assessment)
            print(f"{application_id}  {PROPOSAL_LABELS[Proposal(assessment.proposal)]}")
    finally:
        if printer is not None:
            printer.close()
    (out / "outcomes.json").write_text(json.dumps(outcomes, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return outcomes


def main(argv: list[str] | None = None) -> int:
    """The command on its own (tests, tools): the same options as in the tree."""
    parser = argparse.ArgumentParser(prog="python -m bistand report", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return report(parser.parse_args(argv))


def report(args: argparse.Namespace) -> int:
    settings = load_or_exit(guideline=args.guideline, norm_dir=args.norm_dir.resolve() if args.norm_dir else None)
    try:
        world = json.loads(args.world.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"Kan inte läsa världsfilen {args.world}: {type(exc).__name__}", file=sys.stderr)
        return ExitCode.USAGE
    outcomes = assess_world(world, args.out, Mode(args.mode), pdf=not args.no_pdf, guideline=settings.guideline,
                            norm_dir=settings.norm_dir, runner=settings.runner_id)
    failed = sum(1 for outcome in outcomes.values() if "error" in outcome)
    print(f"{len(outcomes) - failed} bedömda, {failed} fel. Rapporter: {args.out.resolve()}")
    return ExitCode.SYSTEM_FAILURES if failed else ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
