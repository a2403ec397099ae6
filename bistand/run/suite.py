"""Starting one Robot Framework run of a task suite (tasks/producer.robot, tasks/consumer.robot)
in its own process, and reading why it failed from its output.xml.

The suite runs as a child process so that a run's browser, memory and output.xml end with it; a
SIGTERM to the runner is passed on, and the suite finishes the item in hand before it ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from bistand.core.personnummer import mask_personnummer_in_text
from bistand.settings import ROOT
from bistand.settings.vault import use_demo_vault


def base_env(mode: str | None) -> dict[str, str]:
    """The environment a run's suites start with: this process's, the demo vault for the demo
    only (bistand.settings.vault), the project on the Python path, and the mode when given."""
    env = dict(os.environ)
    use_demo_vault(env)  # the demo only; any other start names its vault (bistand.settings.vault)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "keywords"), env.get("PYTHONPATH")]))
    if mode:
        env["BISTAND_MODE"] = mode
    return env


def robot(suite: str, outdir: Path, env: dict[str, str], variables: dict[str, str] | None = None,
          stopping: threading.Event | None = None) -> int:
    """One Robot Framework run of a task suite; a SIGTERM meanwhile is passed on to it (the suite
    finishes its item, then ends) and sets `stopping`, so a caller starts no further run."""
    cmd = [
        sys.executable, "-m", "robot", "--outputdir", str(outdir), "--report", "NONE",
        "--console", "quiet", "--loglevel", "INFO", "--logtitle", f"bistand {suite}",
        "--pythonpath", str(ROOT), "--listener", "bistand.bot.masking.MaskingListener",
    ]
    for name, value in (variables or {}).items():
        cmd += ["--variable", f"{name}:{value}"]
    cmd.append(str(ROOT / "tasks" / f"{suite}.robot"))
    process = subprocess.Popen(cmd, cwd=ROOT, env=env)
    def stop(*_args) -> None:
        if stopping is not None:
            stopping.set()
        process.send_signal(signal.SIGTERM)

    try:  # a runner service stopped with SIGTERM: the suite finishes its item, then ends
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        previous = None
    try:
        return process.wait()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def failure_reason(output_xml: Path) -> str:
    """The first failure message of a suite run (personnummer masked, one line), so the console
    says what went wrong (e.g. which system could not be reached) instead of only "see log.html"."""
    # deferred: Robot Framework is heavy, and `python -m bistand` loads this module for every command
    from robot.api import ExecutionResult

    try:
        result = ExecutionResult(str(output_xml))
    except Exception:  # noqa: BLE001 - no or broken output.xml: nothing to add
        return ""
    suite = result.suite
    messages = [test.message for test in suite.all_tests if test.failed and test.message]
    messages += [suite.message] if suite.failed and suite.message else []
    first = next((m for m in messages if m), "")
    return (mask_personnummer_in_text(first).strip().splitlines() or [""])[0][:400]


def count_items(path: Path) -> int:
    """Applications in a stored work-items.json (a replay's total for the progress line)."""
    if not path.exists():
        return 0
    data = json.loads(path.read_text(encoding="utf-8"))
    return sum(1 for item in data if (item.get("payload") or {}).get("application_id"))
