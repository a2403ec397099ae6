"""Försäkringskassan's partner portal: a person's payments, read page by page.

Also home of `PaymentPortalPage`, the search-and-read flow the four payment portals share
(FK, CSN, Pensionsmyndigheten, a-kassan): type the personnummer, press "Sök", check what came
back, follow links to older rows. Each portal's own module only knows its result markup, as a
pure parser of the result page's HTML.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from urllib.parse import urlencode, urljoin

from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import BaseModel, ValidationError

from bistand.core.errors import ApplicationError
from bistand.core.models import IncomeType, Payment
from bistand.core.personnummer import Personnummer
from bistand.pages.base import (
    Fetched,
    PortalPage,
    SearchForm,
    cell_text,
    has_text,
    link_href,
    one_named,
    page_changed,
    parse_date,
    parse_html,
    parse_kr,
    parse_search_form,
    read_table,
)

PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
NO_PAYMENTS_TEXT = "Inga utbetalningar hittades"
SYSTEM = "fk"
COLUMNS = ("Förmån", "Avser period", "Belopp", "Utbetalningsdag")
NEXT_PAGE = "Nästa sida"


def payment_row(system: str, pnr: Personnummer, kind: str, period: str, amount: str, paid_on: str) -> Payment:
    """One row as a Payment; anything unparsable means the page changed."""
    try:
        return Payment(
            personnummer=pnr,
            type=IncomeType(kind),
            period=period,
            amount=parse_kr(amount),
            paid_on=parse_date(paid_on) if cell_text(paid_on) else None,
        )
    except (ValueError, ValidationError) as exc:
        raise page_changed(system, f"a payment row could not be read ({type(exc).__name__})") from None


class FkResultPage(BaseModel):
    """One page of FK's answer: its payments, newest first, and whether there is a next page."""

    payments: list[Payment]
    next_href: str | None = None


def parse_fk_payments(html: str, pnr: Personnummer) -> FkResultPage:
    """FK's result page: table "Utbetalningar" (Förmån with data-type, Avser period, Belopp,
    Utbetalningsdag) and the pager's "Nästa sida"; "Inga utbetalningar hittades" is no payments."""
    root = parse_html(html)
    if has_text(root, NO_PAYMENTS_TEXT):
        return FkResultPage(payments=[])
    table = read_table(one_named(root, "table", "Utbetalningar", SYSTEM), COLUMNS, SYSTEM, "the payment table")
    if table.ragged:
        raise page_changed(SYSTEM, "a payment row has the wrong number of cells")
    payments = []
    for row in table.rows:
        if not PERIOD.match(row["Avser period"].text):
            raise page_changed(SYSTEM, "a period is not written YYYY-MM")
        payments.append(payment_row(SYSTEM, pnr, row["Förmån"].data.get("type", ""), row["Avser period"].text,
                                    row["Belopp"].text, row["Utbetalningsdag"].text))
    return FkResultPage(payments=payments, next_href=link_href(root, NEXT_PAGE))


class ResultView:
    """The portal's answer to one search, readable the same way in both strategies.

    `html` is the page shown now; `follow(href)` moves to a linked page (render: the tab clicks
    the link a person would click; fetch: the same URL through the request API).
    """

    def __init__(self, portal: PaymentPortalPage, fetched: Fetched, page: Page | None = None) -> None:
        self.portal = portal
        self.fetched = fetched
        self.page = page

    @property
    def html(self) -> str:
        return self.fetched.html

    async def parsed(self, parser, *args):
        return await self.portal.parsed(self.fetched, parser, *args, page=self.page)

    async def follow(self, href: str, what: str) -> None:
        if self.page is None:
            self.fetched = await self.portal.fetch(urljoin(self.fetched.url, href), what)
            return
        target = self.page.locator(f'a[href="{href}"]')
        await self.portal.follow(self.page, target.first if await target.count() > 1 else target, what)
        self.fetched = Fetched(url=self.page.url, html=await self.page.content())


