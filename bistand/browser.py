"""One Chromium per run, driven by async Playwright on a private event-loop thread.

Robot Framework keywords are synchronous; the lookups of one application must run
concurrently. So the browser lives on its own asyncio loop in a background thread and keywords
submit coroutines to it (`session.run(coro)`). Each system gets its own browser context,
logged in once and reused for the whole run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import shutil
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

T = TypeVar("T")

ROOT_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


HEADLESS_SHELL_PATHS = ("/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium-headless-shell")
"""Debian's `chromium-headless-shell` (the binary itself, not the /usr/bin shell wrapper)."""
BrowserKind = Literal["headless-shell", "chromium"]


class BrowserOptions(Protocol):
    """Which Chromium and with which switches: `Settings.browser` (bistand.settings) fits this; the
    browser sits below the settings, so it names only what it reads."""

    kind: str
    chromium: str
    headless_shell: str
    process_per_site: bool
    extra_args: Sequence[str]
    ci: str


@dataclass(frozen=True)
class DefaultBrowserOptions:
    """The options when a caller gives none (tools, tests): the settings' defaults."""

    kind: str = "headless-shell"
    chromium: str = ""
    headless_shell: str = ""
    process_per_site: bool = False
    extra_args: Sequence[str] = field(default_factory=tuple)
    ci: str = ""


DEFAULT_OPTIONS = DefaultBrowserOptions()


def chromium_executable(explicit: str = "") -> str | None:
    """The system's full Chromium when present (never download a browser at run time)."""
    if explicit:
        return explicit
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None  # fall back to a Playwright-installed Chromium


def headless_shell_executable(explicit: str = "") -> str | None:
    """Debian's headless shell: the same engine without the windowing layer, about half the CPU
    per navigation and a quarter less memory (README, Performance)."""
    if explicit:
        return explicit
    return next((path for path in HEADLESS_SHELL_PATHS if Path(path).exists()), None)


def choose_browser(headless: bool, wanted: str | None = None,
                   options: BrowserOptions = DEFAULT_OPTIONS) -> tuple[BrowserKind, str | None]:
    """(kind, executable): the headless shell for headless runs when installed, full Chromium for
    headed runs, debugging (`browser.kind: chromium`, BISTAND_BROWSER) or when the shell is missing."""
    wanted = wanted or options.kind or "headless-shell"
    if wanted not in ("headless-shell", "chromium"):
        raise ValueError(f"unknown browser {wanted!r}: headless-shell or chromium")
    if headless and wanted == "headless-shell":
        shell = headless_shell_executable(options.headless_shell)
        if shell is not None:
            return "headless-shell", shell
    return "chromium", chromium_executable(options.chromium)


# Playwright's own --disable-features list (a second --disable-features switch replaces the
# first), plus what measurably cuts Chromium's CPU per navigation on a 2-core machine
# (tools/benchmark.py; about a quarter less): no back/forward cache, no RenderDocument swaps,
# no per-site process isolation (the bot only visits the municipality's and agencies' own
# systems).
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,"
    "AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,"
    "AimEnabled,PreconnectToSearch"
)
LEAN_ARGS = [
    f"--disable-features={PLAYWRIGHT_DISABLED_FEATURES},BackForwardCache,RenderDocument,IsolateOrigins,site-per-process",
    "--disable-site-isolation-trials",
    "--disable-renderer-accessibility",
    "--disable-threaded-scrolling",
    "--disable-smooth-scrolling",
    "--disable-threaded-animation",
    "--disable-checker-imaging",
    "--disable-partial-raster",
    # Memory (README, Performance): the software GPU work in the browser process rather than a
    # process of its own, at most three renderers shared by all tabs (the bot keeps one per
    # system otherwise), and V8 without its optimising compilers (the simulated GUIs run little
    # script; the renderers' PSS halves): a demo run's peak 1 051 → about 720 MiB.
    "--in-process-gpu",
    "--renderer-process-limit=3",
    "--js-flags=--lite-mode",
]


def launch_args(options: BrowserOptions = DEFAULT_OPTIONS) -> list[str]:
    args = list(ROOT_ARGS) + LEAN_ARGS
    if options.process_per_site:
        args.append("--process-per-site")  # low-memory mode: one renderer per site, slower
    args += list(options.extra_args)
    if hasattr(os, "geteuid") and os.geteuid() != 0 and not options.ci:
        args.remove("--no-sandbox")
    return args


DECORATION = re.compile(r"^[^?#]*(/favicon\.ico|\.css|\.png|\.ico|\.woff2?)([?#].*)?$")
"""Requests a tab that only logs in and posts forms does not need: icons, stylesheets, fonts."""


async def block_decoration(context: BrowserContext) -> None:
    """Abort icon, stylesheet and font loads in this context (only matching URLs are routed)."""
    await context.route(DECORATION, lambda route: route.abort())


class BrowserSession:
    """Owns the loop thread, Playwright, the browser and one context per system."""

    def __init__(self, headless: bool = True, default_timeout_ms: int = 15000, browser: str | None = None,
                 options: BrowserOptions = DEFAULT_OPTIONS) -> None:
        self.headless = headless
        self.options = options
        self.kind, self.executable = choose_browser(headless, browser, options)
        self.default_timeout_ms = default_timeout_ms
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="browser", daemon=True)
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._contexts: dict[str, BrowserContext] = {}
        self._started = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> BrowserSession:
        if not self._started:
            self._thread.start()
            self.run(self._start())
            self._started = True
        return self

    async def _start(self) -> None:
        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            headless=self.headless, executable_path=self.executable, args=launch_args(self.options)
        )

    def describe(self) -> str:
        """Which browser this run uses, for the console (no personal data)."""
        return f"{self.kind} ({self.executable or 'Playwright Chromium'})"

    def close(self) -> None:
        if not self._started:
            return
        try:
            self.run(self._close(), timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._started = False

    async def _close(self) -> None:
        for context in list(self._contexts.values()):
            with contextlib.suppress(Exception):  # closing a dead context is not an error
                await context.close()
        self._contexts.clear()
        if self._browser:
            await self._browser.close()
        if self._playwright:
            await self._playwright.stop()

    def __enter__(self) -> BrowserSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running work -----------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 300) -> T:
        """Run a coroutine on the browser loop and wait for its result (from any thread)."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start a coroutine on the browser loop without waiting for it (from any thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    @property
    def browser(self) -> Browser:
        assert self._browser is not None, "BrowserSession.start() first"
        return self._browser

    async def context(self, system: str, **options: Any) -> BrowserContext:
        """The system's context, created on first use (one per system per run)."""
        context = self._contexts.get(system)
        if context is None:
            context = await self.browser.new_context(
                accept_downloads=True, locale="sv-SE", timezone_id="Europe/Stockholm", **options
            )
            context.set_default_timeout(self.default_timeout_ms)
            context.set_default_navigation_timeout(self.default_timeout_ms)
            self._contexts[system] = context
        return context

    async def reset_context(self, system: str) -> None:
        context = self._contexts.pop(system, None)
        if context is not None:
            await context.close()

    @property
    def contexts(self) -> dict[str, BrowserContext]:
        return dict(self._contexts)
