"""`python -m bistand run | produce | work | queue | replay | demo`: the bot runner's entry points.

Exit codes (the last line printed always says why):
  0  every item ended DONE or as a BUSINESS failure (or there was nothing to do)
  1  an APPLICATION (system) failure remains; the queue retries it later
  2  usage or configuration error
  3  the run stopped after too many consecutive failures of the same system
  4  another `make run` (demo) is active on this checkout (nothing was done)
  5  the producer failed (e-service unreachable?); no item was processed
  6  some items were parked (behöver åtgärd): see `python -m bistand queue status`
  7  configuration error found before start (e.g. the frames folder does not exist); nothing was done
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bistand.bot.config import ROOT, configuration_problems, load_settings
from bistand.bot.secrets import use_demo_vault, vault_problem
from bistand.monitoring.presence import RunnerPresence
from bistand.queue import cli as queue_cli
from bistand.runner.watch import add_watch_options, watch

EXIT_OK, EXIT_SYSTEM_FAILURES, EXIT_USAGE, EXIT_STOPPED, EXIT_LOCKED, EXIT_PRODUCER, EXIT_PARKED = range(7)
EXIT_CONFIG = 7


def _configuration_refused(env: dict[str, str]) -> bool:
    """Print what is wrong with the configuration (bistand.bot.config) and whether to stop."""
    problems = configuration_problems(load_settings(environ=env))
    for problem in problems:
        print(f"Configuration error: {problem}", flush=True)
    if problems:
        print("Not started: fix the configuration first", flush=True)
    return bool(problems)


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


def _count_items(path: Path) -> int:
    if not path.exists():
        return 0
    data = json.loads(path.read_text(encoding="utf-8"))
    return sum(1 for item in data if (item.get("payload") or {}).get("application_id"))


def _base_env(mode: str | None) -> dict[str, str]:
    env = dict(os.environ)
    use_demo_vault(env)  # the demo only; any other start names its vault (bistand.bot.secrets)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "keywords"), env.get("PYTHONPATH")]))
    if mode:
        env["BISTAND_MODE"] = mode
    return env


def run(mode: str | None, items: int, env: dict[str, str] | None = None) -> int:
    """Produce, then work until no item is due: what a scheduled run does."""
    env = env or _base_env(mode)
    if _configuration_refused(env):
        return EXIT_CONFIG
    env.setdefault("BISTAND_RUNNER_ID", queue_cli.runner_id(env))
    run_dir = queue_cli.new_run_dir(env, env["BISTAND_RUNNER_ID"])
    started = time.perf_counter()
    with RunnerPresence(env, "run") as presence:  # seen on the dashboard's Robotar while it runs
        code = queue_cli.produce(env, run_dir)
        if code != EXIT_OK:
            presence.run_ended(code)
            presence.exit_code = code
            return code
        verdict = queue_cli.work(env, run_dir, until_empty=True, items=items)
        presence.run_ended(verdict, stopped_reason(run_dir))
        presence.exit_code = verdict
    print(f"Total run time {time.perf_counter() - started:.1f} s", flush=True)
    queue_cli.print_paths(env, run_dir)
    queue_cli.verdict_of(run_dir)  # the verdict is the last line: repeat it after the paths
    return verdict


def stopped_reason(run_dir: Path) -> str:
    """Why the run stopped early ('' when it did not): the run summary's `stopped_reason`."""
    try:
        return str(json.loads((run_dir / "run-summary.json").read_text(encoding="utf-8")).get("stopped_reason") or "")
    except (OSError, ValueError):
        return ""


def produce(mode: str | None) -> int:
    env = _base_env(mode)
    env.setdefault("BISTAND_RUNNER_ID", queue_cli.runner_id(env))
    with RunnerPresence(env, "produce") as presence:
        presence.exit_code = queue_cli.produce(env, queue_cli.new_run_dir(env, env["BISTAND_RUNNER_ID"]))
        presence.run_ended(presence.exit_code)
    return presence.exit_code


