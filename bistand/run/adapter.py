"""The queue behind rpaframework's work-item interface (`RPA_WORKITEMS_ADAPTER`).

`RPA_WORKITEMS_ADAPTER=bistand.run.adapter.QueueAdapter` makes `RPA.Robocorp.WorkItems` in
tasks/*.robot read and release items from the queue, so the suites stay the same under Control
Room (its own adapter) and locally (this one).

- `queue.role` producer (the runner sets it in the settings it hands the run): one empty trigger
  item as input; every saved output item is added to the queue (once per application id, ever).
- `queue.role` consumer (default): inputs are claimed from the queue with a lease that a
  heartbeat thread extends while the item is worked on; releasing maps DONE to done, FAILED
  BUSINESS to failed, FAILED APPLICATION to a rescheduled try or a parked item.
  `queue.until_empty` ends the loop when no item is due and none is in progress
  elsewhere (an item whose runner died is taken over when its lease runs out); otherwise the
  runner polls for new items until SIGTERM, finishing the items in hand first.
- Several applications in flight: `reserve_ahead(n)` takes up to n more due items now (leased and
  kept alive by the same heartbeat); `reserve_input` hands them out first, in the order taken, and
  `hand_back(id)` returns one the run will not work on to pending, with no try counted.
- Every claim gives the item a new lease generation; the adapter keeps each item's `Lease` and
  names it in every heartbeat, release and hand-back, so a runner whose lease was taken over
  changes nothing. `confirm_lease(id)` (called before each write-back) extends the lease or
  raises `LeaseLost`: the runner then stops that item and goes on with the others;
  `lease_valid_until(id)` tells how long a write may go on (it is cut off when the lease is no
  longer surely held), and `settle_until(id)` how long an item taken over from a runner that never
  released it waits before its write-back looks for that runner's writes.
- The heartbeat keeps an item alive until its release is saved; a release that meets a dropped
  connection is tried again (tenacity) while the lease is still valid.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from typing import Any

from robot.running.signalhandler import STOP_SIGNAL_MONITOR
from RPA.Robocorp.WorkItems import BaseAdapter, EmptyQueue, State
from tenacity import Retrying, retry_if_exception, stop_after_delay, stop_any, wait_exponential_jitter

from bistand.queue.store import Lease, LeaseLost, QueueItem, QueueStore, open_queue
from bistand.settings import Settings, load

TRIGGER_ID = "producer-trigger"
LOG = logging.getLogger(__name__)


def robot_was_asked_to_stop() -> bool:
    """True when a SIGTERM/SIGINT reached Robot Framework's own handler before this adapter took
    the signals over (the signal came while the run was starting): the run is to end, so the
    adapter must not wait for new items. Reads Robot Framework's stop-signal monitor."""
    return getattr(STOP_SIGNAL_MONITOR, "_signal_count", 0) > 0


