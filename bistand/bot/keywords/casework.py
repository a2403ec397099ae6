"""Keywords for one application: read it from every system, write the outcome back.

Thin: the work happens in bistand.bot.casework (browser side) and bistand.core (rules).
Keywords pass an `ItemWork` handle whose repr is only the application id, so nothing personal
reaches log.html.
"""

from __future__ import annotations

import functools
from typing import Any

from robot.api import logger
from robot.api.deco import keyword
from RPA.Robocorp.WorkItems import WorkItems

from bistand.bot import tracing
from bistand.bot.context import ItemWork, RunContext
from bistand.bot.prepare import InFlight
from bistand.bot.takeover import settle_after_takeover
from bistand.core.errors import BusinessError
from bistand.core.ids import checked_application_id
from bistand.core.personnummer import mask_personnummer_in_text
from bistand.desktop.writeback import DesktopWriteBack
from bistand.report.plural import plural


class CaseworkKeywords:
    """Read Case From All Systems, Write Decision Basis, Decide Or Hand Over To Caseworker."""

    def __init__(self, ctx: RunContext, flight: InFlight, work_items: WorkItems) -> None:
        self.ctx = ctx
        self.flight = flight
        self.work_items = work_items
        """The suite's work-items library (bistand.run.library builds it): the item in hand."""

    @keyword
    def start_work_on_application(self) -> ItemWork | None:
        """The current input work item as a handle (the one prepared ahead when the runner took it
        ahead of the suite); None for an empty item (nothing queued)."""
        items = self.work_items
        payload = items.get_work_item_payload() or {}
        application_id = payload.get("application_id")
        if not application_id:
            logger.info("Empty work item: nothing to do")
            return None
        work = self.ctx.items.get(application_id)
        if work is None or work.ahead is None:
            work = work_from_payload(payload, items.adapter)
            self.ctx.items[application_id] = work
        else:
            logger.info(f"{application_id} was taken ahead: its steps have been running in flight")
        self.ctx.current_id = application_id
        logger.info(f"Working on {application_id} (case {payload['case_number']}, period {payload['period']})")
        return work

    @keyword
    def start_attempt(self, work: ItemWork, attempt: int = 1) -> None:
        """Begins a trace for this try when it is a retry (see bistand.bot.tracing). A retry runs
        every step again in the suite, whatever ran ahead."""
        if int(attempt) > 1:
            work.ahead_steps = {}
        if tracing.wanted(int(attempt), self.ctx.settings.trace):
            self.ctx.run(tracing.start_item_chunks(self.ctx))

    @keyword
    def end_attempt(self, work: ItemWork) -> None:
        self.ctx.run(tracing.discard_item_chunks(self.ctx))

    @keyword
    def log_in_to_all_systems(self) -> None:
        """Logs in to every system at once, so each item reuses eight warm sessions.

        A system that refuses now is not fatal here: its items fail as system errors, are
        retried, and the run stops after too many in a row (with the right exit code)."""
        results = self.ctx.run(self.ctx.log_in_everywhere())
        for system, error in results.items():
            if error is not None:
                logger.warn(f"Could not log in to {system}: {mask_personnummer_in_text(str(error))[:200]}")
        failed = sum(error is not None for error in results.values())
        logger.info(f"Logged in to {len(results) - failed} of {plural(len(results), 'system')}")

    @keyword
    def read_case_from_all_systems(self, work: ItemWork) -> None:
        """E-service form and attachments, every agency register for every member, the frame and
        the case, read concurrently; the result is the case bundle."""
        self.flight.run_step(work, "read")
        bundle = work.bundle
        logger.info(f"Read {work.application_id}: {plural(len(bundle.application.members), 'member')}, "
                    f"{plural(len(bundle.application.attachments), 'attachment')}, frame {bundle.frame.status.value}")

    @keyword
    def register_application_if_unknown(self, work: ItemWork) -> None:
        """Registers the application on its case (Registrera ansökan) when the case-management
        system does not know it yet, as a caseworker does with an application filed today."""
        self.flight.run_step(work, "register")
        if "application" in work.written:
            logger.info(f"{work.application_id}: registered in the case-management system")

    @keyword
    def write_decision_basis(self, work: ItemWork) -> None:
        """Pastes the report into the case-management system (once per application id) and, in
        automated mode, registers the decision; sets the e-service status."""
        if work.application_id in work.overview.decision_basis_ids:
            logger.info(f"{work.application_id}: decision basis already in the case-management system")
        if self.ctx.settings.casemgmt_client == "desktop":  # the basis through the desktop client
            self.ctx.run(settle_after_takeover(self.ctx, work))  # taken over: earlier writes landed
            work.confirm_lease()  # a runner whose lease was lost writes nothing
            self._desktop = getattr(self, "_desktop", None) or DesktopWriteBack(
                self.ctx.settings, self.ctx.settings.run_dir / "failures")
            work.written = [*work.written, *self._desktop.write(work, work.report_text)]
        self.flight.run_step(work, "write")
        logger.info(f"{work.application_id}: wrote {', '.join(work.written) or 'nothing new'}")


def work_from_payload(payload: dict, adapter: Any = None) -> ItemWork:
    """The handle for a work item's payload (application id, case number, period), with what the
    work-item adapter tells of its lease: the check the write-back calls before each write, how
    long the lease surely holds, and whether the item was taken over (`QueueAdapter`; nothing
    under an adapter that hands out items without leases: Control Room, files)."""
    application_id = checked_application_id(payload.get("application_id"))  # names files and log links
    for key in ("case_number", "period"):
        if not payload.get(key):
            raise BusinessError("WORK_ITEM_INVALID", f"{application_id}: work item has no {key}")
    work = ItemWork(application_id=application_id, case_number=payload["case_number"], period=payload["period"])
    if callable(confirm := getattr(adapter, "confirm_lease", None)):
        work.confirm_lease = functools.partial(confirm, application_id)
    if callable(valid_until := getattr(adapter, "lease_valid_until", None)):
        work.lease_valid_until = functools.partial(valid_until, application_id)
    if callable(settle_until := getattr(adapter, "settle_until", None)):
        work.settle_until = settle_until(application_id)
    return work
