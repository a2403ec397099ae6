"""A run's verdict: its exit code (bistand.run.exit_codes) and its last line, from the run
summary the consumer suite wrote (run-summary.json in the run folder)."""

from __future__ import annotations

import json
from pathlib import Path

from bistand.report.plural import plural
from bistand.run.exit_codes import ExitCode


def verdict_of(run_dir: Path, quiet: bool = False) -> ExitCode:
    """Exit code and last line from the run summary."""
    say = (lambda _text: None) if quiet else (lambda text: print(text, flush=True))
    path = run_dir / "run-summary.json"
    if not path.exists():
        say(f"Consumer ended without a run summary: see {run_dir / 'log.html'}")
        return ExitCode.SYSTEM_FAILURES
    summary = json.loads(path.read_text(encoding="utf-8"))
    outcomes = summary.get("outcomes", {})
    if summary.get("stopped_reason"):
        say(f"Stopped: {summary['stopped_reason']}")
        return ExitCode.STOPPED
    if outcomes.get("PARKED"):
        say(f"{plural(outcomes['PARKED'], 'item')} parked (behöver åtgärd), {outcomes.get('DONE', 0)} done: "
            f"see `python -m bistand queue status`")
        return ExitCode.PARKED
    if outcomes.get("APPLICATION"):
        say(f"{plural(outcomes['APPLICATION'], 'item')} failed on a system error; the queue retries them later")
        return ExitCode.SYSTEM_FAILURES
    if not summary.get("items"):
        say("Nothing to do: no new or unfinished applications")
        return ExitCode.OK
    say(f"OK: {plural(summary.get('items', 0), 'item')} processed "
        f"({outcomes.get('DONE', 0)} done, {plural(outcomes.get('BUSINESS', 0), 'business failure')})")
    return ExitCode.OK


def stopped_reason(run_dir: Path) -> str:
    """Why the run stopped early ('' when it did not): the run summary's `stopped_reason`."""
    try:
        return str(json.loads((run_dir / "run-summary.json").read_text(encoding="utf-8")).get("stopped_reason") or "")
    except (OSError, ValueError):
        return ""
