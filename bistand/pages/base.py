"""What every page object shares: logging in once per context, re-login on expiry, reading a
page by the system's read strategy, and the HTML readers (tables, definition lists, links) the
pure parsers are built from.

Read strategies (one per system, in the configuration):
- `render`: the tab navigates to the page and the parser reads `page.content()`;
- `fetch`: the same URL through the logged-in browser context's request API (same cookies, no
  renderer, no stylesheet or favicon), read by the same parser.
Logins and every form post that changes data are real GUI interactions in both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urljoin
from weakref import WeakKeyDictionary

import lxml.html
import pyotp
from lxml.html import HtmlElement
from playwright.async_api import BrowserContext, Page, Response
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from bistand.core.errors import ApplicationError
from bistand.core.personnummer import mask_personnummer_in_text
from bistand.settings.vault import Credentials as Credentials  # the vault's type; page objects log in with it

BLUR_ALL_TEXT = "body * { filter: blur(9px) !important; } input, textarea { color: transparent !important; }"

_AMOUNT_NOISE = re.compile(r"[\s\u00a0\u202f]|kr|sek|:-", re.IGNORECASE)


_UNREACHABLE = re.compile(r"net::(ERR_(?:CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|CONNECTION_TIMED_OUT|"
                          r"NAME_NOT_RESOLVED|ADDRESS_UNREACHABLE|INTERNET_DISCONNECTED|EMPTY_RESPONSE|UNSAFE_PORT))")


def error_text(system: str, base_url: str, exc: PlaywrightError) -> str:
    """A browser error as one line for the log: an unreachable system says where and what to start.

    Playwright's message carries a multi-line call log; it never reaches the console or the log.
    """
    message = (exc.message or str(exc)).split("\nCall log:")[0].strip()
    unreachable = _UNREACHABLE.search(message)
    if unreachable:
        return (f"{system} could not be reached at {base_url} ({unreachable.group(1)}): start the simulators "
                f"(make simulators) or check BISTAND_URL_{system.upper()}")
    return mask_personnummer_in_text(message.splitlines()[0] if message else type(exc).__name__)[:160]


def parse_kr(text: str) -> int:
    """'12 345 kr', '12\u00a0345 kr', '12345,00', '7 200:-' -> whole kronor.

    Raises ValueError for anything else (a changed page must not silently become 0).
    """
    cleaned = _AMOUNT_NOISE.sub("", text or "")
    match = re.fullmatch(r"(-?\d+)(?:[.,](\d{1,2}))?", cleaned)
    if not match:
        raise ValueError(f"not an amount: {text[:40]!r}")
    whole, decimals = match.groups()
    if decimals and int(decimals) != 0:
        raise ValueError(f"amount with öre: {text[:40]!r}")
    return int(whole)


def parse_date(text: str) -> date:
    """ISO dates ('2026-12-20') as Swedish agencies print them."""
    return date.fromisoformat(text.strip()[:10])


def cell_text(text: str | None) -> str:
    return " ".join((text or "").replace("\u00a0", " ").split())


# -- reading HTML: the building blocks of every page's parser ---------------------------------

ReadStrategy = Literal["fetch", "render"]
READ_STRATEGIES: tuple[ReadStrategy, ...] = ("fetch", "render")
T = TypeVar("T")


def page_changed(system: str, what: str) -> ApplicationError:
    """A page that no longer looks as expected; the message names the part, never the data."""
    return ApplicationError("PAGE_CHANGED", f"{system}: {what}")


def parse_html(html: str) -> HtmlElement:
    """The document tree of a page (lxml's HTML parser, forgiving like a browser's)."""
    return lxml.html.document_fromstring(html or "<html><body></body></html>")


def text_of(element: HtmlElement | None) -> str:
    """The element's visible text with whitespace collapsed ('' for None)."""
    return "" if element is None else cell_text(element.text_content())


def data_of(element: HtmlElement) -> dict[str, str]:
    """The element's data-* attributes without the prefix (`data-in-school` -> `in-school`)."""
    return {key[5:]: value for key, value in element.attrib.items() if key.startswith("data-")}


