"""`python -m bistand produce | work | queue ...`: the queue's commands (exit codes: bistand.runner.cli).

- `produce`: the producer suite queues every new application of the e-service inbox (once, ever).
- `work [--until-empty] [--items N]`: one runner; claims due items until none is due
  (`--until-empty`) or, without it, keeps polling for new items until SIGTERM.
- `queue status [--json]`, `queue retry ID|--all-parked`, `queue skip ID --reason TEXT`.

Each run writes its evidence under output/runs/<UTC time>-<runner>/ and points output/latest
at it; nothing of an earlier run is overwritten.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bistand.bot.config import load_settings
from bistand.bot.summary import RunSummary
from bistand.core.personnummer import mask_personnummer_in_text
from bistand.queue.config import load_queue_settings, runner_id
from bistand.queue.states import LABELS
from bistand.queue.store import ActionRefused, QueueStore, open_queue
from bistand.report.plural import plural

EXIT_OK, EXIT_SYSTEM_FAILURES, EXIT_USAGE, EXIT_STOPPED, EXIT_LOCKED, EXIT_PRODUCER, EXIT_PARKED = range(7)
ADAPTER = "bistand.queue.adapter.QueueAdapter"


def queue_for(env: dict[str, str]) -> QueueStore:
    settings = load_queue_settings(env)
    return open_queue(settings.url, settings.retry_delays_seconds, settings.max_failures, settings.max_claims)


def queue_env(env: dict[str, str], role: str, until_empty: bool = True) -> dict[str, str]:
    """The environment that puts the robot's `RPA.Robocorp.WorkItems` on the queue."""
    env = dict(env)
    env.setdefault("BISTAND_RUNNER_ID", runner_id(env))
    env["BISTAND_QUEUE_URL"] = load_queue_settings(env).url
    if not env.get("RC_WORKSPACE_ID"):  # under Control Room its own adapter stays
        env["RPA_WORKITEMS_ADAPTER"] = ADAPTER
    env["BISTAND_QUEUE_ROLE"] = role
    env["BISTAND_QUEUE_UNTIL_EMPTY"] = "1" if until_empty else "0"
    return env


def new_run_dir(env: dict[str, str], runner: str) -> Path:
    """output/runs/<UTC time>-<runner>/, and output/latest pointing at it."""
    output = load_settings(environ=env).output_dir
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


def produce(env: dict[str, str], run_dir: Path) -> int:
    from bistand.runner.cli import robot

    store = queue_for(env)
    before = sum(store.counts().values())
    code = robot("producer", run_dir / "producer", queue_env(env, "producer"))
    added = sum(store.counts().values()) - before
    store.close()
    if code != 0:
        reason = failure_reason(run_dir / "producer" / "output.xml")
        if reason:
            print(f"Producer error: {reason}", flush=True)
        print(f"Producer failed (robot exit {code}): see {run_dir / 'producer' / 'log.html'}", flush=True)
        print("Stopped: the producer could not queue the inbox", flush=True)
        return EXIT_PRODUCER
    print(f"Queued {plural(added, 'new application')}", flush=True)
    return EXIT_OK


def failure_reason(output_xml: Path) -> str:
    """The first failure message of a suite run (personnummer masked, one line), so the console
    says what went wrong (e.g. which system could not be reached) instead of only "see log.html"."""
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


