"""Keywords that apply RULES.md to a case bundle and render the caseworker's report."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword

from bistand.bot.context import ItemWork, RunContext
from bistand.bot.prepare import InFlight


class AssessmentKeywords:
    """Assess Case, Write Report Files."""

    def __init__(self, ctx: RunContext, flight: InFlight) -> None:
        self.ctx = ctx
        self.flight = flight

    @keyword
    def assess_case(self, work: ItemWork) -> None:
        """Runs the rules (pure Python) in the configured mode."""
        self.flight.run_step(work, "assess")
        logger.info(f"{work.application_id}: proposal {work.assessment.proposal.value}, "
                    f"findings {', '.join(work.assessment.finding_codes) or 'none'}")

    @keyword
    def write_report_files(self, work: ItemWork) -> None:
        """Plain text (for the case-management system), HTML and PDF under output/reports/, with the
        sealed decision record under output/records/ (docs/records.md); the PDF prints while the
        decision basis is written, and Write Decision Basis waits for it."""
        self.flight.run_step(work, "report")
        paths = work.report_paths
        logger.info(f"{work.application_id}: report written to {paths['txt'].name}, {paths['html'].name} "
                    f"with its decision record; "
                    f"{paths['pdf'].name} printing (done before the item is)")