def work(mode: str | None, until_empty: bool, items: int) -> int:
    env = _base_env(mode)
    if _configuration_refused(env):
        return EXIT_CONFIG
    env.setdefault("BISTAND_RUNNER_ID", queue_cli.runner_id(env))
    run_dir = queue_cli.new_run_dir(env, env["BISTAND_RUNNER_ID"])
    with RunnerPresence(env, "work") as presence:
        verdict = queue_cli.work(env, run_dir, until_empty, items)
        presence.run_ended(verdict, stopped_reason(run_dir))
        presence.exit_code = verdict
    queue_cli.print_paths(env, run_dir)
    queue_cli.verdict_of(run_dir)
    return verdict


def replay(path: Path, mode: str | None) -> int:
    """Processes the items of one stored work-items.json with rpaframework's FileAdapter."""
    if not path.exists():
        print(f"No such work-items file: {path}", flush=True)
        return EXIT_USAGE
    env = _base_env(mode)
    if _configuration_refused(env):
        return EXIT_CONFIG
    run_dir = queue_cli.new_run_dir(env, "replay")
    env = {**env, "RPA_WORKITEMS_ADAPTER": "RPA.Robocorp.WorkItems.FileAdapter",
           "RPA_INPUT_WORKITEM_PATH": str(path.resolve()),
           "RPA_OUTPUT_WORKITEM_PATH": str(run_dir / "consumer-out" / "work-items.json"),
           "BISTAND_RUN_DIR": str(run_dir), "BISTAND_TOTAL_ITEMS": str(_count_items(path))}
    code = robot("consumer", run_dir, env, {"ITEMS_LIMIT": "0"})
    verdict = queue_cli.verdict_of(run_dir, quiet=True)
    if code != 0 and verdict == EXIT_OK:
        verdict = EXIT_SYSTEM_FAILURES
    queue_cli.print_paths(env, run_dir)
    queue_cli.verdict_of(run_dir)
    return verdict


def _credentials_refused(env: dict[str, str]) -> bool:
    """No default credentials outside the demo: say what to configure (exit code 2)."""
    problem = vault_problem(env)
    if problem:
        print(f"Not started: {problem}", flush=True)
    return problem is not None


def main(command: str, argv: list[str]) -> int:
    if command == "queue":
        return queue_cli.main(argv, _base_env(None))
    parser = argparse.ArgumentParser(prog=f"python -m bistand {command}")
    parser.add_argument("--mode", choices=["support", "automated"], default=None)
    if command in ("run", "work"):
        parser.add_argument("--items", type=int, default=0, help="process at most N items (0: all)")
        add_watch_options(parser)
    if command == "work":
        parser.add_argument("--until-empty", action="store_true",
                            help="stop when no item is due (default: keep polling for new items until SIGTERM)")
    if command == "replay":
        parser.add_argument("work_items", type=Path, help="a work-items.json (devdata/work-items-in/<name>/)")
    if command == "demo":
        parser.add_argument("--world", type=Path, default=ROOT / "devdata" / "worlds" / "demo.json")
        parser.add_argument("--base-port", type=int, default=8400)
        parser.add_argument("--runners", type=int, default=1, help="runners working the queue at once")
    args = parser.parse_args(argv)
    if command in ("run", "produce", "work", "replay") and _credentials_refused(_base_env(args.mode)):
        return EXIT_USAGE
    if command in ("run", "work") and args.watch is not None:  # watch mode: bistand.runner.watch
        env = _base_env(args.mode)
        if _configuration_refused(env):
            return EXIT_CONFIG
        return watch(env, args.watch, args.rotate_items, args.rotate_minutes, args.health_port,
                     args.health_stale_seconds)
    if command == "run":
        return run(args.mode, args.items)
    if command == "produce":
        return produce(args.mode)
    if command == "work":
        return work(args.mode, args.until_empty, args.items)
    if command == "replay":
        return replay(args.work_items, args.mode)
    from bistand.runner.demo import demo

    return demo(args.world, args.mode, args.base_port, args.runners)
