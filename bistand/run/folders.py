"""A run's evidence folder: output/runs/<UTC time>-<runner>/, output/latest pointing at the newest,
and the lines that tell a person where the reports, records, logs and run summary are.

Nothing of an earlier run is overwritten: every run (and every watch run) gets a folder of its own.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from bistand.settings import Settings


def new_run_dir(settings: Settings, runner: str) -> Path:
    """output/runs/<UTC time>-<runner>/, and output/latest pointing at it."""
    output = settings.output_dir
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    safe_runner = re.sub(r"[^A-Za-z0-9_.-]", "_", runner)[:60]
    run_dir = output / "runs" / f"{stamp}-{safe_runner}"
    run_dir.mkdir(parents=True, exist_ok=False)
    latest = output / "latest"
    temporary = output / f".latest-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(run_dir.relative_to(output))
    os.replace(temporary, latest)  # atomic: latest always names a whole run
    return run_dir


def print_paths(settings: Settings, run_dir: Path) -> None:
    """Where a person finds what the run wrote."""
    print(f"Reports:     {settings.reports_dir}", flush=True)
    print(f"Records:     {settings.records_dir}  (python -m bistand records verify | explain --all)", flush=True)
    logs = [p for p in (run_dir / "producer" / "log.html", run_dir / "log.html", *sorted(
        run_dir.glob("part-*/log.html"), key=lambda p: int(p.parent.name.removeprefix("part-")))) if p.exists()]
    print(f"Logs:        {'  '.join(str(p) for p in logs)}", flush=True)
    print(f"Run summary: {run_dir / 'run-summary.json'}  {run_dir / 'run-summary.xlsx'}", flush=True)
