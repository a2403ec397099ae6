"""`python -m bistand run | replay | demo`: the bot runner's entry points.

Exit codes (the last line printed always says why):
  0  every item ended DONE or as a BUSINESS failure (or there was nothing to do)
  1  an APPLICATION (system) failure remains; the next run retries it
  2  usage or configuration error
  3  the run stopped after too many consecutive system errors
  4  another run is active (nothing was done)
  5  the producer failed (e-service unreachable?); no item was processed
  6  configuration error found before start (e.g. the frames folder does not exist); nothing was done
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bistand.bot.config import ROOT, configuration_problems, load_settings
from bistand.bot.lock import RunLock, RunLocked
from bistand.bot.summary import RunSummary

EXIT_OK, EXIT_SYSTEM_FAILURES, EXIT_USAGE, EXIT_STOPPED, EXIT_LOCKED, EXIT_PRODUCER = 0, 1, 2, 3, 4, 5
EXIT_CONFIG = 6


def _configuration_refused(settings) -> bool:
    """Print what is wrong with the configuration (bistand.bot.config) and whether to stop."""
    problems = configuration_problems(settings)
    for problem in problems:
        print(f"Configuration error: {problem}", flush=True)
    if problems:
        print("Not started: fix the configuration first", flush=True)
    return bool(problems)


def _robot(suite: str, outdir: Path, env: dict[str, str], variables: dict[str, str] | None = None) -> int:
    cmd = [
        sys.executable, "-m", "robot", "--outputdir", str(outdir), "--report", "NONE",
        "--console", "quiet", "--loglevel", "INFO", "--logtitle", f"bistand {suite}",
        "--pythonpath", str(ROOT), "--pythonpath", str(ROOT / "keywords"),
    ]
    for name, value in (variables or {}).items():
        cmd += ["--variable", f"{name}:{value}"]
    cmd.append(str(ROOT / "tasks" / f"{suite}.robot"))
    return subprocess.call(cmd, cwd=ROOT, env=env)


def _count_items(path: Path) -> int:
    if not path.exists():
        return 0
    data = json.loads(path.read_text(encoding="utf-8"))
    return sum(1 for item in data if (item.get("payload") or {}).get("application_id"))


def _base_env(mode: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("RC_WORKSPACE_ID"):  # local run: work items in files, not Control Room
        env.setdefault("RPA_WORKITEMS_ADAPTER", "RPA.Robocorp.WorkItems.FileAdapter")
    env.setdefault("RPA_SECRET_MANAGER", "RPA.Robocorp.Vault.FileSecrets")
    env.setdefault("RPA_SECRET_FILE", str(ROOT / "devdata" / "vault.json"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "keywords"), env.get("PYTHONPATH")]))
    if mode:
        env["BISTAND_MODE"] = mode
    return env


def _consume(input_path: Path, run_dir: Path, env: dict[str, str], limit: int, total: int) -> int:
    settings = load_settings(environ=env)
    summary_path = settings.output_dir / "run-summary.json"
    summary_path.unlink(missing_ok=True)
    env = {**env, "RPA_INPUT_WORKITEM_PATH": str(input_path),
           "RPA_OUTPUT_WORKITEM_PATH": str(run_dir / "consumer-out" / "work-items.json"),
           "BISTAND_TOTAL_ITEMS": str(min(total, limit) if limit else total)}
    code = _robot("consumer", settings.output_dir / "consumer", env, {"ITEMS_LIMIT": str(limit)})
    verdict = _verdict(summary_path)
    if code != 0 and verdict == EXIT_OK:
        print(f"Consumer task failed (robot exit {code}): see {settings.output_dir / 'consumer' / 'log.html'}",
              flush=True)
        return EXIT_SYSTEM_FAILURES
    return verdict


def _verdict(summary_path: Path) -> int:
    if not summary_path.exists():
        print("Consumer ended without a run summary: see output/consumer/log.html", flush=True)
        return EXIT_SYSTEM_FAILURES
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    outcomes = summary.get("outcomes", {})
    if summary.get("stopped_reason"):
        print(f"Stopped: {summary['stopped_reason']}", flush=True)
        return EXIT_STOPPED
    if outcomes.get("APPLICATION"):
        print(f"{outcomes['APPLICATION']} item(s) failed on a system error; the next run retries them", flush=True)
        return EXIT_SYSTEM_FAILURES
    print(f"OK: {summary.get('items', 0)} item(s) processed "
          f"({outcomes.get('DONE', 0)} done, {outcomes.get('BUSINESS', 0)} business failures)", flush=True)
    return EXIT_OK


def _print_paths(settings, producer: bool = True) -> None:
    out = settings.output_dir
    print(f"Reports:     {settings.reports_dir}", flush=True)
    logs = [out / "producer" / "log.html"] if producer else []
    print(f"Logs:        {'  '.join(str(p) for p in [*logs, out / 'consumer' / 'log.html'])}", flush=True)
    print(f"Run summary: {out / 'run-summary.json'}  {out / 'run-summary.xlsx'}", flush=True)


def run(mode: str | None, items: int) -> int:
    env = _base_env(mode)
    settings = load_settings(environ=env)
    try:
        lock = RunLock(settings.state_dir / "run.lock").acquire()
    except RunLocked as exc:
        print(f"Not started: {exc}", flush=True)
        return EXIT_LOCKED
    try:
        if _configuration_refused(settings):  # after the lock: an overlapping run stays exit 4
            return EXIT_CONFIG
        run_dir = settings.output_dir / "work-items" / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        produced = run_dir / "producer-out" / "work-items.json"
        env["RPA_OUTPUT_WORKITEM_PATH"] = str(produced)
        trigger = run_dir / "producer-in" / "work-items.json"  # the producer's one (empty) input item
        trigger.parent.mkdir(parents=True, exist_ok=True)
        trigger.write_text('[{"payload": {}, "files": {}}]\n', encoding="utf-8")
        env["RPA_INPUT_WORKITEM_PATH"] = str(trigger)
        started = time.perf_counter()
        code = _robot("producer", settings.output_dir / "producer", env)
        if code != 0:
            print(f"Producer failed (robot exit {code}): see {settings.output_dir / 'producer' / 'log.html'}")
            print("Stopped: the producer could not queue the inbox", flush=True)
            return EXIT_PRODUCER
        total = _count_items(produced)
        if total == 0:
            empty = RunSummary(mode=settings.mode.value, started_at=datetime.now(UTC))
            empty.finished_at = empty.started_at
            empty.write(settings.output_dir)
            print("Nothing to do: no new or unfinished applications", flush=True)
            return EXIT_OK
        verdict = _consume(produced, run_dir, env, items, total)
        print(f"Total run time {time.perf_counter() - started:.1f} s", flush=True)
        _print_paths(settings)
        # The verdict line is the last line: repeat it after the paths.
        return _verdict_last(settings, verdict)
    finally:
        lock.release()


def _verdict_last(settings, verdict: int) -> int:
    summary_path = settings.output_dir / "run-summary.json"
    if summary_path.exists():
        _verdict(summary_path)
    return verdict


def replay(path: Path, mode: str | None) -> int:
    if not path.exists():
        print(f"No such work-items file: {path}", flush=True)
        return EXIT_USAGE
    env = _base_env(mode)
    settings = load_settings(environ=env)
    try:
        lock = RunLock(settings.state_dir / "run.lock").acquire()
    except RunLocked as exc:
        print(f"Not started: {exc}", flush=True)
        return EXIT_LOCKED
    try:
        if _configuration_refused(settings):  # after the lock: an overlapping run stays exit 4
            return EXIT_CONFIG
        run_dir = settings.output_dir / "work-items" / ("replay-" + datetime.now().strftime("%Y%m%d-%H%M%S-%f"))
        verdict = _consume(path.resolve(), run_dir, env, 0, _count_items(path))
        _print_paths(settings, producer=False)
        return _verdict_last(settings, verdict)
    finally:
        lock.release()


def main(command: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m bistand {command}")
    parser.add_argument("--mode", choices=["support", "automated"], default=None)
    if command == "run":
        parser.add_argument("--items", type=int, default=0, help="process at most N items (0: all)")
    if command == "replay":
        parser.add_argument("work_items", type=Path, help="a work-items.json (devdata/work-items-in/<name>/)")
    if command == "demo":
        parser.add_argument("--world", type=Path, default=ROOT / "devdata" / "worlds" / "demo.json")
        parser.add_argument("--base-port", type=int, default=8400)
    args = parser.parse_args(argv)
    if command == "run":
        return run(args.mode, args.items)
    if command == "replay":
        return replay(args.work_items, args.mode)
    from bistand.runner.demo import demo

    return demo(args.world, args.mode, args.base_port)

