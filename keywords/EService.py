"""Producer keywords: find new applications in the e-service inbox and queue them once."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword, library

from bistand.bot.context import RunContext
from bistand.report.plural import plural

QUEUED_STATUS = "Under handläggning"


@library(scope="GLOBAL", auto_keywords=False)
class EService:
    """Collect Applications To Queue, Mark Application As Queued."""

    def __init__(self) -> None:
        self.fresh_ids: set[str] = set()

    @property
    def ctx(self) -> RunContext:
        return RunContext.get()

    @keyword
    def collect_applications_to_queue(self) -> list[dict]:
        """New applications (status Ny, every page) not queued before, plus the ones a crashed
        run left unfinished. Payload: application id, case number, period; nothing personal."""

        async def new_rows():
            eservice = await self.ctx.page("eservice")
            return await eservice.list_applications("Ny")

        rows = self.ctx.run(new_rows())
        ledger = self.ctx.ledger
        fresh = [r for r in rows if ledger.queue(r.application_id, r.case_number, r.period)]
        fresh_ids = {r.application_id for r in fresh}
        self.fresh_ids = fresh_ids
        resumed = [e for e in ledger.unfinished() if e.application_id not in fresh_ids]
        payloads = [{"application_id": r.application_id, "case_number": r.case_number, "period": r.period}
                    for r in fresh]
        payloads += [{"application_id": e.application_id, "case_number": e.case_number, "period": e.period}
                     for e in resumed]
        logger.info(f"{len(rows)} new in the inbox, {len(fresh)} queued now, {len(resumed)} resumed")
        logger.console(f"Producer: {plural(len(fresh), 'new application')}, {len(resumed)} unfinished resumed")
        return payloads

    @keyword
    def mark_application_as_queued(self, application_id: str) -> None:
        """Sets the e-service status to Under handläggning for an application just listed as Ny.

        Resumed items keep whatever status they have (a caseworker may have moved them on)."""
        if application_id not in self.fresh_ids:
            return

        async def mark():
            eservice = await self.ctx.page("eservice")
            await eservice.set_status(application_id, QUEUED_STATUS)

        self.ctx.run(mark())
