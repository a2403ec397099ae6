"""Producer keywords: find new applications in the e-service inbox and queue them once."""

from __future__ import annotations

from pydantic import BaseModel
from robot.api import logger
from robot.api.deco import keyword

from bistand.bot.context import RunContext
from bistand.report.plural import plural

QUEUED_STATUS = "Under handläggning"


class NewApplication(BaseModel):
    """An application to queue: what a work item carries, and nothing personal."""

    application_id: str
    case_number: str
    period: str

    @property
    def work_item_variables(self) -> dict[str, str]:
        return self.model_dump()


class EServiceKeywords:
    """Collect Applications To Queue, Mark Application As Queued."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.fresh_ids: set[str] = set()

    @keyword
    def collect_applications_to_queue(self) -> list[NewApplication]:
        """New applications (status Ny, every page). The queue keeps each application once, ever,
        and keeps unfinished ones. Payload: application id, case number, period; nothing personal."""

        async def new_rows():
            eservice = await self.ctx.page("eservice")
            return await eservice.list_applications("Ny")

        rows = self.ctx.run(new_rows())
        self.fresh_ids = {r.application_id for r in rows}
        logger.info(f"{plural(len(rows), 'new application')} in the inbox")
        logger.console(f"Producer: {plural(len(rows), 'new application')} in the inbox")
        return [NewApplication(application_id=r.application_id, case_number=r.case_number, period=str(r.period))
                for r in rows]

    @keyword
    def mark_application_as_queued(self, application_id: str) -> None:
        """Sets the e-service status to Under handläggning for an application just listed as Ny.

        Items already queued keep whatever status they have (a caseworker may have moved them on)."""
        if application_id not in self.fresh_ids:
            return

        async def mark():
            eservice = await self.ctx.page("eservice")
            await eservice.set_status(application_id, QUEUED_STATUS)

        self.ctx.run(mark())
