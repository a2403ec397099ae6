"""What every page object shares: logging in once per context, re-login on expiry, parsing."""

from __future__ import annotations

import asyncio
import re
from datetime import date

import pyotp
from playwright.async_api import BrowserContext, Page, Response
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import BaseModel, ConfigDict, SecretStr

from bistand.core.errors import ApplicationError
from bistand.core.personnummer import mask_personnummer_in_text


class Credentials(BaseModel):
    """A system's login, from the vault. Secrets never print."""

    model_config = ConfigDict(frozen=True)
    username: str
    password: SecretStr
    totp_secret: SecretStr | None = None


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


class PortalPage:
    """Base for one system's page object: a context logged in once and reused.

    `open()` navigates a fresh tab, logs in again when the session has expired (the site sends
    us to its login page), and turns server errors and timeouts into ApplicationError.
    """

    system = "system"
    login_path = "/login"
    pool_size = 2

    def __init__(self, context: BrowserContext, base_url: str, credentials: Credentials) -> None:
        self.context = context
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._login_lock = asyncio.Lock()
        self._logged_in = False
        self.logins = 0
        self._idle: list[Page] = []
        self._slots = asyncio.Semaphore(self.pool_size)
        """Successful logins so far: concurrent callers who saw the same count share one login."""
        self.failure_screenshots: list[bytes] = []
        """Blurred screenshots of pages that failed, for the run's failure artifacts."""

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

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
        """Give a tab back to the pool."""
        try:
            if not page.is_closed():
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
        return page.url.split("?")[0].rstrip("/").endswith(("/login", "/totp"))

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
            await self._login_locked(page)

    async def login(self, page: Page | None = None) -> None:
        """Fill the site's login form (and the TOTP step where the site has one)."""
        async with self._login_lock:
            await self._login_locked(page)

    async def _login_locked(self, page: Page | None = None) -> None:
        """Log in on `page` (or a pooled tab); the caller holds the login lock."""
        own = page is None
        page = page or await self.new_page()
        try:
            response = await page.goto(self.url(self.login_path))
            if response is not None and response.status >= 500:
                await self.capture_failure(page)
            await self._check(response, "inloggningssidan")
            await page.get_by_label("Användarnamn").fill(self.credentials.username)
            await page.get_by_label("Lösenord").fill(self.credentials.password.get_secret_value())
            await page.get_by_role("button", name="Logga in").click()
            await page.wait_for_load_state("domcontentloaded")
            if page.url.split("?")[0].endswith("/totp"):
                if self.credentials.totp_secret is None:
                    raise ApplicationError("LOGIN_FAILED", f"{self.system}: asks for a code, no TOTP secret")
                code = pyotp.TOTP(self.credentials.totp_secret.get_secret_value()).now()
                await page.get_by_label("Säkerhetskod").fill(code)
                await page.get_by_role("button", name="Verifiera").click()
                await page.wait_for_load_state("domcontentloaded")
            if self._on_login_page(page):
                raise ApplicationError("LOGIN_FAILED", f"{self.system}: login was refused")
            self._logged_in = True
            self.logins += 1
        except PlaywrightTimeout as exc:
            raise ApplicationError("TIMEOUT", f"{self.system}: login timed out") from exc
        except PlaywrightError as exc:
            message = error_text(self.system, self.base_url, exc)
            raise ApplicationError("SYSTEM_UNAVAILABLE", f"{self.system}: login: {message}") from exc
        finally:
            if own:
                await self.release(page)

    async def _check(self, response: Response | None, what: str) -> None:
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
        """A new tab at `path`, logged in. The caller closes it."""
        await self.ensure_logged_in()
        seen = self.logins
        page = await self.new_page()
        try:
            response = await page.goto(self.url(path))
            if response is not None and response.status >= 500:
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
            raise ApplicationError("TIMEOUT", f"{self.system}: {what} timed out") from exc
        except PlaywrightError as exc:
            await self.discard(page)
            message = error_text(self.system, self.base_url, exc)
            raise ApplicationError("SYSTEM_UNAVAILABLE", f"{self.system}: {what}: {message}") from exc
        except BaseException:
            await self.discard(page)
            raise