def _label_of(root: HtmlElement, element: HtmlElement) -> str:
    """An element's accessible name as the page gives it: aria-label, aria-labelledby, caption."""
    if element.get("aria-label"):
        return cell_text(element.get("aria-label"))
    labelled_by = element.get("aria-labelledby")
    if labelled_by:
        return " ".join(text_of(next(iter(root.xpath("//*[@id=$id]", id=ref)), None)) for ref in labelled_by.split())
    if element.tag == "table":
        caption = element.find("caption")
        return text_of(caption)
    return ""


def named(root: HtmlElement, tags: str, name: str) -> list[HtmlElement]:
    """Elements of the given tags ('table', 'section|article', 'nav|div') named `name` exactly."""
    wanted = set(tags.split("|"))
    return [element for element in root.iter(*wanted) if _label_of(root, element) == name]


def one_named(root: HtmlElement, tags: str, name: str, system: str) -> HtmlElement:
    found = named(root, tags, name)
    if len(found) != 1:
        raise page_changed(system, f"no single {tags.split('|')[0]} named {name!r}")
    return found[0]


@dataclass
class Cell:
    """One table cell: visible text (whitespace collapsed), data-*, its <time datetime>, its link."""

    text: str
    data: dict[str, str] = field(default_factory=dict)
    time: str | None = None
    href: str | None = None
    raw_text: str = ""


def cell_of(element: HtmlElement) -> Cell:
    times = element.xpath(".//time/@datetime")
    links = element.xpath(".//a/@href")
    raw = element.text_content()
    return Cell(text=cell_text(raw), data=data_of(element), time=times[0] if times else None,
                href=links[0] if links else None, raw_text=raw)


@dataclass
class Row:
    """A body row: the row's own data-* and its cells by header text."""

    data: dict[str, str]
    cells: list[Cell]
    by_header: dict[str, Cell]

    def __getitem__(self, header: str) -> Cell:
        return self.by_header[header]


@dataclass
class Table:
    headers: list[str]
    rows: list[Row]
    """Body rows that span every column (placeholder rows such as 'Inga bilagor.' are not rows)."""
    ragged: int = 0
    """Body rows that did not span every column."""


def read_table(table: HtmlElement, required: tuple[str, ...] | list[str], system: str, what: str = "") -> Table:
    """A table keyed by the header text a person sees; the `required` headers must be there."""
    headers = [text_of(th) for th in table.xpath("./thead//th")]
    if not headers:
        first = table.xpath("./tr[1]|./tbody[1]/tr[1]")
        headers = [text_of(th) for th in first[0].xpath("./th")] if first else []
    missing = [name for name in required if name not in headers]
    what = what or f"table {_label_of(table, table)!r}"
    if missing:
        raise page_changed(system, f"{what} lacks the column(s) {', '.join(missing)}")
    rows, ragged = [], 0
    for tr in table.xpath("./tbody/tr"):
        cells = [cell_of(td) for td in tr.xpath("./td|./th")]
        if len(cells) != len(headers):
            ragged += 1
            continue
        rows.append(Row(data=data_of(tr), cells=cells, by_header=dict(zip(headers, cells, strict=True))))
    return Table(headers=headers, rows=rows, ragged=ragged)


def read_definitions(root: HtmlElement) -> dict[str, Cell]:
    """A definition list (every <dt> with the <dd> right after it) as {term: Cell}."""
    facts: dict[str, Cell] = {}
    for dt in root.iter("dt"):
        dd = dt.getnext()
        if dd is not None and dd.tag == "dd":
            facts[text_of(dt)] = cell_of(dd)
    return facts


def read_row_headers(table: HtmlElement) -> dict[str, str]:
    """A two-column facts table (<tr><th>label</th><td>value</td>) as {label: value}."""
    facts = {}
    for tr in table.iter("tr"):
        th, td = tr.find(".//th"), tr.find(".//td")
        facts[text_of(th)] = text_of(td)
    return facts


def headings(root: HtmlElement, level: int) -> list[str]:
    return [text_of(h) for h in root.iter(f"h{level}")]


