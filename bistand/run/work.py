"""Producing and working the queue: what `python -m bistand produce`, `work` and `run` do.

- `produce`: the producer suite queues every new application of the e-service inbox (once, ever).
- `work`: one runner; the consumer suite claims due items until none is due (`until_empty`) or,
  without it, keeps polling for new items until SIGTERM. A long run is worked in several Robot
  Framework runs (rotation), each with its own log in the same run folder.

The suites reach the queue through rpaframework's work-item interface: `queue_env` sets
`RPA_WORKITEMS_ADAPTER` to this package's QueueAdapter (bistand.run.adapter).
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from bistand.bot.summary import RunSummary
from bistand.queue.store import QueueStore, open_queue
from bistand.report.plural import plural
from bistand.run.exit_codes import ExitCode
from bistand.run.suite import failure_reason, robot
from bistand.run.verdict import verdict_of
from bistand.settings import load

ADAPTER = "bistand.run.adapter.QueueAdapter"


def queue_for(env: dict[str, str]) -> QueueStore:
    """The work queue's store as the environment configures it (BISTAND_QUEUE_URL, …)."""
    settings = load(environ=env).queue
    return open_queue(settings.url, settings.retry_delays_seconds, settings.max_failures, settings.max_claims)


def queue_env(env: dict[str, str], role: str, until_empty: bool = True) -> dict[str, str]:
    """The environment that puts the robot's `RPA.Robocorp.WorkItems` on the queue."""
    env = dict(env)
    env.setdefault("BISTAND_RUNNER_ID", load(environ=env).runner_id)
    env["BISTAND_QUEUE_URL"] = load(environ=env).queue.url
    if not env.get("RC_WORKSPACE_ID"):  # under Control Room its own adapter stays
        env["RPA_WORKITEMS_ADAPTER"] = ADAPTER
    env["BISTAND_QUEUE_ROLE"] = role
    env["BISTAND_QUEUE_UNTIL_EMPTY"] = "1" if until_empty else "0"
    return env


def produce(env: dict[str, str], run_dir: Path) -> ExitCode:
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
        return ExitCode.PRODUCER
    print(f"Queued {plural(added, 'new application')}", flush=True)
    return ExitCode.OK


def work(env: dict[str, str], run_dir: Path, until_empty: bool, items: int) -> ExitCode:
    """One runner on the queue; the verdict comes from this run's summary.

    A long run is worked in several Robot Framework runs of at most `rotate_run_items` items each
    (resources/config.yaml), so no Robot Framework process, output.xml or log.html grows with the
    batch: the first writes its log in the run folder, the next ones in part-2/, part-3/, ... of
    the same folder, and the run folder's run-summary.json covers them all."""
    settings = load(environ=env)
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
    if code != 0 and verdict == ExitCode.OK:
        print(f"Consumer task failed (robot exit {code}): see {part_dir / 'log.html'}", flush=True)
        return ExitCode.SYSTEM_FAILURES
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
