"""A runner process seen by the farm: its registration and heartbeat (bistand.monitoring.runners)
with the alert evaluation riding on the heartbeat (bistand.monitoring.alerts, .notify).

Kept apart from runners.py, which the alerts read: the pieces are put together here, so no
monitoring module needs another that needs it back.
"""

from __future__ import annotations

import logging

from bistand.monitoring.alerts import AlertEvaluator
from bistand.monitoring.notify import channels_for
from bistand.monitoring.runners import RunnerHeartbeat, RunnerMode
from bistand.queue.store import QueueStore, open_queue
from bistand.settings import AlertSettings, Settings

LOG = logging.getLogger(__name__)


class RunnerPresence:
    """A runner process in the queue database for as long as it runs (`with RunnerPresence(...)`):
    registered at the start, a heartbeat that also evaluates the alerts (when any channel is
    configured), each run's verdict, and the exit code at the end (1 when it ends by an exception;
    a process killed outright simply falls silent)."""

    def __init__(self, settings: Settings, mode: RunnerMode) -> None:
        self.settings = settings
        self.mode = mode
        self.exit_code: int | None = None
        self.heartbeat: RunnerHeartbeat | None = None
        self.store: QueueStore | None = None
        self.evaluator = None

    def __enter__(self) -> RunnerPresence:
        try:
            settings = self.settings
            self.store = open_queue(settings.queue.url)
        except Exception as exc:  # noqa: BLE001 - the run itself reports a queue it cannot open
            LOG.warning("runner not registered: the queue could not be opened (%s)", type(exc).__name__)
            return self
        on_beat = None
        alerts = settings.alerts
        if alerts.enabled and alerts.can_send:
            self.evaluator = evaluator_for(self.store, alerts, name=settings.runner_id)
            on_beat = self.evaluator.maybe_evaluate
        self.heartbeat = RunnerHeartbeat(self.store, settings.runner_id, self.mode, settings.queue.lease_seconds,
                                         on_beat=on_beat).start()
        return self

    def run_ended(self, code: int, stopped_reason: str = "") -> None:
        if self.heartbeat is not None:
            self.heartbeat.run_ended(code, stopped_reason)

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self.heartbeat is not None and self.evaluator is not None:
            try:  # what the run left (parked items, a system down) is told now, not at the next runner's beat
                self.evaluator.evaluate()
            except Exception as exc:  # noqa: BLE001 - never changes the exit
                LOG.warning("alerts not evaluated at the end: %s", type(exc).__name__)
        if self.heartbeat is not None:
            self.heartbeat.stop(self.exit_code if self.exit_code is not None and exc_type is None else 1)
        if self.store is not None:
            self.store.close()


def evaluator_for(store: QueueStore, settings: AlertSettings, name: str = "") -> AlertEvaluator:
    """The alert evaluator over `store` with the configured channels (bistand.monitoring.notify)."""
    return AlertEvaluator(store, settings, channels_for(settings), name=name)
