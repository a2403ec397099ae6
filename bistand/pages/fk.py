"""Försäkringskassan's partner portal: a person's payments, read page by page.

Also home of `PaymentPortalPage`, the search-and-read flow the four payment portals share
(FK, CSN, Pensionsmyndigheten, a-kassan): type the personnummer, press "Sök", check what came
back, follow links to older rows. Each portal's own module only knows its result markup.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import ValidationError

from bistand.core.errors import ApplicationError
from bistand.core.models import IncomeType, Payment
from bistand.core.personnummer import Personnummer
from bistand.pages.base import PortalPage, cell_text, parse_date, parse_kr

PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
NO_PAYMENTS_TEXT = "Inga utbetalningar hittades"

# Reads a table in one round trip: header texts and, per body row, each cell's text and data-*.
READ_TABLE = """
(table) => {
  const headers = Array.from(table.querySelectorAll("thead th")).map(th => th.textContent.trim());
  const rows = Array.from(table.querySelectorAll("tbody tr")).map(tr =>
    Array.from(tr.querySelectorAll("td, th")).map(td => ({text: td.textContent, data: Object.assign({}, td.dataset)})));
  return {headers, rows};
}
"""


class PaymentPortalPage(PortalPage):
    """Search by personnummer on a payment portal and read the result; subclasses parse the markup."""

    search_path = "/"

    def changed(self, what: str) -> ApplicationError:
        """A page that no longer looks as expected; the message never holds personal data."""
        return ApplicationError("PAGE_CHANGED", f"{self.system}: {what}")

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        """The person's payments for `period` (YYYY-MM); [] when the portal has none."""
        raise NotImplementedError

    async def search(self, pnr: Personnummer) -> list[Payment]:
        """Every payment the portal shows for the person, newest first."""
        raise NotImplementedError

    @asynccontextmanager
    async def results(self, pnr: Personnummer) -> AsyncIterator[Page]:
        """A tab showing the portal's answer to a search for `pnr`; closed on exit."""
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
        except ApplicationError as exc:
            if exc.code == "PAGE_CHANGED":
                await self.capture_failure(page)
            raise
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

    async def has_no_payments(self, page: Page) -> bool:
        return await page.get_by_text(NO_PAYMENTS_TEXT).count() > 0

    def payment(self, pnr: Personnummer, kind: str, period: str, amount: str, paid_on: str) -> Payment:
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
            raise self.changed(f"a payment row could not be read ({type(exc).__name__})") from None

    async def read_table(self, table: Locator, required: tuple[str, ...]) -> list[dict[str, Any]]:
        """Rows of a table as {header: {"text", "data"}}; the named columns must be there."""
        if await table.count() != 1:
            raise self.changed("the payment table is missing")
        grid = await table.evaluate(READ_TABLE)
        headers = [cell_text(h) for h in grid["headers"]]
        missing = [name for name in required if name not in headers]
        if missing:
            raise self.changed(f"the payment table lacks the column(s) {', '.join(missing)}")
        rows = []
        for cells in grid["rows"]:
            if len(cells) != len(headers):
                raise self.changed("a payment row has the wrong number of cells")
            rows.append({header: {"text": cell_text(cell["text"]), "data": cell["data"]}
                         for header, cell in zip(headers, cells, strict=True)})
        return rows


def month_period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class FkPage(PaymentPortalPage):
    """Försäkringskassan: table "Utbetalningar", newest first, ten rows a page, "Nästa sida"."""

    system = "fk"
    columns = ("Förmån", "Avser period", "Belopp", "Utbetalningsdag")

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        return await self._read(pnr, period)

    async def search(self, pnr: Personnummer) -> list[Payment]:
        return await self._read(pnr, None)

    async def _read(self, pnr: Personnummer, period: str | None) -> list[Payment]:
        found: list[Payment] = []
        async with self.results(pnr) as page:
            if await self.has_no_payments(page):
                return []
            while True:
                rows = await self._page_rows(page, pnr)
                found += [row for row in rows if period is None or row.period == period]
                # Newest first: once a page reaches past the period, older pages cannot hold it.
                if period is not None and rows and min(row.period for row in rows) < period:
                    break
                next_page = page.get_by_role("link", name="Nästa sida", exact=True)
                if not rows or await next_page.count() == 0:
                    break
                await self.follow(page, next_page, "nästa sida")
        return found

    async def _page_rows(self, page: Page, pnr: Personnummer) -> list[Payment]:
        table = page.get_by_role("table", name="Utbetalningar", exact=True)
        rows = await self.read_table(table, self.columns)
        payments = []
        for row in rows:
            kind = row["Förmån"]["data"].get("type", "")
            if not PERIOD.match(row["Avser period"]["text"]):
                raise self.changed("a period is not written YYYY-MM")
            payments.append(self.payment(pnr, kind, row["Avser period"]["text"], row["Belopp"]["text"],
                                         row["Utbetalningsdag"]["text"]))
        return payments
