"""Keywords that apply RULES.md to a case bundle and render the caseworker's report."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword

from bistand.bot.context import ItemWork, RunContext
from bistand.core.engine import assess
from bistand.report.html import render_html
from bistand.report.pdf import render_pdf
from bistand.report.text import render_text


class AssessmentKeywords:
    """Assess Case, Write Report Files."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    @keyword
    def assess_case(self, work: ItemWork) -> None:
        """Runs the rules (pure Python) in the configured mode."""
        work.assessment = assess(work.bundle, self.ctx.settings.mode, norm_dir=self.ctx.settings.norm_dir)
        logger.info(f"{work.application_id}: proposal {work.assessment.proposal.value}, "
                    f"findings {', '.join(work.assessment.finding_codes) or 'none'}")

    @keyword
    def write_report_files(self, work: ItemWork) -> None:
        """Plain text (for the case-management system), HTML and PDF under output/reports/."""
        out = self.ctx.settings.reports_dir
        out.mkdir(parents=True, exist_ok=True)
        guideline = self.ctx.settings.guideline
        text = render_text(work.bundle, work.assessment, guideline)
        html = render_html(work.bundle, work.assessment, guideline)
        paths = {"txt": out / f"{work.application_id}.txt", "html": out / f"{work.application_id}.html",
                 "pdf": out / f"{work.application_id}.pdf"}
        paths["txt"].write_text(text, encoding="utf-8")
        paths["html"].write_text(html, encoding="utf-8")
        render_pdf(html, paths["pdf"], self.ctx.browser())
        work.report_paths = paths
        work.report_text = text
        logger.info(f"{work.application_id}: report written to {paths['html'].name}, {paths['pdf'].name}")