class PaymentPortalPage(PortalPage):
    """Search by personnummer on a payment portal and read the result; subclasses parse the markup."""

    search_path = "/"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._search_form: SearchForm | None = None

    def changed(self, what: str) -> ApplicationError:
        """A page that no longer looks as expected; the message never holds personal data."""
        return page_changed(self.system, what)

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        """The person's payments for `period` (YYYY-MM); [] when the portal has none."""
        raise NotImplementedError

    async def search(self, pnr: Personnummer) -> list[Payment]:
        """Every payment the portal shows for the person, newest first."""
        raise NotImplementedError

    @asynccontextmanager
    async def results(self, pnr: Personnummer) -> AsyncIterator[ResultView]:
        """The portal's answer to a search for `pnr`, by the system's read strategy."""
        if self.read_strategy == "fetch":
            yield ResultView(self, await self._fetch_search(pnr))
            return
        async with self._rendered_results(pnr) as page:
            yield ResultView(self, Fetched(url=page.url, html=await page.content()), page)

    async def _fetch_search(self, pnr: Personnummer) -> Fetched:
        """The search form is read once per run (where it goes, its field's name); every search
        after that is one request, the one the form would send."""
        if self._search_form is None:
            form_page = await self.fetch(self.url(self.search_path), "söksidan")
            self._search_form = await self.parsed(form_page, parse_search_form, form_page.url, "Personnummer",
                                                  self.system)
        form = self._search_form
        if form.method == "post":
            return await self.fetch(form.action, "sökningen", form={form.field: pnr.full})
        return await self.fetch(f"{form.action}?{urlencode({form.field: pnr.full})}", "sökningen")

    @asynccontextmanager
    async def _rendered_results(self, pnr: Personnummer) -> AsyncIterator[Page]:
        """A tab showing the portal's answer to a search for `pnr` (typed and clicked)."""
        page = await self.open_reusing(self.search_path, "söksidan")
        try:
            seen = self.logins
            if await page.get_by_label("Personnummer", exact=True).count() != 1:
                await self._check(await page.goto(self.url(self.search_path)), "söksidan")
            await self._submit_search(page, pnr)
            if self._on_login_page(page):  # the session ran out between the form and the search
                await self.ensure_logged_in(seen_logins=seen, page=page)
                await self._check(await page.goto(self.url(self.search_path)), "söksidan")
                await self._submit_search(page, pnr)
                if self._on_login_page(page):
                    raise ApplicationError("LOGIN_FAILED", f"{self.system}: session not accepted")
            yield page
        except PlaywrightTimeout as exc:
            await self.capture_failure(page)
            raise ApplicationError("TIMEOUT", f"{self.system}: the search timed out") from exc
        finally:
            await self.release(page)

    async def _submit_search(self, page: Page, pnr: Personnummer) -> None:
        field = page.get_by_label("Personnummer", exact=True)
        if await field.count() != 1:
            raise self.changed("no personnummer field on the search page")
        await field.fill(pnr.full)
        await self.follow(page, page.get_by_role("button", name="Sök", exact=True), "sökningen")

    async def follow(self, page: Page, target: Locator, what: str) -> None:
        """Click a link or button that loads a new page and check the answer."""
        if await target.count() != 1:
            raise self.changed(f"{what}: control not found")
        async with page.expect_navigation(wait_until="domcontentloaded") as navigation:
            await target.click()
        response = await navigation.value
        if response is None:
            return
        if response.status >= 500:
            await self.capture_failure(page)
            raise ApplicationError("SYSTEM_UNAVAILABLE", f"{self.system}: {what} answered HTTP {response.status}")
        if response.status >= 400:
            raise self.changed(f"{what} answered HTTP {response.status}")


def month_period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class FkPage(PaymentPortalPage):
    """Försäkringskassan: table "Utbetalningar", newest first, ten rows a page, "Nästa sida"."""

    system = SYSTEM

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        return await self._read(pnr, period)

    async def search(self, pnr: Personnummer) -> list[Payment]:
        return await self._read(pnr, None)

    async def _read(self, pnr: Personnummer, period: str | None) -> list[Payment]:
        found: list[Payment] = []
        async with self.results(pnr) as view:
            while True:
                shown = await view.parsed(parse_fk_payments, pnr)
                rows = shown.payments
                found += [row for row in rows if period is None or row.period == period]
                # Newest first: once a page reaches past the period, older pages cannot hold it.
                if period is not None and rows and min(row.period for row in rows) < period:
                    break
                if not rows or shown.next_href is None:
                    break
                await view.follow(shown.next_href, "nästa sida")
        return found
