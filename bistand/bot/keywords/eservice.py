"""Producer keywords: find new applications in the e-service inbox and queue them once."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from robot.api import logger
from robot.api.deco import keyword

from bistand.bot.context import RunContext
from bistand.core.errors import ApplicationError
from bistand.core.personnummer import mask_personnummer_in_text
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
    """Collect Applications To Queue, Mark Applications As Queued."""

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
    def mark_applications_as_queued(self, applications: list[NewApplication]) -> None:
        """Sets the e-service status to Under handläggning for the applications just listed as Ny,
        several at a time (as many as the e-service page object has tabs).

        Items already queued keep whatever status they have (a caseworker may have moved them on).
        A status that could not be set is named afterwards; the others are set regardless, and
        the next producer run sets it (the application is queued either way)."""
        wanted = [a.application_id for a in applications if a.application_id in self.fresh_ids]

        async def mark_all() -> list[BaseException | None]:
            eservice = await self.ctx.page("eservice")
            return await asyncio.gather(*(eservice.set_status(application_id, QUEUED_STATUS)
                                          for application_id in wanted), return_exceptions=True)

        results = self.ctx.run(mark_all()) if wanted else []
        failed = [(application_id, result) for application_id, result in zip(wanted, results, strict=True)
                  if isinstance(result, BaseException)]
        logger.info(f"{plural(len(wanted) - len(failed), 'application')} marked {QUEUED_STATUS!r} in the e-service")
        if failed:
            first = mask_personnummer_in_text(str(failed[0][1]))[:200]
            raise ApplicationError("STATUS_NOT_SET", f"eservice: {plural(len(failed), 'status', 'statuses')} "
                                                     f"not set ({', '.join(a for a, _ in failed)}): {first}")
