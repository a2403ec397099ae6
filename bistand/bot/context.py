"""The run's shared state: settings, the one browser, one logged-in page object per system.

The keyword library (bistand.bot.keywords) builds one per robot run and passes it to each of its
components, so the browser starts once per run and every system is logged in once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from playwright.async_api import Error as PlaywrightError
from robot.api import logger

from bistand.browser import BrowserSession, block_decoration
from bistand.pages.base import HealthRecorder, NoHealth, PortalPage, ReadRetry
from bistand.settings import Settings
from bistand.settings.vault import credentials

PAGE_MODULES = {
    "eservice": "bistand.pages.eservice",
    "fk": "bistand.pages.fk",
    "af": "bistand.pages.af",
    "csn": "bistand.pages.csn",
    "skv": "bistand.pages.skv",
    "pm": "bistand.pages.pm",
    "akassa": "bistand.pages.akassa",
    "casemgmt": "bistand.pages.casemgmt",
}


def page_class(system: str) -> type[PortalPage]:
    """The PortalPage subclass in a system's page-object module whose `system` is that key."""
    module = importlib.import_module(PAGE_MODULES[system])
    classes = [
        obj for _name, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, PortalPage) and obj.__module__ == module.__name__ and obj.system == system
    ]
    if len(classes) != 1:
        raise RuntimeError(f"{module.__name__} must define exactly one page object")
    return classes[0]


@dataclass
class ItemWork:
    """What the consumer holds for one application between keywords (never logged)."""

    application_id: str
    case_number: str
    period: str
    started: float = field(default_factory=time.perf_counter)
    bundle: Any = None
    assessment: Any = None
    overview: Any = None
    report_paths: dict[str, Path] = field(default_factory=dict)
    printing: Any = None
    """The PDF being printed while the writes go on (an asyncio task on the browser loop)."""
    report_text: str = ""
    written: list[str] = field(default_factory=list)
    ahead: Any = None
    """The background run of this application's steps when it is prepared in flight (a future)."""
    ahead_steps: dict[str, Any] = field(default_factory=dict)
    """Step name → the result of that step run ahead (see bistand.bot.prepare.InFlight)."""
    reads: dict[tuple, Any] = field(default_factory=dict)
    """What an earlier try of this item read successfully (the form, attachments, each register's
    answer), so a retry repeats only what failed. The case page and the e-service's case search are
    always read afresh: the writes and DUPLICATE_PERIOD depend on what they show now."""
    confirm_lease: Callable[[], None] = field(default=lambda: None, repr=False)
    """Raises LeaseLost when this runner no longer holds the item (the queue adapter's check,
    given with the work item; nothing to check under an adapter without leases). Called before
    every write-back, so a runner whose lease was taken over writes nothing."""
    lease_valid_until: Callable[[], float] = field(default=lambda: math.inf, repr=False)
    """Monotonic time until which this runner surely holds the item; a write still going on then
    is cut off (`bistand.bot.takeover.within_lease`). Infinite without leases."""
    settle_until: float = 0.0
    """Monotonic time before which the write-back must not look for an earlier holder's writes:
    set when the item was taken over from a runner that never released it, 0 otherwise."""
    settled: bool = False
    """Whether the write-back has waited for `settle_until` and read the case again."""

    def __repr__(self) -> str:
        return f"<ItemWork {self.application_id}>"


