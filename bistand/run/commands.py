"""What each run command does once its options are parsed (bistand.run.cli parses them): a
scheduled `run` (produce, then work until no item is due), `produce`, `work` and `replay`, each
seen on the dashboard's Robotar while it runs (bistand.monitoring.presence), each ending with the
verdict as its last line and exit code (bistand.run.verdict, bistand.run.exit_codes)."""

from __future__ import annotations

import time
from pathlib import Path

from bistand.monitoring.presence import RunnerPresence
from bistand.run.exit_codes import ExitCode
from bistand.run.folders import new_run_dir, print_paths
from bistand.run.suite import child_env, count_items, robot
from bistand.run.verdict import stopped_reason, verdict_of
from bistand.run.work import produce as produce_queue
from bistand.run.work import work as work_queue
from bistand.settings import Settings
from bistand.settings.vault import problem as vault_problem


def configuration_refused(settings: Settings) -> bool:
    """Print what is wrong with the configuration (Settings.configuration_problems) and whether to stop."""
    problems = settings.configuration_problems()
    for problem in problems:
        print(f"Configuration error: {problem}", flush=True)
    if problems:
        print("Not started: fix the configuration first", flush=True)
    return bool(problems)


def run(settings: Settings, items: int) -> int:
    """Produce, then work until no item is due: what a scheduled run does."""
    if configuration_refused(settings):
        return ExitCode.CONFIG
    run_dir = new_run_dir(settings, settings.runner_id)
    started = time.perf_counter()
    with RunnerPresence(settings, "run") as presence:  # seen on the dashboard's Robotar while it runs
        code = produce_queue(settings, run_dir)
        if code != ExitCode.OK:
            presence.run_ended(code)
            presence.exit_code = code
            return code
        verdict = work_queue(settings, run_dir, until_empty=True, items=items)
        presence.run_ended(verdict, stopped_reason(run_dir))
        presence.exit_code = verdict
    print(f"Total run time {time.perf_counter() - started:.1f} s", flush=True)
    print_paths(settings, run_dir)
    verdict_of(run_dir)  # the verdict is the last line: repeat it after the paths
    return verdict


def produce(settings: Settings) -> int:
    with RunnerPresence(settings, "produce") as presence:
        presence.exit_code = produce_queue(settings, new_run_dir(settings, settings.runner_id))
        presence.run_ended(presence.exit_code)
    return presence.exit_code


def work(settings: Settings, until_empty: bool, items: int) -> int:
    if configuration_refused(settings):
        return ExitCode.CONFIG
    run_dir = new_run_dir(settings, settings.runner_id)
    with RunnerPresence(settings, "work") as presence:
        verdict = work_queue(settings, run_dir, until_empty, items)
        presence.run_ended(verdict, stopped_reason(run_dir))
        presence.exit_code = verdict
    print_paths(settings, run_dir)
    verdict_of(run_dir)
    return verdict


def replay(settings: Settings, path: Path) -> int:
    """Processes the items of one stored work-items.json with rpaframework's FileAdapter."""
    if not path.exists():
        print(f"No such work-items file: {path}", flush=True)
        return ExitCode.USAGE
    if configuration_refused(settings):
        return ExitCode.CONFIG
    run_dir = new_run_dir(settings, "replay")
    replayed = settings.updated(run={"dir": str(run_dir), "total_items": count_items(path)})
    env = child_env(replayed, run_dir, extra={  # rpaframework's FileAdapter reads these itself
        "RPA_WORKITEMS_ADAPTER": "RPA.Robocorp.WorkItems.FileAdapter",
        "RPA_INPUT_WORKITEM_PATH": str(path.resolve()),
        "RPA_OUTPUT_WORKITEM_PATH": str(run_dir / "consumer-out" / "work-items.json")})
    code = robot("consumer", run_dir, env, {"ITEMS_LIMIT": "0"})
    verdict = verdict_of(run_dir, quiet=True)
    if code != 0 and verdict == ExitCode.OK:
        verdict = ExitCode.SYSTEM_FAILURES
    print_paths(settings, run_dir)
    verdict_of(run_dir)
    return verdict


def credentials_refused(settings: Settings) -> bool:
    """No default credentials outside the demo: say what to configure (exit code 2)."""
    problem = vault_problem(settings.vault, settings.demo)
    if problem:
        print(f"Not started: {problem}", flush=True)
    return problem is not None