def has_text(root: HtmlElement, text: str) -> bool:
    """Whether the page shows `text` anywhere (as `get_by_text` finds it)."""
    body = root.find("body")
    return text in text_of(body if body is not None else root)


def link_href(root: HtmlElement, name: str, within: HtmlElement | None = None) -> str | None:
    """The href of the one link whose visible text is exactly `name` (None when there is none)."""
    scope = within if within is not None else root
    hrefs = [a.get("href") for a in scope.iter("a") if text_of(a) == name and a.get("href")]
    return hrefs[0] if hrefs else None


@dataclass(frozen=True)
class SearchForm:
    """A search form as a person sees it: where it goes, how, and the field labelled 'Personnummer'."""

    method: str
    action: str
    field: str


def parse_search_form(html: str, url: str, label: str, system: str) -> SearchForm:
    """The form holding the field labelled `label` (by <label for>), resolved against `url`."""
    root = parse_html(html)
    for element in root.iter("label"):
        if text_of(element) != label or not element.get("for"):
            continue
        field_elements = root.xpath("//*[@id=$id]", id=element.get("for"))
        if len(field_elements) != 1 or not field_elements[0].get("name"):
            continue
        forms = [ancestor for ancestor in field_elements[0].iterancestors("form")]
        if not forms:
            continue
        form = forms[0]
        return SearchForm(method=(form.get("method") or "get").lower(), action=urljoin(url, form.get("action") or url),
                          field=field_elements[0].get("name"))
    raise page_changed(system, f"no search field labelled {label!r}")


TAB_USES = 20
"""A pooled tab is closed after this many uses and a fresh one opened. Chromium's renderer keeps
what each navigation of a tab built (about 0.6 MiB per page and form post, measured in README,
Performance) and the Playwright driver and client keep each request of a page until the page
closes; a new tab costs a few milliseconds."""

TRANSIENT_HTTP = frozenset({502, 503, 504})
"""Answers a gateway or an overloaded server gives now and then; the same request may well pass."""


class TransientError(ApplicationError):
    """System trouble the same request may not meet again: a timeout, a dropped or refused
    connection, HTTP 502/503/504. A read is tried again on it (ReadRetry) before it fails the item."""


@dataclass(frozen=True)
class ReadRetry:
    """How one read (a page GET, or a search, which changes nothing) is tried again on a transient
    failure before it counts as the item's failure: with some 20 requests per application, one
    failed request in ten would otherwise fail almost every try of the whole application."""

    tries: int = 3
    """Tries of one read in all (1: no retry)."""
    first_wait_s: float = 0.1
    max_wait_s: float = 2.0
    """The waits between tries are random (full jitter) and grow exponentially up to this."""

    def retrying(self, on_retry: Callable[[RetryCallState], None], tries: int | None = None) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception_type(TransientError), stop=stop_after_attempt(max(1, tries or self.tries)),
            wait=wait_random_exponential(multiplier=self.first_wait_s, max=self.max_wait_s),
            before_sleep=on_retry, reraise=True,
        )


async def write_safely(page: Any, write: Callable[[], Awaitable[object]],
                       landed: Callable[[], Awaitable[bool]]) -> bool:
    """One write, tried again on a transient failure only after a fresh look shows it did not land
    (a 503 or a timeout may come after the system saved it). Returns whether this call wrote.
    `page` is the system's page object (its ReadRetry, and its count of requests tried again).

    A write takes a few requests (the form, the post, the page it leads to), each of which may
    fail, and each try is checked first: it gets twice the tries of a read."""
    async for attempt in page.read_retry.retrying(page.count_retry, tries=2 * page.read_retry.tries):
        with attempt:
            if attempt.retry_state.attempt_number > 1 and await landed():
                return False
            observed = getattr(page, "observed", None)  # the portal's health: the write as a whole, form post included
            async with observed() if observed is not None else contextlib.nullcontext():
                await write()
            return True
    raise AssertionError("unreachable: the retrying loop returns or raises")


