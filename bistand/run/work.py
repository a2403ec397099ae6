"""Producing and working the queue: what `python -m bistand produce`, `work` and `run` do.

- `produce`: the producer suite queues every new application of the e-service inbox (once, ever).
- `work`: one runner; the consumer suite claims due items until none is due (`until_empty`) or,
  without it, keeps polling for new items until SIGTERM. A long run is worked in several Robot
  Framework runs (rotation), each with its own log in the same run folder.

The suites reach the queue through rpaframework's work-item interface: `RPA_WORKITEMS_ADAPTER`
names this package's QueueAdapter (bistand.run.adapter), and the settings the run is handed
(bistand.run.suite.child_env) say its side of the queue (`queue.role`, `queue.until_empty`) and the
run's values (`run.dir`, `run.total_items`, `run.items_before`).
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
from bistand.run.suite import child_env, failure_reason, robot
from bistand.run.verdict import verdict_of
from bistand.settings import Settings

ADAPTER = "bistand.run.adapter.QueueAdapter"


def queue_for(settings: Settings) -> QueueStore:
    """The work queue's store as the settings configure it (queue.url, …)."""
    queue = settings.queue
    return open_queue(queue.url, queue.retry_delays_seconds, queue.max_failures, queue.max_claims)


def produce(settings: Settings, run_dir: Path) -> ExitCode:
    store = queue_for(settings)
    before = sum(store.counts().values())
    producer = settings.updated(queue={"role": "producer"})
    code = robot("producer", run_dir / "producer", child_env(producer, run_dir / "producer", ADAPTER))
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


def work(settings: Settings, run_dir: Path, until_empty: bool, items: int) -> ExitCode:
    """One runner on the queue; the verdict comes from this run's summary.

    A long run is worked in several Robot Framework runs of at most `rotate_run_items` items each
    (resources/config.yaml), so no Robot Framework process, output.xml or log.html grows with the
    batch: the first writes its log in the run folder, the next ones in part-2/, part-3/, ... of
    the same folder, and the run folder's run-summary.json covers them all."""
    store = queue_for(settings)
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
        part = settings.updated(run={"dir": str(part_dir), "total_items": total, "items_before": done},
                                queue={"role": "consumer", "until_empty": until_empty})
        code = robot("consumer", part_dir, child_env(part, part_dir, ADAPTER), {"ITEMS_LIMIT": str(limit)},
                     stopping=stopping)
        summary_path = part_dir / "run-summary.json"
        if not summary_path.exists():
            break  # the part ended without a summary: its log says why
        summary = RunSummary.read(summary_path)
        parts[os.path.relpath(part_dir, run_dir)] = summary
        done += len(summary.items)
        if items and done >= items:
            break
        if not another_part_due(limit, len(summary.items), summary.stopped_reason, stopping.is_set(),
                                until_empty, settings):
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
                     settings: Settings) -> bool:
    """Whether a batch run goes on in a new Robot Framework run: the last one ended at its rotation
    limit (not stopped, not out of items), and with `--until-empty` the queue still has items."""
    if stopping or stopped_reason or not limit or processed < limit:
        return False
    if not until_empty:
        return True
    store = queue_for(settings)
    try:
        return store.ready_count() + store.counts()["in_progress"] > 0
    finally:
        store.close()
