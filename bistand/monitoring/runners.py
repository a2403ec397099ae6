"""The runners: each `work`, `run` and `watch` process registers in the queue database and beats.

A runner writes one row when it starts (host, process id, version, mode, its lease period) and
beats every third of a lease period from a thread of its own, noting the items it holds; when it
ends it writes its exit code. Everything else is read from what the queue already knows: the
items it holds now (leased to its runner id) and the items it finished today (`item_outcomes`).

- **alive**: beat within two lease periods;
- **silent**: no beat for two lease periods (killed, frozen, cut off): the items it held are taken
  over by another runner once their leases run out, and the listing says by whom;
- **stopped**: ended and said so, with its exit code (bistand.run.exit_codes).

Each consumer run a runner starts also writes its verdict (`run_ended`): a run stopped because a
system is down (exit 3) names the system, which the `system_down` alert reads.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import uuid
from typing import Literal

from pydantic import BaseModel

from bistand import __version__
from bistand.queue.store import QueueStore

LOG = logging.getLogger(__name__)
RunnerMode = Literal["work", "run", "watch", "produce"]
RunnerStatus = Literal["alive", "silent", "stopped"]
STATUS_LABELS = {"alive": "Igång", "silent": "Tyst", "stopped": "Stoppad"}
MODE_LABELS = {"work": "work (kön)", "run": "run (schemalagd)", "watch": "watch (bevakning)", "produce": "produce"}
SILENT_AFTER_LEASES = 2
STOPPED_SHOWN_SECONDS = 86400
SILENT_SHOWN_SECONDS = 7 * 86400
_COLUMNS = ("runner_key, runner_id, host, pid, version, mode, lease_seconds, started_at, last_seen_at, held, "
            "stopped_at, exit_code, last_run_code, last_run_at, last_run_system")
_STOPPED_ON = re.compile(r" on ([a-z]+) \(limit")


class HeldItem(BaseModel):
    """An item a runner held at its last beat, and what became of it."""

    application_id: str
    fate: str
    """`held` (still its), `waiting` (its lease not yet run out), `taken_over` (another runner holds
    it), or the item's state now (done, pending, parked, ...)."""
    holder: str = ""


class RunnerView(BaseModel):
    runner_key: str
    runner_id: str
    host: str
    pid: int
    version: str
    mode: str
    lease_seconds: float
    started_at: float
    last_seen_at: float
    held: list[str]
    stopped_at: float | None = None
    exit_code: int | None = None
    last_run_code: int | None = None
    last_run_at: float | None = None
    last_run_system: str = ""
    status: RunnerStatus = "alive"
    items: list[HeldItem] = []
    finished_today: int = 0

    @property
    def held_now(self) -> int:
        return sum(1 for item in self.items if item.fate == "held")

    @property
    def taken_over(self) -> list[HeldItem]:
        return [item for item in self.items if item.fate == "taken_over"]


def status_of(last_seen_at: float, lease_seconds: float, stopped_at: float | None, now: float) -> RunnerStatus:
    if stopped_at is not None:
        return "stopped"
    return "silent" if now - last_seen_at > SILENT_AFTER_LEASES * lease_seconds else "alive"


def register(store: QueueStore, runner_id: str, mode: RunnerMode, lease_seconds: float) -> str:
    """A new row for this process; returns its key (one per start, so a restart is a new row)."""
    key = uuid.uuid4().hex
    with store.transaction() as execute:
        now = store.now(execute)
        execute(f"INSERT INTO runners ({_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', NULL, NULL, NULL, NULL, '')",
                (key, runner_id[:120], socket.gethostname()[:120], os.getpid(), __version__, mode, lease_seconds,
                 now, now))
    return key


def beat(store: QueueStore, key: str, runner_id: str) -> list[str]:
    """The runner is alive; notes the items leased to it now (returned)."""
    with store.transaction() as execute:
        now = store.now(execute)
        held = [row[0] for row in execute(
            "SELECT application_id FROM work_items WHERE lease_owner = ? AND state = 'in_progress' "
            "ORDER BY application_id", (runner_id,)).fetchall()]
        execute("UPDATE runners SET last_seen_at = ?, held = ? WHERE runner_key = ?", (now, json.dumps(held), key))
    return held


def run_ended(store: QueueStore, key: str, code: int, stopped_reason: str = "") -> None:
    """One run's verdict (exit code); a run stopped on a system (exit 3) names it."""
    match = _STOPPED_ON.search(stopped_reason or "")
    with store.transaction() as execute:
        now = store.now(execute)
        execute("UPDATE runners SET last_run_code = ?, last_run_at = ?, last_run_system = ?, last_seen_at = ? "
                "WHERE runner_key = ?", (code, now, match.group(1) if match else "", now, key))


def stopped(store: QueueStore, key: str, exit_code: int) -> None:
    with store.transaction() as execute:
        now = store.now(execute)
        execute("UPDATE runners SET stopped_at = ?, exit_code = ?, last_seen_at = ? WHERE runner_key = ?",
                (now, exit_code, now, key))


