"""Starting one Robot Framework run of a task suite (tasks/producer.robot, tasks/consumer.robot)
in its own process, and reading why it failed from its output.xml.

The suite runs as a child process so that a run's browser, memory and output.xml end with it; a
SIGTERM to the runner is passed on, and the suite finishes the item in hand before it ends.

The child gets the runner's resolved settings as one value: `child_env` writes them (with this
run's values: `settings.updated(run=..., queue=...)`) to a file of mode 0600 in the run's folder
and names it in `BISTAND_SETTINGS`; the child loads that file once (bistand.run.library) and reads
neither resources/config.yaml nor a `BISTAND_*` variable. The file holds secrets: it is removed
when the child ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from bistand.core.personnummer import mask_personnummer_in_text
from bistand.settings import ROOT, SETTINGS_VARIABLE, Settings, write_json

SETTINGS_FILE = ".settings.json"
"""In the folder of the Robot Framework run it is written for, while that run lasts."""


def child_env(settings: Settings, folder: Path, adapter: str | None = None,
              extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of one Robot Framework process: a copy of this process's (PATH, HOME, the
    browser's, Control Room's and rpaframework's variables) without the `BISTAND_*` ones, whose
    values `settings` already holds; `BISTAND_SETTINGS` naming `settings` written to `folder`; the
    project on the Python path; the work-item adapter (unless Control Room's own is in charge); and
    `extra` (what rpaframework reads itself, such as a replay's RPA_INPUT_WORKITEM_PATH)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("BISTAND_")}
    env[SETTINGS_VARIABLE] = str(write_json(settings, folder / SETTINGS_FILE))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "keywords"), env.get("PYTHONPATH")]))
    if adapter and not env.get("RC_WORKSPACE_ID"):  # under Control Room its own adapter stays
        env["RPA_WORKITEMS_ADAPTER"] = adapter
    return env | dict(extra or {})


def forget_settings(env: Mapping[str, str]) -> None:
    """The child ended: its settings file (secrets) goes."""
    with contextlib.suppress(KeyError, OSError):
        Path(env[SETTINGS_VARIABLE]).unlink()


def robot(suite: str, outdir: Path, env: dict[str, str], variables: dict[str, str] | None = None,
          stopping: threading.Event | None = None) -> int:
    """One Robot Framework run of a task suite in the environment `child_env` built; a SIGTERM
    meanwhile is passed on to it (the suite finishes its item, then ends) and sets `stopping`, so a
    caller starts no further run."""
    cmd = [
        sys.executable, "-m", "robot", "--outputdir", str(outdir), "--report", "NONE",
        "--console", "quiet", "--loglevel", "INFO", "--logtitle", f"bistand {suite}",
        "--pythonpath", str(ROOT), "--listener", "bistand.bot.masking.MaskingListener",
    ]
    for name, value in (variables or {}).items():
        cmd += ["--variable", f"{name}:{value}"]
    cmd.append(str(ROOT / "tasks" / f"{suite}.robot"))
    try:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env)
    except OSError:
        forget_settings(env)
        raise

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
        forget_settings(env)
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
