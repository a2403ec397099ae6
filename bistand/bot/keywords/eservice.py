"""Producer keywords: find new applications in the e-service inbox and queue them once."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword

from bistand.bot.context import RunContext
from bistand.bot.inbox import QUEUED_STATUS, NewApplication, mark_queued, new_applications
from bistand.core.errors import ApplicationError
from bistand.core.personnummer import mask_personnummer_in_text
from bistand.report.plural import plural


class EServiceKeywords:
    """Collect Applications To Queue, Mark Applications As Queued."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.fresh_ids: set[str] = set()

    @keyword
    def collect_applications_to_queue(self) -> list[NewApplication]:
        """New applications (status Ny, every page). The queue keeps each application once, ever,
        and keeps unfinished ones. Payload: application id, case number, period; nothing personal."""

        found = self.ctx.run(new_applications(self.ctx))
        self.fresh_ids = {a.application_id for a in found}
        logger.info(f"{plural(len(found), 'new application')} in the inbox")
        logger.console(f"Producer: {plural(len(found), 'new application')} in the inbox")
        return found

    @keyword
    def mark_applications_as_queued(self, applications: list[NewApplication]) -> None:
        """Sets the e-service status to Under handläggning for the applications just listed as Ny,
        several at a time (as many as the e-service page object has tabs).

        Items already queued keep whatever status they have (a caseworker may have moved them on).
        A status that could not be set is named afterwards; the others are set regardless, and
        the next producer run sets it (the application is queued either way)."""
        wanted = [a.application_id for a in applications if a.application_id in self.fresh_ids]

        failed = self.ctx.run(mark_queued(self.ctx, wanted)) if wanted else []
        logger.info(f"{plural(len(wanted) - len(failed), 'application')} marked {QUEUED_STATUS!r} in the e-service")
        if failed:
            first = mask_personnummer_in_text(str(failed[0][1]))[:200]
            raise ApplicationError("STATUS_NOT_SET", f"eservice: {plural(len(failed), 'status', 'statuses')} "
                                                     f"not set ({', '.join(a for a, _ in failed)}): {first}")