PortalOutcome = Literal["ok", "http_error", "timeout", "login_failed", "page_changed"]
"""How one request to a system went, as the portal-health figures count it (no data, only the class)."""


def outcome_class(exc: BaseException) -> PortalOutcome | None:
    """The class of a failed request; None when the failure is not the system's (a cancelled task,
    a lost lease, bad data in an answer the system gave correctly)."""
    if not isinstance(exc, ApplicationError):
        return None
    code = getattr(exc, "code", "")
    if code == "TIMEOUT":
        return "timeout"
    if code == "LOGIN_FAILED":
        return "login_failed"
    if code == "PAGE_CHANGED":
        return "page_changed"
    if code == "SYSTEM_UNAVAILABLE":
        return "http_error"
    return None


class HealthRecorder(Protocol):
    """Where page objects report each request's system, outcome class and seconds
    (bistand.monitoring.health.PortalHealth buffers them and writes them per minute)."""

    def record(self, system: str, outcome: PortalOutcome, seconds: float) -> None: ...


class NoHealth:
    """A recorder that keeps nothing (page objects used outside a run: tests, the bench's floor)."""

    def record(self, system: str, outcome: PortalOutcome, seconds: float) -> None:
        return None


@dataclass
class Fetched:
    """A page as read: the URL it ended on and its HTML."""

    url: str
    html: str