def work(env: dict[str, str], run_dir: Path, until_empty: bool, items: int) -> int:
    """One runner on the queue; the verdict comes from this run's summary.

    A long run is worked in several Robot Framework runs of at most `rotate_run_items` items each
    (resources/config.yaml), so no Robot Framework process, output.xml or log.html grows with the
    batch: the first writes its log in the run folder, the next ones in part-2/, part-3/, ... of
    the same folder, and the run folder's run-summary.json covers them all."""
    from bistand.runner.cli import robot

    settings = load_settings(environ=env)
    store = queue_for(env)
    due = store.ready_count()
    in_progress = store.counts()["in_progress"]
    store.close()
    if until_empty and due + in_progress == 0:
        empty = RunSummary(mode=settings.mode.value, started_at=datetime.now(UTC))
        empty.finished_at = empty.started_at
        empty.write(run_dir)
        return verdict_of(run_dir)
    total = min(due + in_progress, items) if items else due + in_progress
    stopping = threading.Event()
    parts: dict[str, RunSummary] = {}
    done = 0
    while True:
        part_dir = run_dir if not parts else run_dir / f"part-{len(parts) + 1}"
        limit = part_limit(settings.rotate_run_items, items, done)
        part_env = {**queue_env(env, "consumer", until_empty), "BISTAND_RUN_DIR": str(part_dir),
                    "BISTAND_TOTAL_ITEMS": str(total), "BISTAND_ITEMS_BEFORE": str(done)}
        code = robot("consumer", part_dir, part_env, {"ITEMS_LIMIT": str(limit)}, stopping=stopping)
        summary_path = part_dir / "run-summary.json"
        if not summary_path.exists():
            break  # the part ended without a summary: its log says why
        summary = RunSummary.read(summary_path)
        parts[os.path.relpath(part_dir, run_dir)] = summary
        done += len(summary.items)
        if items and done >= items:
            break
        if not another_part_due(limit, len(summary.items), summary.stopped_reason, stopping.is_set(),
                                until_empty, env):
            break
    if len(parts) > 1:
        RunSummary.combined(parts).write(run_dir)
    verdict = verdict_of(run_dir)
    if code != 0 and verdict == EXIT_OK:
        print(f"Consumer task failed (robot exit {code}): see {part_dir / 'log.html'}", flush=True)
        return EXIT_SYSTEM_FAILURES
    return verdict


def part_limit(rotate_items: int, items: int, done: int) -> int:
    """Items for the next Robot Framework run of a batch run: the rotation's and what is left of
    `--items` (0: no limit)."""
    limits = [limit for limit in (rotate_items, items - done if items else 0) if limit > 0]
    return min(limits) if limits else 0


def another_part_due(limit: int, processed: int, stopped_reason: str, stopping: bool, until_empty: bool,
                     env: dict[str, str]) -> bool:
    """Whether a batch run goes on in a new Robot Framework run: the last one ended at its rotation
    limit (not stopped, not out of items), and with `--until-empty` the queue still has items."""
    if stopping or stopped_reason or not limit or processed < limit:
        return False
    if not until_empty:
        return True
    store = queue_for(env)
    try:
        return store.ready_count() + store.counts()["in_progress"] > 0
    finally:
        store.close()


def verdict_of(run_dir: Path, quiet: bool = False) -> int:
    """Exit code and last line from the run summary (see the exit codes in bistand.runner.cli)."""
    say = (lambda _text: None) if quiet else (lambda text: print(text, flush=True))
    path = run_dir / "run-summary.json"
    if not path.exists():
        say(f"Consumer ended without a run summary: see {run_dir / 'log.html'}")
        return EXIT_SYSTEM_FAILURES
    summary = json.loads(path.read_text(encoding="utf-8"))
    outcomes = summary.get("outcomes", {})
    if summary.get("stopped_reason"):
        say(f"Stopped: {summary['stopped_reason']}")
        return EXIT_STOPPED
    if outcomes.get("PARKED"):
        say(f"{plural(outcomes['PARKED'], 'item')} parked (behöver åtgärd), {outcomes.get('DONE', 0)} done: "
            f"see `python -m bistand queue status`")
        return EXIT_PARKED
    if outcomes.get("APPLICATION"):
        say(f"{plural(outcomes['APPLICATION'], 'item')} failed on a system error; the queue retries them later")
        return EXIT_SYSTEM_FAILURES
    if not summary.get("items"):
        say("Nothing to do: no new or unfinished applications")
        return EXIT_OK
    say(f"OK: {plural(summary.get('items', 0), 'item')} processed "
        f"({outcomes.get('DONE', 0)} done, {plural(outcomes.get('BUSINESS', 0), 'business failure')})")
    return EXIT_OK


def print_paths(env: dict[str, str], run_dir: Path) -> None:
    settings = load_settings(environ=env)
    print(f"Reports:     {settings.reports_dir}", flush=True)
    print(f"Records:     {settings.records_dir}  (python -m bistand records verify | explain --all)", flush=True)
    logs = [p for p in (run_dir / "producer" / "log.html", run_dir / "log.html", *sorted(
        run_dir.glob("part-*/log.html"), key=lambda p: int(p.parent.name.removeprefix("part-")))) if p.exists()]
    print(f"Logs:        {'  '.join(str(p) for p in logs)}", flush=True)
    print(f"Run summary: {run_dir / 'run-summary.json'}  {run_dir / 'run-summary.xlsx'}", flush=True)


