"""`python -m bistand queue status | retry | skip`: the operator's view of the work queue and
the actions on its items (the state table in bistand.queue.states decides which are allowed)."""

from __future__ import annotations

import argparse
import json
import time

from bistand.monitoring.clock import TIMEZONE, local_midnight
from bistand.monitoring.runners import STATUS_LABELS, list_runners
from bistand.queue.states import LABELS
from bistand.queue.store import ActionRefused
from bistand.report.plural import plural
from bistand.run.exit_codes import ExitCode
from bistand.run.work import queue_for
from bistand.settings import Settings, load_or_exit


def status(settings: Settings, as_json: bool) -> int:
    store = queue_for(settings)
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
        return ExitCode.OK
    counted = {**LABELS, "done": "klara", "skipped": "hoppade över"}  # the line counts: plural forms
    print("  ".join(f"{counted[state]} {count}" for state, count in counts.items()))
    if data["next_try_at"]:
        wait = max(0.0, data["next_try_at"] - time.time())
        print(f"nästa försök om {wait:.0f} s")
    for item in data["parked"]:
        print(f"behöver åtgärd  {item['application_id']}  {item['code']}  {item['message']}")
    for runner in data["runners"]:
        print(runner_line(runner))
    return ExitCode.OK


def runner_json(view) -> dict:
    """A runner as `queue status --json` gives it (the same figures as the dashboard's Robotar)."""
    return {"runner": view.runner_id, "host": view.host, "pid": view.pid, "version": view.version,
            "mode": view.mode, "status": view.status, "started_at": view.started_at,
            "last_seen_at": view.last_seen_at, "items_held": view.held_now, "finished_today": view.finished_today,
            "exit_code": view.exit_code, "last_run_code": view.last_run_code,
            "items": [item.model_dump() for item in view.items]}


def runner_line(runner: dict) -> str:
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


def register(commands: argparse._SubParsersAction) -> None:
    """`queue status | retry | skip` in `python -m bistand`'s command tree."""
    parser = commands.add_parser("queue", help="status [--json] | retry ID|--all-parked | skip ID --reason TEXT",
                                 description=" ".join(__doc__.split()))
    actions = parser.add_subparsers(dest="command", required=True)
    status_parser = actions.add_parser("status", help="counts per state and the parked items")
    status_parser.add_argument("--json", action="store_true")
    retry_parser = actions.add_parser("retry", help="put a parked, failed or skipped item back in the queue "
                                                    "(its count of tries is kept: one more try)")
    which = retry_parser.add_mutually_exclusive_group(required=True)
    which.add_argument("application_id", nargs="?")
    which.add_argument("--all-parked", action="store_true")
    skip_parser = actions.add_parser("skip", help="never process a pending, parked or failed item (handled by hand)")
    skip_parser.add_argument("application_id")
    skip_parser.add_argument("--reason", required=True)
    parser.set_defaults(handler=lambda args: queue_command(args, load_or_exit()))


def queue_command(args: argparse.Namespace, settings: Settings) -> int:
    """`queue status|retry|skip`; a refused action says why and exits 2."""
    if args.command == "status":
        return status(settings, args.json)
    store = queue_for(settings)
    try:
        if args.command == "retry" and args.all_parked:
            print(f"{plural(store.retry_all_parked(), 'parked item')} back in the queue")
            return ExitCode.OK
        if args.command == "retry":
            store.retry(args.application_id)
            print(f"{args.application_id} back in the queue")
            return ExitCode.OK
        store.skip(args.application_id, args.reason)
        print(f"{args.application_id} skipped")
        return ExitCode.OK
    except ActionRefused as refused:  # the state table does not allow it: say why
        print(f"Vägrades: {refused}")
        return ExitCode.USAGE
    finally:
        store.close()
