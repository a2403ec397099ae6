"""The consumer's work items in watch mode: the queue, and the e-service inbox when it is empty.

`RPA_WORKITEMS_ADAPTER=bistand.run.watch_adapter.WatchAdapter` (set by `python -m bistand work
--watch N`). One long-lived consumer run keeps its browser and its logins warm: whenever it asks
for the next item it first queues what is new in the inbox (at most every N seconds; the same
payload and status change as the producer suite), then claims from the queue as the
QueueAdapter does. With nothing due it waits N seconds and looks again.

It ends the run (no more items) on SIGTERM, once the item in hand is finished, or when the run is
old enough to be rotated (`watch.rotate_minutes`); the watcher then starts the next run
with its own evidence folder. A queue database that does not answer (a PostgreSQL restart) or an
inbox that does not answer (a portal outage) is logged without personal data and tried again
later with a growing pause; items wait in the queue meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from pathlib import Path

from RPA.Robocorp.WorkItems import EmptyQueue

from bistand.bot.context import RunContext
from bistand.bot.inbox import mark_queued, new_applications
from bistand.report.plural import plural
from bistand.run.adapter import QueueAdapter, robot_was_asked_to_stop
from bistand.settings import Settings

LOG = logging.getLogger(__name__)
MAX_PAUSE_SECONDS = 300.0


class WatchRunEnds(EmptyQueue):
    """No more items for this run: SIGTERM, or time to rotate."""


class _RunEndIsNoWarning(logging.Filter):
    """rpaframework warns when its first (automatic) item request finds none; for a watch run that
    ended idle (rotation, SIGTERM) that is the normal end, not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(arg, WatchRunEnds) for arg in args)


class WatchAdapter(QueueAdapter):
    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self.ctx: RunContext | None = None
        """The run's context (its browser and logins), given by the run core's library when it builds
        the run (bistand.run.library): the adapter shares them rather than holding state of its own."""
        logging.getLogger().addFilter(_RunEndIsNoWarning())
        self.until_empty = True  # the wait for new items is ours (below), not the QueueAdapter's
        self.poll_seconds = self.settings.watch_poll_seconds
        self.rotate_after = self.settings.watch.rotate_minutes * 60
        self.started = time.monotonic()
        self.last_inbox_poll = float("-inf")
        self.first_call = True
        self.pause = 0.0
        alive = self.settings.watch.alive_file
        self.alive_file = Path(alive) if alive else None
        """Touched whenever the run looks for work or releases an item: the watcher's health check."""
        if self.role == "consumer":  # the watcher's SIGTERM, or Ctrl-C in a terminal: finish the item
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self._stop.set())
            if robot_was_asked_to_stop():  # the signal came while the run was starting
                self._stop.set()

    def use_run_context(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def reserve_input(self) -> str:
        if self.role != "consumer":
            return super().reserve_input()
        if self.first_call:
            self.first_call = False
            self._log_in_everywhere()
        while not self._stop.is_set() and time.monotonic() - self.started < self.rotate_after:
            self._show_progress()
            self._queue_new_applications()
            try:
                return super().reserve_input()  # claims a due item; waits out others' leases
            except EmptyQueue:
                self.pause = 0.0
            except Exception as exc:  # noqa: BLE001 - the queue's database is away: wait, try again
                self.pause = min(max(2 * self.pause, self.poll_seconds), MAX_PAUSE_SECONDS)
                LOG.warning("work queue not reachable (%s); next try in %.0f s", type(exc).__name__, self.pause)
            self._stop.wait(self.pause or self.poll_seconds)
        raise WatchRunEnds("watch run ends (SIGTERM or rotation)")

    def release_input(self, item_id, state, exception=None) -> None:
        super().release_input(item_id, state, exception)
        self._show_progress()

    def _show_progress(self) -> None:
        if self.alive_file is not None:
            with contextlib.suppress(OSError):  # the health check then reads the run as quiet
                self.alive_file.touch()

    def _log_in_everywhere(self) -> None:
        """Warm sessions before the first wait (the suite asks for its first item before its
        login keyword runs); a refusal is left to that keyword to report."""
        ctx = self.ctx
        if ctx is None:  # not built by the run core's library: the suite's login keyword logs in
            return
        try:
            ctx.run(ctx.log_in_everywhere(), timeout=120)
        except Exception as exc:  # noqa: BLE001 - the browser did not start: the suite reports it
            LOG.warning("watch: log-in before the first wait failed (%s)", type(exc).__name__)

    def _queue_new_applications(self) -> None:
        """New applications of the e-service inbox into the queue (status Ny -> Under handläggning)."""
        if time.monotonic() - self.last_inbox_poll < self.poll_seconds:
            return
        self.last_inbox_poll = time.monotonic()
        ctx = self.ctx
        if ctx is None:
            LOG.warning("new applications not queued: no run context (the suite must import bistand.run.library)")
            return

        try:
            found = ctx.run(new_applications(ctx), timeout=120)
            for application in found:  # queued before marked: a crash in between loses nothing
                self.store.add(application.application_id, application.work_item_variables)  # once, ever
            failed = ctx.run(mark_queued(ctx, [a.application_id for a in found]), timeout=120) if found else []
            if failed:
                raise failed[0][1]
            queued = len(found)
        except Exception as exc:  # noqa: BLE001 - inbox away (portal outage): the next poll tries again
            LOG.warning("new applications not queued: the e-service or the queue did not answer (%s); "
                        "next try in %.0f s", type(exc).__name__, self.poll_seconds)
            return
        if queued:
            LOG.info("queued %s from the inbox", plural(queued, "new application"))