class PortalPage:
    """Base for one system's page object: a context logged in once and reused.

    `open()` navigates a fresh tab, logs in again when the session has expired (the site sends
    us to its login page), and turns server errors and timeouts into ApplicationError.
    """

    system = "system"
    login_path = "/login"
    pool_size = 2

    default_read_strategy: ReadStrategy = "fetch"
    """When the caller names none: the simulated portals render on the server, so fetch."""

    def __init__(self, context: BrowserContext, base_url: str, credentials: Credentials,
                 read_strategy: ReadStrategy | None = None, session_file: Path | None = None,
                 restored: bool = False, read_retry: ReadRetry | None = None,
                 health: HealthRecorder | None = None) -> None:
        read_strategy = read_strategy or self.default_read_strategy
        if read_strategy not in READ_STRATEGIES:
            raise ValueError(f"unknown read strategy {read_strategy!r}: fetch or render")
        self.read_strategy: ReadStrategy = read_strategy
        self.context = context
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._login_lock = asyncio.Lock()
        self.session_file = session_file
        """Where the login state is kept between runs (Playwright storage state, mode 0600)."""
        self._logged_in = restored
        """True once logged in, or when the context was created from a kept login state."""
        self.logins = 0
        self._idle: list[Page] = []
        self._uses: WeakKeyDictionary[Page, int] = WeakKeyDictionary()
        """How often each pooled tab has been taken (bistand.pages.base TAB_USES)."""
        self._slots = asyncio.Semaphore(self.pool_size)
        """Successful logins so far: concurrent callers who saw the same count share one login."""
        self.failure_screenshots: list[bytes] = []
        """Blurred screenshots of pages that failed, for the run's failure artifacts."""
        self.read_retry = read_retry or ReadRetry()
        self.retried_requests = 0
        """Requests tried again after a transient failure: reads, and writes checked first (the run's
        figures show them per system)."""
        self.health: HealthRecorder = health or NoHealth()
        """Told of every read, login and write: its outcome class and seconds (portal health)."""

    @asynccontextmanager
    async def observed(self) -> AsyncIterator[None]:
        """Times what runs inside and tells `health` how it went (each try of a request separately)."""
        started = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            outcome = outcome_class(exc)
            if outcome is not None:
                self.health.record(self.system, outcome, time.perf_counter() - started)
            raise
        self.health.record(self.system, "ok", time.perf_counter() - started)

    def rebind(self, context: BrowserContext, logged_in: bool = True) -> None:
        """Use a fresh browser context from now on (bistand.bot.context `recycle_contexts`): the old
        one was closed with its tabs, its login state (cookies) carried over unless `logged_in` is
        False. Only between items, when none of this system's tabs is in use; the counters stay."""
        self.context = context
        self._idle = []
        self._slots = asyncio.Semaphore(self.pool_size)
        self._logged_in = self._logged_in and logged_in

    def count_retry(self, _state: RetryCallState) -> None:
        self.retried_requests += 1

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def close(self) -> None:
        """Frees what the page object holds besides its browser context (nothing, by default)."""

    async def new_page(self) -> Page:
        """A tab from this system's pool; waits while `pool_size` tabs are in use.

        Opening a tab costs a renderer process; a few reused tabs per system keep a run fast and
        its memory small. Every tab taken must be given back with `release` or `discard`.
        """
        await self._slots.acquire()
        try:
            while self._idle:
                page = self._idle.pop()
                if not page.is_closed():
                    return page
            return await self.context.new_page()
        except BaseException:
            self._slots.release()
            raise

    async def release(self, page: Page) -> None:
        """Give a tab back to the pool; one that has served `TAB_USES` times is closed instead, and
        so is one whose work was cancelled (a write cut off: closing aborts its requests)."""
        try:
            uses = self._uses.get(page, 0) + 1
            task = asyncio.current_task()
            if page.is_closed():
                pass
            elif uses >= TAB_USES or (task is not None and task.cancelling()):
                await page.close()  # its renderer memory, and what the driver keeps per page, go with it
            else:
                self._uses[page] = uses
                self._idle.append(page)
        finally:
            self._slots.release()

    async def discard(self, page: Page) -> None:
        """Close a tab that may be in a bad state, and free its place in the pool."""
        try:
            if not page.is_closed():
                await page.close()
        finally:
            self._slots.release()

    async def open_reusing(self, path: str, what: str = "sidan") -> Page:
        """A logged-in tab already showing one of this system's pages, or `path` when none is.

        Portals show their search form on every result page, so a reused tab can search again
        straight away: one page load per lookup instead of two.
        """
        await self.ensure_logged_in()
        page = await self.new_page()
        if page.url.startswith(self.base_url) and not self._on_login_page(page):
            return page
        await self.release(page)
        return await self.open(path, what)

    def _on_login_page(self, page: Page) -> bool:
        return self._is_login_url(page.url)

    @staticmethod
    def _is_login_url(url: str) -> bool:
        return url.split("?")[0].rstrip("/").endswith(("/login", "/totp"))

    # -- reading by strategy ----------------------------------------------------------------

    async def read(self, path_or_url: str, what: str, form: dict[str, str] | None = None) -> Fetched:
        """The page at `path_or_url` by this system's read strategy (`form`: a search POST, fetch only)."""
        url = path_or_url if path_or_url.startswith("http") else self.url(path_or_url)
        if self.read_strategy == "fetch":
            return await self.fetch(url, what, form)
        if form is not None:
            raise ValueError("a POST is read through the page's own form in the render strategy")
        page = await self.open(url.removeprefix(self.base_url), what)
        try:
            return Fetched(url=page.url, html=await page.content())
        finally:
            await self.release(page)

    async def fetch(self, url: str, what: str, form: dict[str, str] | None = None) -> Fetched:
        """GET (or POST a search `form`) through the context's request API; logs in again once when
        the answer is the login page; tried again on a transient failure (ReadRetry). Only reads
        come here: a search changes nothing, so repeating it is safe."""
        async for attempt in self.read_retry.retrying(self.count_retry):
            with attempt:
                async with self.observed():
                    return await self._fetch_once(url, what, form, self._last_try(attempt))
        raise AssertionError("unreachable: the retrying loop returns or raises")

    def _last_try(self, attempt) -> bool:
        """Whether this try of a read is its last: only a failure there leaves evidence (a blurred
        screenshot), so a failure that a retry cures costs no screenshot."""
        return attempt.retry_state.attempt_number >= self.read_retry.tries

    async def _fetch_once(self, url: str, what: str, form: dict[str, str] | None, last_try: bool = True) -> Fetched:
        await self.ensure_logged_in()
        for attempt in range(2):
            seen = self.logins
            try:
                if form is None:
                    response = await self.context.request.get(url, max_redirects=5)
                else:
                    response = await self.context.request.post(url, form=form, max_redirects=5)
            except PlaywrightTimeout as exc:
                raise TransientError("TIMEOUT", f"{self.system}: {what} timed out") from exc
            except PlaywrightError as exc:
                message = mask_personnummer_in_text(exc.message)[:120]
                raise TransientError("SYSTEM_UNAVAILABLE", f"{self.system}: {what}: {message}") from exc
            try:
                if response.status >= 500 and (last_try or response.status not in TRANSIENT_HTTP):
                    await self.capture_html(await response.text())
                if response.status in TRANSIENT_HTTP:
                    raise TransientError(
                        "SYSTEM_UNAVAILABLE", f"{self.system}: {what} answered HTTP {response.status}"
                    )
                if response.status >= 500:
                    raise ApplicationError(
                        "SYSTEM_UNAVAILABLE", f"{self.system}: {what} answered HTTP {response.status}"
                    )
                if self._is_login_url(response.url):
                    if attempt == 0:
                        await self.ensure_logged_in(seen_logins=seen)
                        continue
                    raise ApplicationError("LOGIN_FAILED", f"{self.system}: session not accepted")
                return Fetched(url=response.url, html=await response.text())
            finally:
                await response.dispose()
        raise ApplicationError("LOGIN_FAILED", f"{self.system}: session not accepted")

    async def parsed(self, fetched: Fetched, parser: Callable[..., T], *args: object, page: Page | None = None) -> T:
        """`parser(html, *args)`; a changed page keeps a blurred screenshot (of `page` when the
        caller holds the tab that shows it, else of the HTML that was parsed)."""
        try:
            return parser(fetched.html, *args)
        except ApplicationError as exc:
            if exc.code == "PAGE_CHANGED":
                self.health.record(self.system, "page_changed", 0.0)
                if page is not None:
                    await self.capture_failure(page)
                else:
                    await self.capture_html(fetched.html)
            raise

    async def capture_html(self, html: str) -> None:
        """A blurred screenshot of HTML read without a tab (fetch): it is shown in a pooled tab."""
        try:
            page = await self.new_page()
        except PlaywrightError:
            return
        try:
            await page.set_content(html, wait_until="domcontentloaded", timeout=5000)
            await self.capture_failure(page)
        except PlaywrightError:
            pass
        finally:
            await self.discard(page)

    async def ensure_logged_in(self, seen_logins: int | None = None, page: Page | None = None) -> None:
        """Log in unless someone else already did since `seen_logins` (or at all, when None).

        Many lookups start at once on a fresh or expired session; only the first logs in. A
        caller that holds a tab passes it (`page`), so logging in never waits for a free tab.
        """
        async with self._login_lock:
            if seen_logins is None and self._logged_in:
                return
            if seen_logins is not None and self.logins != seen_logins and self._logged_in:
                return
            if seen_logins is not None:
                self.drop_session()  # the site sent us to its login page: the kept state is stale
            await self._login_locked(page)

    async def login(self, page: Page | None = None) -> None:
        """Fill the site's login form (and the TOTP step where the site has one)."""
        async with self._login_lock:
            await self._login_locked(page)

    async def _login_locked(self, page: Page | None = None) -> None:
        """Log in on `page` (or a pooled tab); the caller holds the login lock. Counted in the
        portal's health like a request."""
        async with self.observed():
            await self._log_in_on(page)

    async def _log_in_on(self, page: Page | None) -> None:
        own = page is None
        page = page or await self.new_page()
        try:
            response = await page.goto(self.url(self.login_path))
            if response is not None and response.status >= 500:
                await self.capture_failure(page)
            await self._check(response, "inloggningssidan")
            await page.get_by_label("Användarnamn").fill(self.credentials.username)
            await page.get_by_label("Lösenord").fill(self.credentials.password.get_secret_value())
            async with page.expect_navigation() as navigation:
                await page.get_by_role("button", name="Logga in").click()
            await self._check(await navigation.value, "inloggningen")  # a 503 here is worth another try
            if page.url.split("?")[0].endswith("/totp"):
                if self.credentials.totp_secret is None:
                    raise ApplicationError("LOGIN_FAILED", f"{self.system}: asks for a code, no TOTP secret")
                code = pyotp.TOTP(self.credentials.totp_secret.get_secret_value()).now()
                await page.get_by_label("Säkerhetskod").fill(code)
                async with page.expect_navigation() as navigation:
                    await page.get_by_role("button", name="Verifiera").click()
                await self._check(await navigation.value, "inloggningen")
            if self._on_login_page(page):
                raise ApplicationError("LOGIN_FAILED", f"{self.system}: login was refused")
            self._logged_in = True
            self.logins += 1
            await self._keep_session()
        except PlaywrightTimeout as exc:
            raise TransientError("TIMEOUT", f"{self.system}: login timed out") from exc
        except PlaywrightError as exc:
            message = error_text(self.system, self.base_url, exc)
            raise TransientError("SYSTEM_UNAVAILABLE", f"{self.system}: login: {message}") from exc
        finally:
            if own and self.read_strategy == "fetch":
                await self.discard(page)  # fetch reads need no tab: free its renderer (memory)
            elif own:
                await self.release(page)

    async def _keep_session(self) -> None:
        """Save the context's login state for the next run: owner-only file under the state dir."""
        if self.session_file is None:
            return
        state = await self.context.storage_state()
        self.session_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.session_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(state, file)
        os.chmod(self.session_file, 0o600)

    def drop_session(self) -> None:
        """Forget the kept login state (the site no longer accepts it)."""
        if self.session_file is not None:
            self.session_file.unlink(missing_ok=True)

    async def _check(self, response: Response | None, what: str) -> None:
        if response is not None and response.status in TRANSIENT_HTTP:
            raise TransientError(
                "SYSTEM_UNAVAILABLE", f"{self.system}: {what} answered HTTP {response.status}"
            )
        if response is not None and response.status >= 500:
            raise ApplicationError(
                "SYSTEM_UNAVAILABLE", f"{self.system}: {what} answered HTTP {response.status}"
            )

    async def capture_failure(self, page: Page) -> None:
        """Keep a screenshot of a failing page with every text blurred (no personal data)."""
        try:
            shot = await page.screenshot(full_page=False, style=BLUR_ALL_TEXT, timeout=3000)
        except PlaywrightError:
            return
        self.failure_screenshots = [*self.failure_screenshots[-4:], shot]

    async def open(self, path: str, what: str = "sidan") -> Page:
        """A new tab at `path`, logged in. The caller closes it. Opening a page is a GET: tried
        again on a transient failure (ReadRetry), also when the page then holds a form to post."""
        async for attempt in self.read_retry.retrying(self.count_retry):
            with attempt:
                async with self.observed():
                    return await self._open_once(path, what, self._last_try(attempt))
        raise AssertionError("unreachable: the retrying loop returns or raises")

    async def _open_once(self, path: str, what: str, last_try: bool = True) -> Page:
        await self.ensure_logged_in()
        seen = self.logins
        page = await self.new_page()
        try:
            response = await page.goto(self.url(path))
            if response is not None and response.status >= 500 and (
                    last_try or response.status not in TRANSIENT_HTTP):
                await self.capture_failure(page)
            await self._check(response, what)
            if self._on_login_page(page):
                await self.ensure_logged_in(seen_logins=seen, page=page)
                response = await page.goto(self.url(path))
                await self._check(response, what)
                if self._on_login_page(page):
                    raise ApplicationError("LOGIN_FAILED", f"{self.system}: session not accepted")
            return page
        except PlaywrightTimeout as exc:
            await self.capture_failure(page)
            await self.discard(page)
            raise TransientError("TIMEOUT", f"{self.system}: {what} timed out") from exc
        except PlaywrightError as exc:
            await self.discard(page)
            message = error_text(self.system, self.base_url, exc)
            raise TransientError("SYSTEM_UNAVAILABLE", f"{self.system}: {what}: {message}") from exc
        except BaseException:
            await self.discard(page)
            raise