class RunContext:
    """One robot run's state, built by the keyword library and handed to each of its components."""

    def __init__(self, settings: Settings, health: HealthRecorder | None = None) -> None:
        self.settings = settings
        self.health = health or NoHealth()
        """Every page object reports its requests here (portal health, bistand.monitoring.health)."""
        self.session: BrowserSession | None = None
        self._pages: dict[str, PortalPage] = {}
        self.items: dict[str, ItemWork] = {}
        self.started = time.perf_counter()
        self.current_id = ""
        """The application the suite works on now."""

    def browser(self) -> BrowserSession:
        if self.session is None:
            self.session = BrowserSession(
                headless=self.settings.headless, default_timeout_ms=self.settings.page_timeout_ms,
                options=self.settings.browser,
            ).start()
            logger.console(f"Browser: {self.session.describe()}")
        return self.session

    def run(self, coro, timeout: float | None = 300):
        return self.browser().run(coro, timeout=timeout)

    def partition(self, system: str) -> str:
        """Which browser context a system's pages live in.

        Default `system`: one context per system, each logged in once (and measured fastest: the
        systems' lookups then run in parallel renderers). `BISTAND_CONTEXT_PER=host` shares one
        context per host name (cookies are host-scoped, so sessions on different hosts stay apart
        either way): with `BISTAND_PROCESS_PER_SITE=1` that is the low-memory mode, about 40 %
        less memory for about three times the seconds per application (README, Performance).
        """
        if self.settings.browser.context_per == "host":
            return urlparse(self.settings.urls[system]).hostname or system
        return system

    async def page(self, system: str) -> PortalPage:
        """The system's page object, logged in once and reused (created on first use)."""
        page = self._pages.get(system)
        if page is None:
            partition = self.partition(system)
            strategy = self.settings.read_strategy(system)
            session_file = self.session_file(system) if partition == system else None
            restored = session_file is not None and session_file.exists() and partition not in self.browser().contexts
            options = {"storage_state": str(session_file)} if restored else {}
            context = await self.browser().context(partition, **options)
            if strategy == "fetch":
                await block_decoration(context)  # its tabs only log in and post forms
            page = page_class(system)(context, self.settings.urls[system], credentials(system, self.settings),
                                      read_strategy=strategy, session_file=session_file, restored=restored,
                                      read_retry=ReadRetry(tries=self.settings.read_tries), health=self.health)
            self._pages[system] = page
        return page

    async def log_in_everywhere(self) -> dict[str, BaseException | None]:
        """Every system logged in at once (a kept login state counts); system → its error or None."""
        pages = [await self.page(system) for system in self.settings.urls]
        results = await asyncio.gather(*(page.ensure_logged_in() for page in pages), return_exceptions=True)
        return {system: result if isinstance(result, BaseException) else None
                for system, result in zip(self.settings.urls, results, strict=True)}

    def busy(self) -> bool:
        """Whether anything still runs on the browser: an application prepared ahead, or a PDF
        printing. Contexts are recycled only when nothing does."""
        return any(
            (work.ahead is not None and not work.ahead.done())
            or (work.printing is not None and not work.printing.done())
            for work in self.items.values()
        )

    async def recycle_contexts(self) -> list[str]:
        """Closes every browser context and goes on in fresh ones, logged in through the closed
        ones' storage state (cookies), so no system logs in again. Returns the partitions renewed.

        Why: Playwright keeps every request and response of a context in its driver and in this
        process until the context closes, and Chromium's renderers keep what the context's tabs
        built; over a long run that grows by megabytes per application (README, Performance).
        Call only between items, when nothing is in flight (`busy()` is False): the tabs close
        with their context. Page objects stay (their counters, their login lock) and are rebound."""
        session = self.browser()
        by_partition: dict[str, list[PortalPage]] = {}
        for system, page in self._pages.items():
            by_partition.setdefault(self.partition(system), []).append(page)
        renewed = []
        for partition, old in session.contexts.items():
            pages = by_partition.get(partition, [])
            state = None
            with contextlib.suppress(PlaywrightError):  # a dead context: its systems log in again
                state = await old.storage_state() if pages else None
            with contextlib.suppress(PlaywrightError):
                await session.reset_context(partition)
            if not pages:
                continue  # the report context and the like: made again on first use
            context = await session.context(partition, **({"storage_state": state} if state else {}))
            if any(page.read_strategy == "fetch" for page in pages):
                await block_decoration(context)
            for page in pages:
                page.rebind(context, logged_in=state is not None)
            renewed.append(partition)
        return renewed

    def session_file(self, system: str) -> Path:
        """The system's kept login state: under the state dir (never output/), owner-only."""
        return self.settings.state_dir / "sessions" / f"{system}.json"

    def pages(self) -> dict[str, PortalPage]:
        return dict(self._pages)

    def close(self) -> None:
        if self.session is not None:
            pages = list(self._pages.values())

            async def close_pages() -> None:
                await asyncio.gather(*(page.close() for page in pages), return_exceptions=True)

            try:
                self.session.run(close_pages(), timeout=10)
            finally:
                self.session.close()
                self.session = None
        self._pages.clear()
