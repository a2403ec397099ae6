"""Run bookkeeping for the task suites: progress, retries, failure artifacts, the run summary."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from urllib.parse import quote

from robot.api import logger
from robot.api.deco import keyword
from robot.libraries.BuiltIn import BuiltIn
from RPA.Robocorp.WorkItems import EmptyQueue, WorkItems

from bistand.bot.context import ItemWork, RunContext
from bistand.bot.keywords.casework import work_from_payload
from bistand.bot.prepare import InFlight
from bistand.bot.recording import record_outcome
from bistand.bot.recycle import RecyclePolicy, tree_pss_mib
from bistand.bot.summary import ItemResult, RunSummary
from bistand.bot.tracing import save_trace_chunks
from bistand.core.errors import BusinessError
from bistand.core.ids import checked_application_id
from bistand.core.personnummer import mask_personnummer_in_text
from bistand.queue.store import PARK_AT_ONCE, QueueStore
from bistand.report.plural import plural
from bistand.settings import SYSTEMS

IN_HAND_PER_FLIGHT = 3
"""Items prepared ahead may wait in hand for the suite (leased, heartbeat) up to this many times
`in_flight`: enough to keep going past one slow application, few enough to share the queue."""

ERROR_PATTERN = re.compile(r"^(?:BusinessError|ApplicationError): ([A-Z_]+): (.*)$", re.DOTALL)


class RunControlKeywords:
    """Progress on the console, back-off between retries, one task per work item, the summary.

    Also a listener (API 3): it keeps the running suite so that each work item becomes a task of
    its own, named by the application id, at the top level of log.html.

    Given when built (bistand.run.library): the run context, the applications in flight, the
    suite's work-items library (its adapter hands out the items) and the queue's store, where the
    outcomes and the portals' figures go (None under an adapter without the queue)."""

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, ctx: RunContext, flight: InFlight, work_items: WorkItems | None,
                 store: QueueStore | None = None) -> None:
        self.ctx = ctx
        self.flight = flight
        self.work_items = work_items
        self.store = store
        self._suite = None
        self.items_started = 0
        self.items_limit = 0
        flight.on_ahead_finished = self._take_ahead_while_waiting
        self.summary: RunSummary | None = None
        self.total = ctx.settings.run.total_items
        self.done_before = ctx.settings.run.items_before
        """Items the earlier Robot Framework runs of the same batch run finished (progress counts on)."""
        self.consecutive_system_errors = 0
        self.failing_system = ""
        self.task = ""
        settings = ctx.settings
        self.recycling = RecyclePolicy(every_items=settings.recycle_contexts_items,
                                       limit_mib=settings.recycle_contexts_mib)
        self.items_in_contexts = 0
        """Items finished since the browser contexts were last renewed."""
        self.recycles = 0

    @property
    def run_dir(self) -> Path:
        """This run's evidence folder (output/runs/<UTC time>-<runner>/), set by the runner."""
        return self.ctx.settings.run_dir

    @keyword
    def start_run(self, task: str) -> None:
        """Opens the run: settings and summary; the browser starts on first use."""
        ctx = self.ctx
        self.task = task
        self.summary = RunSummary(mode=ctx.settings.mode.value, started_at=datetime.now(UTC))
        self._attach_portal_health()
        logger.info(f"{task} started in {ctx.settings.mode.value} mode")

    def _attach_portal_health(self) -> None:
        """The page objects' request figures go to the queue's database (none without the queue)."""
        attach = getattr(self.ctx.health, "attach", None)
        if attach is None or self.store is None:
            return
        try:
            attach(self.store)
        except Exception as exc:  # noqa: BLE001 - bookkeeping, never stops a run
            logger.debug(f"portal health not recorded: {type(exc).__name__}")

    def _start_suite(self, data, result) -> None:
        self._suite = data

    @keyword
    def add_task_for_next_work_item(self, items_limit: int = 0) -> None:
        """Reserves the next input work item and adds a task for it, named by its application
        id and run after the current one; nothing when the queue has no item due (or the limit
        is reached)."""
        if int(items_limit) and self.items_started >= int(items_limit):
            return
        items = self.work_items
        active = items.active_input
        if active is None or active.state is not None:
            try:
                items.get_input_work_item()
            except EmptyQueue:
                return
        self.items_started += 1
        self.items_limit = int(items_limit)
        payload = items.get_work_item_payload() or {}
        self.ctx.current_id = str(payload.get("application_id") or "")
        self._recycle_contexts_if_due()  # between items: the one just taken has not started yet
        self._take_ahead(items.adapter, self.items_limit)
        name = str(payload.get("application_id") or f"Arbetsobjekt {self.items_started} utan ansökan")
        task = self._suite.tests.create(name=name, doc="Ett arbetsobjekt: status och kod i meddelandet.")
        task.body.create_keyword(name="Prepare One Application")
        task.body.create_keyword(name="Add Task For Next Work Item", args=[str(items_limit)])

    def _take_ahead(self, adapter, items_limit: int) -> None:
        """Keeps `in_flight` applications moving: takes more items from the queue ahead of the suite
        and starts preparing them (bistand.bot.prepare.InFlight), as many as make `in_flight` with the
        suite's own and those still running ahead; at most IN_HAND_PER_FLIGHT × `in_flight` wait
        in hand. Needs the queue's adapter (Control Room's hands out one item at a time: then one
        application is in flight)."""
        in_flight = self.ctx.settings.in_flight
        if in_flight <= 1 or not hasattr(adapter, "reserve_ahead"):
            return
        if self._recycle_reason():
            return  # the contexts are due for renewal: let what is in flight finish first
        room = min(in_flight - self.flight.in_flight(), IN_HAND_PER_FLIGHT * in_flight - len(adapter.ahead))
        if items_limit:
            room = min(room, items_limit - self.items_started - len(adapter.ahead))
        for item_id, payload in adapter.reserve_ahead(max(room, 0)):
            try:
                work = work_from_payload(payload or {}, adapter)
            except BusinessError:
                continue  # the suite fails it for its payload when it gets there
            self.flight.start_ahead(work)
            logger.debug(f"{item_id} taken ahead")

    def _recycle_reason(self) -> str:
        """Why the browser contexts are due for renewal now ('' when they are not)."""
        if not self.items_in_contexts or self.ctx.session is None:
            return ""
        pss = tree_pss_mib() if self.recycling.measures_memory else None
        return self.recycling.reason(self.items_in_contexts, pss)

    def _recycle_contexts_if_due(self) -> None:
        """Renews the browser contexts between items, logins kept (bistand.bot.recycle), once none
        of the applications taken ahead is still running; until then no more are taken ahead."""
        reason = self._recycle_reason()
        if not reason or self.ctx.busy():
            return
        started = time.perf_counter()
        renewed = self.ctx.run(self.ctx.recycle_contexts(), timeout=120)
        self.items_in_contexts = 0
        self.recycles += 1
        logger.info(f"Browser contexts renewed after {reason} ({len(renewed)} contexts, logins kept, "
                    f"{time.perf_counter() - started:.2f} s)")

    def _take_ahead_while_waiting(self) -> None:
        """Called (on the suite's thread) when an application prepared ahead has finished."""
        if self.items_started and self.work_items is not None:
            self._take_ahead(self.work_items.adapter, self.items_limit)

    def _hand_back_ahead(self) -> None:
        """Items taken ahead that the run ends before reaching go back to the queue untouched."""
        if self.work_items is None:
            return
        adapter = self.work_items.adapter
        for item_id in list(getattr(adapter, "ahead", ())):
            self.flight.drop_ahead(item_id)
            adapter.hand_back(item_id)
            logger.info(f"{item_id} handed back to the queue: this run ends before it")

    @keyword
    def attempts_per_item(self) -> int:
        return self.ctx.settings.attempts_per_item

    @keyword
    def error_code_of(self, message: str) -> str:
        """'BusinessError: FRAME_MISSING: ...' -> 'FRAME_MISSING'."""
        match = ERROR_PATTERN.match(str(message).strip())
        return match.group(1) if match else "UNEXPECTED"

    @keyword
    def is_configuration_gap(self, code: str) -> bool:
        """An error a retry cannot fix (no norm table for the period; a write the case-management
        system holds twice, WRITE_CONFLICT): parked at once, never counted towards the stop."""
        return code in PARK_AT_ONCE

    @keyword
    def safe_error_message(self, message: str) -> str:
        """The error text with any personnummer masked, short enough for Control Room."""
        return mask_personnummer_in_text(str(message))[:500]

    @keyword
    def record_system_error(self, work: ItemWork, message: str, attempt: int) -> None:
        """Saves blurred screenshots and the Playwright trace of every system, linked from the log."""
        out = self.run_dir / "failures" / f"{checked_application_id(work.application_id)}-try{int(attempt)}"
        out.mkdir(parents=True, exist_ok=True)
        shots = []
        for system, page in self.ctx.pages().items():
            for index, shot in enumerate(page.failure_screenshots):
                path = out / f"{system}-{index}.png"
                path.write_bytes(shot)
                shots.append(path)
            page.failure_screenshots = []
        trace = self._save_traces(out)
        rel = lambda p: os.path.relpath(p, self._log_dir())  # noqa: E731
        links = " ".join(f'<a href="{escape(quote(rel(p)))}">{escape(p.name)}</a>' for p in [*shots, *trace])
        logger.warn(f"System error on {work.application_id} (attempt {attempt}): "
                    f"{mask_personnummer_in_text(message)[:300]}")
        if links:
            logger.info(f"Failure artifacts (text blurred): {links}", html=True)

    def _log_dir(self) -> Path:
        try:
            return Path(BuiltIn().get_variable_value("${OUTPUT DIR}"))
        except Exception:  # noqa: BLE001 - outside Robot Framework
            return self.run_dir

    def _save_traces(self, out: Path) -> list[Path]:
        return self.ctx.run(save_trace_chunks(self.ctx, out))

    @keyword
    def back_off_before_retry(self, attempt: int) -> None:
        """Exponential back-off between tries of one item (a pause for a struggling system)."""
        backoff = self.ctx.settings.backoff_before_retry(int(attempt))
        logger.info(f"Retrying in {backoff:.1f} s")
        time.sleep(backoff)  # backoff: give a struggling system time, not a wait for a page

    @keyword
    def stop_work_on_item_whose_lease_was_lost(self, work: ItemWork) -> None:
        """Another runner holds the item now (this runner's lease ran out and was taken over):
        nothing more is written for it here, and the run goes on with the other items. Not a
        result of this run (the other runner records the item's outcome)."""
        self.ctx.items.pop(work.application_id, None)
        logger.warn(f"{work.application_id}: lease lost (another runner took the item over); "
                    "this runner stopped work on it before its next write")
        logger.console(f"[{len(self.summary.items) if self.summary else 0}] {work.application_id} "
                       "LEASE_LOST   another runner holds it now")
        self._mark_task("LEASE_LOST", "")

    @keyword
    def finish_item(self, work: ItemWork | None, outcome: str, message: str = "", attempts: int = 1) -> None:
        """Records the item's outcome in the summary (PARKED when the queue parked a system
        failure); prints progress; stops the run after too many failures of the same system in
        a row. A configuration gap (no norm table) never counts towards the stop."""
        if work is None or self.summary is None:
            return
        self.ctx.items.pop(work.application_id, None)  # done with: its bundle and report go
        self.items_in_contexts += 1
        code = self.error_code_of(message) if outcome != "DONE" else ""
        if outcome == "APPLICATION" and self._queue_state() == "parked":
            outcome = "PARKED"
        assessment = work.assessment
        self.summary.add(ItemResult(
            application_id=work.application_id, outcome=outcome, code=code,
            message=self.safe_error_message(message) if message else "",
            proposal=assessment.proposal.value if assessment is not None and outcome == "DONE" else "",
            findings=assessment.finding_codes if assessment is not None and outcome == "DONE" else [],
            seconds=time.perf_counter() - work.started, attempts=int(attempts), written=work.written,
        ))
        record_outcome(self.summary.items[-1], work, self.ctx.settings, self.run_dir, self.store)  # the dashboard
        flush = getattr(self.ctx.health, "flush", None)
        if flush is not None:
            flush()  # the portals' figures of this item: one transaction, none per request
        self._progress(work.application_id, outcome)
        self._mark_task(outcome, code)
        if outcome in ("APPLICATION", "PARKED") and not self.is_configuration_gap(code):
            system = system_of(message)
            same = system == self.failing_system
            self.consecutive_system_errors = self.consecutive_system_errors + 1 if same else 1
            self.failing_system = system
            limit = self.ctx.settings.max_consecutive_system_errors
            if self.consecutive_system_errors >= limit:
                errors = plural(self.consecutive_system_errors, "system error")
                reason = f"{errors} in a row on {system} (limit {limit}): last {code}"
                self.summary.stopped_reason = reason
                BuiltIn().fatal_error(f"Run stopped: {reason}")
        elif outcome in ("DONE", "BUSINESS"):
            self.consecutive_system_errors = 0
            self.failing_system = ""

    def _mark_task(self, outcome: str, code: str) -> None:
        """The item's outcome as its task's message and tag in log.html."""
        try:
            BuiltIn().set_test_message(f"{outcome} {code}".strip())
            BuiltIn().set_tags(f"outcome:{outcome}")
        except Exception as exc:  # noqa: BLE001 - outside a task (not a queue-driven run)
            logger.debug(f"no task to mark: {type(exc).__name__}")

    def _queue_state(self) -> str:
        """What the queue made of the last release ('' with another work-item adapter)."""
        if self.work_items is None:
            return ""
        return getattr(self.work_items.adapter, "last_state", "")

    def _progress(self, application_id: str, outcome: str) -> None:
        done = self.done_before + len(self.summary.items)
        elapsed = time.perf_counter() - self.ctx.started
        if self.total:
            left = max(self.total - done, 0)
            here = len(self.summary.items)  # this Robot Framework run's pace
            eta = elapsed / here * left if here else 0
            logger.console(f"[{done}/{self.total}] {application_id} {outcome:<11} "
                           f"elapsed {elapsed:5.1f} s, about {eta:4.0f} s left")
        else:
            logger.console(f"[{done}] {application_id} {outcome:<11} elapsed {elapsed:5.1f} s")

    @keyword
    def finish_run(self) -> None:
        """Writes the run's run-summary.json and .xlsx, prints the summary, closes the browser."""
        try:
            self._hand_back_ahead()
            if self.summary is not None and self.task == "consumer":
                self.summary.finished_at = datetime.now(UTC)
                self.summary.retried_requests = {system: page.retried_requests
                                                 for system, page in sorted(self.ctx.pages().items())}
                self.summary.logins = {system: page.logins for system, page in sorted(self.ctx.pages().items())}
                self.summary.context_renewals = self.recycles
                json_path, xlsx_path = self.summary.write(self.run_dir)
                for line in self.summary.console_lines():
                    logger.console(line)
                logger.info(f"Run summary: {json_path} and {xlsx_path}")
        finally:
            self.ctx.close()
            close = getattr(self.ctx.health, "close", None)
            if close is not None:
                close()  # the last figures written


SYSTEM_PATTERN = re.compile(r"^(?:[A-Za-z]+Error: )?[A-Z_]+: ([a-z]+)\b")


def system_of(message: str) -> str:
    """'ApplicationError: SYSTEM_UNAVAILABLE: fk: login: ...' -> 'fk' (the failing system)."""
    match = SYSTEM_PATTERN.match(str(message).strip())
    return match.group(1) if match and match.group(1) in SYSTEMS else "okänt system"