class QueueAdapter(BaseAdapter):
    """rpaframework builds it with no arguments (`RPA_WORKITEMS_ADAPTER`): it then loads the run's
    settings, the file the runner named in `BISTAND_SETTINGS` (bistand.run.suite), and the run's
    library takes them from it (`settings`), so the Robot Framework process loads them once."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else load()
        self.queue = self.settings.queue
        self.store: QueueStore = open_queue(self.queue.url, self.queue.retry_delays_seconds,
                                            self.queue.max_failures, self.queue.max_claims)
        self.owner = self.settings.runner_id
        self.role = self.queue.role
        self.until_empty = self.queue.until_empty
        self.payloads: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.last_state: str = ""  # what the queue made of the last release (for the summary)
        self._trigger_given = False
        self.ahead: deque[str] = deque()
        self._held: dict[str, Lease] = {}
        self._valid_until: dict[str, float] = {}
        """Monotonic time until which each held lease is surely valid (claim or last beat + lease)."""
        self._settle_until: dict[str, float] = {}
        """Items this runner took over from a holder that never released them: the monotonic time
        before which their write-back must not look for that holder's writes (`settle_until`)."""
        self._releasing: set[str] = set()
        self._lost: set[str] = set()
        self._held_lock = threading.Lock()
        self._heartbeat: tuple[threading.Event, threading.Thread] | None = None
        self._stop = threading.Event()
        if self.role == "consumer" and not self.until_empty:
            signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        if robot_was_asked_to_stop():
            self._stop.set()

    # -- inputs --------------------------------------------------------------------------
    def reserve_input(self) -> str:
        if self.role == "producer":
            if self._trigger_given:
                raise EmptyQueue("the producer has one trigger item")
            self._trigger_given = True
            self.payloads[TRIGGER_ID] = {}
            return TRIGGER_ID
        if self.ahead:
            return self.ahead.popleft()  # taken earlier: in hand, so worked on even after SIGTERM
        while not self._stop.is_set():
            taken_at = time.monotonic()
            item = self._claim()
            if item is not None:
                self.payloads[item.application_id] = item.payload
                self._hold(item, taken_at)
                return item.application_id
            if self.until_empty and not self._retried(self.store.counts)()["in_progress"]:
                break
            # Another runner holds an item: it finishes it, or dies and its lease runs out and
            # the item is ours. Without --until-empty: poll for new items.
            wait = min(1.0, self.queue.lease_seconds / 3) if self.until_empty else self.queue.poll_seconds
            self._stop.wait(wait)
        raise EmptyQueue("no work item is due")

    def reserve_ahead(self, count: int) -> list[tuple[str, Any]]:
        """Up to `count` more items due now, leased to this runner and queued behind the current
        one; never waits (none when the queue has none due, or after SIGTERM)."""
        taken: list[tuple[str, Any]] = []
        while len(taken) < count and self.role == "consumer" and not self._stop.is_set():
            taken_at = time.monotonic()
            try:
                item = self.store.claim(self.owner, self.queue.lease_seconds)
            except Exception as exc:
                if not self.store.is_connection_error(exc):
                    raise
                LOG.warning("no item taken ahead: the queue did not answer (%s)", type(exc).__name__)
                break
            if item is None:
                break
            self.payloads[item.application_id] = item.payload
            self._hold(item, taken_at)
            self.ahead.append(item.application_id)
            taken.append((item.application_id, item.payload))
        return taken

    def _claim(self):
        return self._retried(self.store.claim)(self.owner, self.queue.lease_seconds)

    def _retried(self, call):
        """`call` tried again while the queue's database is away (a dropped connection reconnects
        on the next try; a restarting database answers within the half minute)."""
        return Retrying(retry=retry_if_exception(self.store.is_connection_error),
                        stop=stop_any(stop_after_delay(60), lambda _state: self._stop.is_set()),
                        wait=wait_exponential_jitter(multiplier=0.5, max=5), reraise=True).wraps(call)

    def hand_back(self, item_id: str) -> None:
        """An item taken ahead that this run will not work on: pending again at once."""
        if item_id in self.ahead:
            self.ahead.remove(item_id)
        lease = self._let_go(item_id)
        if lease is None:
            return
        try:
            self.store.unclaim(lease)
        except Exception as exc:  # noqa: BLE001 - its lease runs out and another runner takes it
            LOG.warning("could not hand back %s: %s", item_id, type(exc).__name__)

    def confirm_lease(self, item_id: str) -> None:
        """Before a write-back: the item is still this runner's (the lease is extended), or
        LeaseLost, and the runner stops work on it (another runner holds it now)."""
        with self._held_lock:
            lease = self._held.get(item_id)
        checked_at = time.monotonic()
        if lease is not None and item_id not in self._lost and \
                self.store.heartbeat(lease, self.queue.lease_seconds):
            self._confirmed(item_id, checked_at)
            return
        self._lost.add(item_id)
        LOG.warning("lease on %s lost: another runner holds the item; this runner stops work on it", item_id)
        raise LeaseLost(f"{item_id} is no longer leased to this runner")

    def release_input(self, item_id: str, state: State, exception: dict | None = None) -> None:
        if item_id == TRIGGER_ID:
            return
        with self._held_lock:
            lease = self._held.get(item_id)
            self._releasing.add(item_id)
        try:  # the heartbeat keeps the lease alive until the release is saved
            if lease is None or item_id in self._lost:
                raise LeaseLost(f"{item_id} is no longer leased to this runner")
            self.last_state = self._save_release(lease, state, exception)
        except LeaseLost as exc:
            self.last_state = "lease_lost"
            LOG.warning("%s", exc)
        except Exception as exc:
            if not self.store.is_connection_error(exc):
                raise
            self.last_state = "not_saved"  # the lease runs out; the runner that takes it over finds the writes
            LOG.warning("release of %s not saved before its lease ran out (%s): another runner takes it over",
                        item_id, type(exc).__name__)
        finally:
            self._let_go(item_id)
            self._lost.discard(item_id)

    def _save_release(self, lease: Lease, state: State, exception: dict | None) -> str:
        """complete/fail, tried again while the database is away and the lease surely valid. A
        try that fails after the database saved it finds the item released under this lease's
        generation: that is the release, saved."""

        def release() -> str:
            if state is State.DONE:
                return self.store.complete(lease)
            error = exception or {"type": "APPLICATION", "code": "UNEXPECTED", "message": ""}
            return self.store.fail(lease, error.get("type") or "APPLICATION", error.get("code") or "UNEXPECTED",
                                   error.get("message") or "")

        tries = 0
        for attempt in Retrying(
            retry=retry_if_exception(self.store.is_connection_error),
            stop=stop_any(self._lease_expired(lease.application_id), stop_after_delay(self.queue.lease_seconds)),
            wait=wait_exponential_jitter(multiplier=0.2, max=2),
            reraise=True,
        ):
            with attempt:
                tries += 1
                try:
                    return release()
                except LeaseLost:
                    saved = self.store.get(lease.application_id) if tries > 1 else None
                    if saved is not None and saved.lease_generation == lease.generation \
                            and saved.state != "in_progress":
                        return saved.state
                    raise
                except Exception as exc:
                    if self.store.is_connection_error(exc):
                        LOG.warning("release of %s not saved (%s); trying again while the lease holds",
                                    lease.application_id, type(exc).__name__)
                    raise
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _lease_expired(self, item_id: str):
        def expired(_retry_state: Any) -> bool:
            return time.monotonic() >= self._valid_until.get(item_id, 0.0)

        return expired

    def _hold(self, item: QueueItem, taken_at: float) -> None:
        """Keeps the item's lease alive (one heartbeat thread for every item this runner holds).
        An item claimed before without a release (`open_claims` > 1) was taken over from a runner
        that died or lost its link: its writes wait `takeover_settle_seconds` (see `settle_until`)."""
        lease = item.lease
        with self._held_lock:
            self._held[lease.application_id] = lease
            if item.open_claims > 1:
                self._settle_until[lease.application_id] = taken_at + self.queue.takeover_settle_seconds
        self._confirmed(lease.application_id, taken_at)
        if self._heartbeat is None:
            self._start_heartbeat()

    def _confirmed(self, item_id: str, at: float) -> None:
        """The lease held at `at` (monotonic, taken before the call that extended it)."""
        self._valid_until[item_id] = at + self.queue.lease_seconds

    def lease_valid_until(self, item_id: str) -> float:
        """Monotonic time until which this runner surely holds the item (its claim or last confirmed
        beat, plus the lease); 0 once it is released or lost. A write still going on then is cut off."""
        with self._held_lock:
            return 0.0 if item_id in self._lost else self._valid_until.get(item_id, 0.0)

    def settle_until(self, item_id: str) -> float:
        """0, or, for an item taken over from a holder that never released it, the monotonic time
        before which its write-back must not look for that holder's writes (a write the holder sent
        while its lease held may still be on its way: it has `settle_seconds` to land)."""
        with self._held_lock:
            return self._settle_until.get(item_id, 0.0)

    def _let_go(self, item_id: str) -> Lease | None:
        with self._held_lock:
            self._releasing.discard(item_id)
            self._settle_until.pop(item_id, None)
            self._valid_until.pop(item_id, None)
            return self._held.pop(item_id, None)

    def _start_heartbeat(self) -> None:
        stop = threading.Event()
        interval = self.queue.lease_seconds / 3

        def beat() -> None:
            while not stop.wait(interval):
                with self._held_lock:
                    held = sorted((lease for item_id, lease in self._held.items() if item_id not in self._lost),
                                  key=lambda lease: lease.application_id)
                for lease in held:
                    item_id = lease.application_id
                    beat_at = time.monotonic()
                    try:
                        alive = self.store.heartbeat(lease, self.queue.lease_seconds)
                    except Exception as exc:  # noqa: BLE001 - the next beat tries again (reconnects)
                        LOG.warning("heartbeat on %s failed: %s", item_id, type(exc).__name__)
                        continue
                    if alive:
                        with self._held_lock:
                            if self._held.get(item_id) == lease:
                                self._confirmed(item_id, beat_at)
                    elif item_id in self._held and item_id not in self._releasing:  # not merely released
                        LOG.warning("lease on %s lost: another runner holds the item", item_id)
                        self._lost.add(item_id)

        thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        thread.start()
        self._heartbeat = (stop, thread)

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            stop, thread = self._heartbeat
            stop.set()
            thread.join(timeout=30)
            self._heartbeat = None

    # -- outputs -------------------------------------------------------------------------
    def create_output(self, parent_id: str, payload: Any = None) -> str:
        output_id = f"output-{len(self.outputs) + 1}"
        self.outputs[output_id] = payload
        if payload is not None:
            self.save_payload(output_id, payload)
        return output_id

    def load_payload(self, item_id: str) -> Any:
        if item_id in self.outputs:
            return self.outputs[item_id]
        return self.payloads.get(item_id, {})

    def save_payload(self, item_id: str, payload: Any) -> None:
        if item_id in self.outputs:
            self.outputs[item_id] = payload
            if self.role == "producer" and isinstance(payload, dict) and payload.get("application_id"):
                self.store.add(payload["application_id"], payload)
            return
        self.payloads[item_id] = payload  # kept for this run only; the queue's payload is fixed

    # -- files: the bot's items carry none (attachments stay in the e-service) -------------
    def list_files(self, item_id: str) -> list[str]:
        return []

    def get_file(self, item_id: str, name: str) -> bytes:
        raise FileNotFoundError(f"work item {item_id} has no file {name}")

    def add_file(self, item_id: str, name: str, *, original_name: str, content: bytes) -> None:
        raise NotImplementedError("queue work items carry no files")

    def remove_file(self, item_id: str, name: str) -> None:
        raise NotImplementedError("queue work items carry no files")