def list_runners(store: QueueStore, day_start: float | None = None, now: float | None = None) -> list[RunnerView]:
    """Runners alive, silent (seen in the last week) and stopped (in the last day), newest first;
    each with what became of the items it held and what it finished since `day_start`."""
    with store.transaction() as execute:
        now = store.now(execute) if now is None else now
        rows = execute(f"SELECT {_COLUMNS} FROM runners WHERE (stopped_at IS NULL AND last_seen_at >= ?) "  # noqa: S608
                       "OR stopped_at >= ? ORDER BY started_at DESC, runner_key",
                       (now - SILENT_SHOWN_SECONDS, now - STOPPED_SHOWN_SECONDS)).fetchall()
        items = {row[0]: row[1:] for row in execute(
            "SELECT application_id, state, lease_owner, lease_until FROM work_items WHERE state = 'in_progress' "
            "OR application_id IN (SELECT application_id FROM work_items WHERE updated_at >= ?)",
            (now - SILENT_SHOWN_SECONDS,)).fetchall()}
        finishers = dict(execute(
            "SELECT o.application_id, o.runner FROM item_outcomes o WHERE o.finished_at >= ? AND o.finished_at = "
            "(SELECT MAX(o2.finished_at) FROM item_outcomes o2 WHERE o2.application_id = o.application_id)",
            (now - SILENT_SHOWN_SECONDS,)).fetchall())
        finished: dict[str, int] = {}
        if day_start is not None:
            finished = dict(execute(
                "SELECT runner, COUNT(*) FROM item_outcomes WHERE finished_at >= ? "
                "AND outcome IN ('DONE', 'BUSINESS', 'PARKED') GROUP BY runner", (day_start,)).fetchall())
    views = []
    for row in rows:
        values = dict(zip([c.strip() for c in _COLUMNS.split(",")], row, strict=True))
        values["held"] = json.loads(values["held"] or "[]")
        view = RunnerView.model_validate(values)
        view.status = status_of(view.last_seen_at, view.lease_seconds, view.stopped_at, now)
        view.finished_today = finished.get(view.runner_id, 0)
        owned = {item_id for item_id, (state, owner, _until) in items.items()
                 if state == "in_progress" and owner == view.runner_id}
        fates = []
        # alive: what it holds now; silent or stopped: what it held at its last beat, and what became of it
        for item_id in sorted(owned if view.status == "alive" else set(view.held)):
            state, owner, until = items.get(item_id, ("", None, None))
            if state == "in_progress" and owner == view.runner_id:
                fate = "held" if view.status == "alive" else ("waiting" if (until or 0) >= now else "held")
                fates.append(HeldItem(application_id=item_id, fate=fate))
            elif state == "in_progress":
                fates.append(HeldItem(application_id=item_id, fate="taken_over", holder=owner or ""))
            elif state:
                finisher = finishers.get(item_id, "")
                fates.append(HeldItem(application_id=item_id, fate=state,
                                      holder=finisher if finisher != view.runner_id else ""))
        view.items = fates
        views.append(view)
    return views


def counts(views: list[RunnerView]) -> dict[str, int]:
    found = {"alive": 0, "silent": 0, "stopped": 0}
    for view in views:
        found[view.status] += 1
    return found


class RunnerHeartbeat:
    """Registers this process as a runner and beats from a daemon thread until `stop(exit_code)`.

    Bookkeeping only: a database that does not answer is logged and tried again at the next beat;
    it never stops the runner. `on_beat` (optional) runs after each beat in the same thread (the
    alert evaluation rides on it)."""

    def __init__(self, store: QueueStore, runner_id: str, mode: RunnerMode, lease_seconds: float,
                 on_beat=None) -> None:
        self.store = store
        self.runner_id = runner_id
        self.mode = mode
        self.lease_seconds = lease_seconds
        self.key = ""
        self.on_beat = on_beat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RunnerHeartbeat:
        try:
            self.key = register(self.store, self.runner_id, self.mode, self.lease_seconds)
        except Exception as exc:  # noqa: BLE001 - bookkeeping never stops a runner
            LOG.warning("runner not registered (%s)", type(exc).__name__)
            return self
        self._thread = threading.Thread(target=self._beat, name="runner-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                beat(self.store, self.key, self.runner_id)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                LOG.warning("runner heartbeat not written (%s)", type(exc).__name__)
            if self.on_beat is not None:
                try:
                    self.on_beat()
                except Exception as exc:  # noqa: BLE001 - never stops the runner
                    LOG.warning("after the heartbeat: %s", type(exc).__name__)

    def run_ended(self, code: int, stopped_reason: str = "") -> None:
        if not self.key:
            return
        try:
            run_ended(self.store, self.key, code, stopped_reason)
        except Exception as exc:  # noqa: BLE001 - bookkeeping
            LOG.warning("run verdict not written (%s)", type(exc).__name__)

    def stop(self, exit_code: int) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.key:
            try:
                stopped(self.store, self.key, exit_code)
            except Exception as exc:  # noqa: BLE001 - bookkeeping
                LOG.warning("runner stop not written (%s)", type(exc).__name__)
