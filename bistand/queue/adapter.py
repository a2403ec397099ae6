"""The queue behind rpaframework's work-item interface (`RPA_WORKITEMS_ADAPTER`).

`RPA_WORKITEMS_ADAPTER=bistand.queue.adapter.QueueAdapter` makes `RPA.Robocorp.WorkItems` in
tasks/*.robot read and release items from the queue, so the suites stay the same under Control
Room (its own adapter) and locally (this one).

- `BISTAND_QUEUE_ROLE=producer`: one empty trigger item as input; every saved output item is
  added to the queue (once per application id, ever).
- `BISTAND_QUEUE_ROLE=consumer` (default): inputs are claimed from the queue with a lease that a
  heartbeat thread extends while the item is worked on; releasing maps DONE to done, FAILED
  BUSINESS to failed, FAILED APPLICATION to a rescheduled try or a parked item.
  `BISTAND_QUEUE_UNTIL_EMPTY=1` ends the loop when no item is due and none is in progress
  elsewhere (an item whose runner died is taken over when its lease runs out); otherwise the
  runner polls for new items until SIGTERM, finishing the item in hand first.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from RPA.Robocorp.WorkItems import BaseAdapter, EmptyQueue, State

from bistand.queue.config import load_queue_settings, runner_id
from bistand.queue.store import LeaseLost, QueueStore, open_queue

TRIGGER_ID = "producer-trigger"
LOG = logging.getLogger(__name__)


class QueueAdapter(BaseAdapter):
    def __init__(self) -> None:
        self.settings = load_queue_settings()
        self.store: QueueStore = open_queue(self.settings.url, self.settings.retry_delays_seconds,
                                            self.settings.max_failures)
        self.owner = runner_id()
        self.role = os.environ.get("BISTAND_QUEUE_ROLE", "consumer")
        self.until_empty = os.environ.get("BISTAND_QUEUE_UNTIL_EMPTY", "1") == "1"
        self.payloads: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.last_state: str = ""  # what the queue made of the last release (for the summary)
        self._trigger_given = False
        self._heartbeat: tuple[threading.Event, threading.Thread] | None = None
        self._stop = threading.Event()
        if self.role == "consumer" and not self.until_empty:
            signal.signal(signal.SIGTERM, lambda *_: self._stop.set())

    # -- inputs --------------------------------------------------------------------------
    def reserve_input(self) -> str:
        if self.role == "producer":
            if self._trigger_given:
                raise EmptyQueue("the producer has one trigger item")
            self._trigger_given = True
            self.payloads[TRIGGER_ID] = {}
            return TRIGGER_ID
        while not self._stop.is_set():
            item = self.store.claim(self.owner, self.settings.lease_seconds)
            if item is not None:
                self.payloads[item.application_id] = item.payload
                self._start_heartbeat(item.application_id)
                return item.application_id
            if self.until_empty and not self.store.counts()["in_progress"]:
                break
            # Another runner holds an item: it finishes it, or dies and its lease runs out and
            # the item is ours. Without --until-empty: poll for new items.
            wait = min(1.0, self.settings.lease_seconds / 3) if self.until_empty else self.settings.poll_seconds
            self._stop.wait(wait)
        raise EmptyQueue("no work item is due")

    def release_input(self, item_id: str, state: State, exception: dict | None = None) -> None:
        if item_id == TRIGGER_ID:
            return
        self._stop_heartbeat()
        try:
            if state is State.DONE:
                self.last_state = self.store.complete(item_id, self.owner)
            else:
                exception = exception or {"type": "APPLICATION", "code": "UNEXPECTED", "message": ""}
                self.last_state = self.store.fail(item_id, self.owner, exception.get("type") or "APPLICATION",
                                                  exception.get("code") or "UNEXPECTED",
                                                  exception.get("message") or "")
        except LeaseLost as exc:
            self.last_state = "lease_lost"
            LOG.warning("%s", exc)

    def _start_heartbeat(self, item_id: str) -> None:
        stop = threading.Event()
        interval = self.settings.lease_seconds / 3

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    if not self.store.heartbeat(item_id, self.owner, self.settings.lease_seconds):
                        LOG.warning("lease on %s lost", item_id)
                        return
                except Exception as exc:  # noqa: BLE001 - the next beat tries again (reconnects)
                    LOG.warning("heartbeat on %s failed: %s", item_id, type(exc).__name__)

        thread = threading.Thread(target=beat, name=f"heartbeat-{item_id}", daemon=True)
        thread.start()
        self._heartbeat = (stop, thread)

    def _stop_heartbeat(self) -> None:
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