def status(env: dict[str, str], as_json: bool) -> int:
    from bistand.dashboard.stats import TIMEZONE
    from bistand.monitoring.runners import list_runners, local_midnight

    store = queue_for(env)
    counts = store.counts()
    parked = store.items("parked")
    pending = store.items("pending")
    runners = list_runners(store, day_start=local_midnight(time.time(), TIMEZONE))
    store.close()
    data = {
        "counts": counts,
        "parked": [{"application_id": i.application_id, "code": i.error_code, "message": i.error_message,
                    "failures": i.failures, "claims": i.claims} for i in parked],
        "next_try_at": min((i.next_try_at for i in pending), default=None),
        "runners": [runner_json(r) for r in runners],
    }
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return EXIT_OK
    counted = {**LABELS, "done": "klara", "skipped": "hoppade över"}  # the line counts: plural forms
    print("  ".join(f"{counted[state]} {count}" for state, count in counts.items()))
    if data["next_try_at"]:
        wait = max(0.0, data["next_try_at"] - time.time())
        print(f"nästa försök om {wait:.0f} s")
    for item in data["parked"]:
        print(f"behöver åtgärd  {item['application_id']}  {item['code']}  {item['message']}")
    for runner in data["runners"]:
        print(runner_line(runner))
    return EXIT_OK


def runner_json(view) -> dict:
    """A runner as `queue status --json` gives it (the same figures as the dashboard's Robotar)."""
    return {"runner": view.runner_id, "host": view.host, "pid": view.pid, "version": view.version,
            "mode": view.mode, "status": view.status, "started_at": view.started_at,
            "last_seen_at": view.last_seen_at, "items_held": view.held_now, "finished_today": view.finished_today,
            "exit_code": view.exit_code, "last_run_code": view.last_run_code,
            "items": [item.model_dump() for item in view.items]}


def runner_line(runner: dict) -> str:
    from bistand.monitoring.runners import STATUS_LABELS

    state = STATUS_LABELS[runner["status"]].lower()
    if runner["status"] == "stopped":
        state += f" (kod {runner['exit_code']})"
    seen = max(0.0, time.time() - runner["last_seen_at"])
    line = (f"robot  {runner['runner']}  {state}  {runner['mode']}  värd {runner['host']} pid {runner['pid']}  "
            f"hörd för {seen:.0f} s sedan  i hand {runner['items_held']}  klara i dag {runner['finished_today']}")
    taken = [f"{i['application_id']} → {i['holder']}" for i in runner["items"] if i["fate"] == "taken_over"]
    if taken:
        line += "  övertagna: " + ", ".join(taken)
    return line


def main(argv: list[str], env: dict[str, str]) -> int:
    """`queue status|retry|skip`."""
    parser = argparse.ArgumentParser(prog="python -m bistand queue")
    commands = parser.add_subparsers(dest="command", required=True)
    status_parser = commands.add_parser("status", help="counts per state and the parked items")
    status_parser.add_argument("--json", action="store_true")
    retry_parser = commands.add_parser("retry", help="put a parked, failed or skipped item back in the queue "
                                                     "(its count of tries is kept: one more try)")
    which = retry_parser.add_mutually_exclusive_group(required=True)
    which.add_argument("application_id", nargs="?")
    which.add_argument("--all-parked", action="store_true")
    skip_parser = commands.add_parser("skip", help="never process a pending, parked or failed item (handled by hand)")
    skip_parser.add_argument("application_id")
    skip_parser.add_argument("--reason", required=True)
    args = parser.parse_args(argv)
    if args.command == "status":
        return status(env, args.json)
    store = queue_for(env)
    try:
        if args.command == "retry" and args.all_parked:
            print(f"{plural(store.retry_all_parked(), 'parked item')} back in the queue")
            return EXIT_OK
        if args.command == "retry":
            store.retry(args.application_id)
            print(f"{args.application_id} back in the queue")
            return EXIT_OK
        store.skip(args.application_id, args.reason)
        print(f"{args.application_id} skipped")
        return EXIT_OK
    except ActionRefused as refused:  # the state table does not allow it: say why
        print(f"Vägrades: {refused}")
        return EXIT_USAGE
    finally:
        store.close()
