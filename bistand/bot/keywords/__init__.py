"""The bot's keyword library for the task suites: one face, one component per concern.

`Library    bistand.bot.keywords.Bistand` in a task suite builds the run's context (settings, the
browser started on first use, one logged-in page object per system) and hands it to each
component when it is constructed, so state is passed in rather than held in a module global.
robotframework-pythonlibcore's `DynamicCore` gathers the components' `@keyword` methods into one
library, and pythonlibcore makes the run-control component (a listener) the library's listener: one
task per work item.

Keywords stay thin: the browser work is in bistand.bot.casework, the rules in bistand.core, the
reports in bistand.report. They pass an `ItemWork` handle whose repr is only the application id,
so nothing personal reaches log.html.
"""

from __future__ import annotations

from robotlibcore import DynamicCore

from bistand.bot.config import Settings
from bistand.bot.context import RunContext
from bistand.bot.keywords.assessment import AssessmentKeywords
from bistand.bot.keywords.casework import CaseworkKeywords
from bistand.bot.keywords.eservice import EServiceKeywords
from bistand.bot.keywords.run_control import RunControlKeywords
from bistand.bot.prepare import InFlight
from bistand.monitoring.health import PortalHealth

__all__ = ["Bistand"]


class Bistand(DynamicCore):
    """Keywords of the producer and consumer suites (one instance per robot run)."""

    ROBOT_LIBRARY_SCOPE = "GLOBAL"

    def __init__(self, settings: Settings | None = None) -> None:
        self.ctx = RunContext(settings, health=PortalHealth())  # the page objects report each request to it
        self.flight = InFlight(self.ctx)  # the applications in flight: their steps on the browser loop
        self.run_control = RunControlKeywords(self.ctx, self.flight)
        super().__init__([
            self.run_control,
            CaseworkKeywords(self.ctx, self.flight),
            AssessmentKeywords(self.ctx, self.flight),
            EServiceKeywords(self.ctx),
        ])
