"""The e-service inbox as the producer sees it: new applications, and marking them queued.

Shared by the producer suite's keywords and the watch adapter, which queues new applications
itself between items (bistand/run/watch_adapter.py).
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import BaseModel

from bistand.bot.context import RunContext
from bistand.core.ids import is_application_id
from bistand.pages.base import write_safely

LOG = logging.getLogger(__name__)

QUEUED_STATUS = "Under handläggning"


class NewApplication(BaseModel):
    """An application to queue: what a work item carries, and nothing personal."""

    application_id: str
    case_number: str
    period: str

    @property
    def work_item_variables(self) -> dict[str, str]:
        return self.model_dump()


async def new_applications(ctx: RunContext) -> list[NewApplication]:
    """Applications with status Ny, over every page of the inbox."""
    rows = await (await ctx.page("eservice")).list_applications("Ny")
    refused = [r for r in rows if not is_application_id(r.application_id)]
    if refused:  # never repeated: the value may be a path, markup or a personnummer
        LOG.warning("inbox: %d application(s) with an id not of the form ANS-YYYY-NNNNNN were not queued",
                    len(refused))
    return [NewApplication(application_id=r.application_id, case_number=r.case_number, period=str(r.period))
            for r in rows if is_application_id(r.application_id)]


async def mark_queued(ctx: RunContext, application_ids: list[str]) -> list[tuple[str, BaseException]]:
    """Sets Under handläggning on each, several at a time (as many as the e-service page object has
    tabs); returns the ones that failed, with their error (the others are set regardless)."""
    eservice = await ctx.page("eservice")

    async def mark(application_id: str) -> None:
        async def marked() -> bool:
            return await eservice.status(application_id) == QUEUED_STATUS

        await write_safely(eservice, lambda: eservice.set_status(application_id, QUEUED_STATUS), marked)

    results = await asyncio.gather(*(mark(application_id) for application_id in application_ids),
                                   return_exceptions=True)
    return [(application_id, result) for application_id, result in zip(application_ids, results, strict=True)
            if isinstance(result, BaseException)]
