"""The run's composition root: the one Robot Framework library the task suites import.

`Library    bistand.run.library.RunLibrary` in tasks/*.robot builds, once per robot run, every part
a run is made of and hands each part what it uses; no part looks another up (none through
Robot Framework's library registry). Reading `RunLibrary.__init__` answers who takes the next item:

1. rpaframework's work-items library with the adapter `RPA_WORKITEMS_ADAPTER` names: the work
   queue's (bistand.run.adapter.QueueAdapter, set by bistand.run.work), watch mode's
   (bistand.run.watch_adapter.WatchAdapter, given the run context to poll the inbox with), a file's
   for a replay (rpaframework's FileAdapter) or Control Room's own;
2. the run's settings, loaded once: the queue's adapter loads them (the file the runner names in
   `BISTAND_SETTINGS`, bistand.run.suite), any other adapter leaves it to this library;
3. the run context (bistand.bot.context): the settings, the one browser started on first use, one
   logged-in page object per system, the portals' health figures (bistand.monitoring.health);
4. the queue's store when the adapter has one: the outcomes for the dashboard
   (bistand.bot.recording) and the portals' figures go there;
5. the bot's keyword components (bistand.bot.keywords): run control (one task per work item, the
   summary, when to stop), casework, assessment and the e-service inbox, and the applications in
   flight (bistand.bot.prepare.InFlight) that they share.

robotframework-pythonlibcore's DynamicCore joins the components' keywords (the work-items
library's own included) into this one library, and makes the work-items library and the run control
its listeners, in that order (as when the suites imported the two libraries one after the other).
"""

from __future__ import annotations

from robot.api import logger
from robotlibcore import DynamicCore
from RPA.Robocorp.WorkItems import WorkItems

from bistand.bot.context import RunContext
from bistand.bot.keywords.assessment import AssessmentKeywords
from bistand.bot.keywords.casework import CaseworkKeywords
from bistand.bot.keywords.eservice import EServiceKeywords
from bistand.bot.keywords.run_control import RunControlKeywords
from bistand.bot.prepare import InFlight
from bistand.monitoring.health import PortalHealth
from bistand.queue.store import QueueStore
from bistand.run.adapter import QueueAdapter
from bistand.run.watch_adapter import WatchAdapter
from bistand.settings import Settings, load

__all__ = ["RunLibrary"]


class RunLibrary(DynamicCore):
    """Keywords of the producer and consumer suites (one instance per robot run)."""

    ROBOT_LIBRARY_SCOPE = "GLOBAL"

    def __init__(self, settings: Settings | None = None) -> None:
        self.work_items = WorkItems()  # its adapter: RPA_WORKITEMS_ADAPTER (see the module docstring)
        try:
            adapter = self.work_items.adapter
        except Exception as exc:  # noqa: BLE001 - e.g. Control Room's adapter outside Control Room (a dry
            # run): the work-items library says what is missing when the suite asks for an item
            logger.debug(f"work-item adapter not built yet: {type(exc).__name__}")
            adapter = None
        if settings is None:  # loaded once per robot run: by the queue's adapter, else here
            settings = adapter.settings if isinstance(adapter, QueueAdapter) else load()
        self.ctx = RunContext(settings, health=PortalHealth())  # the page objects report each request to it
        if isinstance(adapter, WatchAdapter):
            adapter.use_run_context(self.ctx)  # it polls the inbox with the run's browser and logins
        store = getattr(adapter, "store", None)
        self.store = store if isinstance(store, QueueStore) else None
        self.flight = InFlight(self.ctx)  # the applications in flight: their steps on the browser loop
        self.run_control = RunControlKeywords(self.ctx, self.flight, self.work_items, self.store)
        super().__init__([
            self.work_items,
            self.run_control,
            CaseworkKeywords(self.ctx, self.flight, self.work_items),
            AssessmentKeywords(self.ctx, self.flight),
            EServiceKeywords(self.ctx),
        ])
