"""Pensionsmyndigheten's handläggarportal: pension payments, one calendar year a page.

The rules count "Utbetalt belopp" (paid out, after tax), which is what the register holds.
"""

from __future__ import annotations

import re

from playwright.async_api import Page

from bistand.core.models import IncomeType, Payment
from bistand.core.personnummer import Personnummer
from bistand.pages.base import cell_text
from bistand.pages.fk import PaymentPortalPage

MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")
BENEFIT_TYPES = {"Allmän pension": IncomeType.PENSION, "Bostadstillägg": IncomeType.BOSTADSTILLAGG}
MONTH_YEAR = re.compile(r"^([a-zåäö]+) ([0-9]{4})$")
COLUMNS = ("Månad", "Förmån", "Utbetalt belopp", "Utbetalningsdag")


def period_of(month_text: str) -> str | None:
    """'december 2026' -> '2026-12'; None when it is not a Swedish month and a year."""
    match = MONTH_YEAR.match(month_text.strip().lower())
    if not match or match.group(1) not in MONTHS:
        return None
    return f"{match.group(2)}-{MONTHS.index(match.group(1)) + 1:02d}"


class PmPage(PaymentPortalPage):
    """Pensionsmyndigheten: table "Utbetalningar <år>", links "2026", "2025" … to other years."""

    system = "pm"

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        year = period[:4]
        async with self.results(pnr) as page:
            if await self.has_no_payments(page):
                return []
            if await self._year_table(page, year).count() == 0:
                link = self._year_links(page).get_by_role("link", name=year, exact=True)
                if await link.count() == 0:
                    await self._shown_year(page)  # the page must still show some year
                    return []
                await self.follow(page, link, "årsvalet")
            rows = await self._read_year(page, pnr, year)
        return [row for row in rows if row.period == period]

    async def search(self, pnr: Personnummer) -> list[Payment]:
        async with self.results(pnr) as page:
            if await self.has_no_payments(page):
                return []
            shown = await self._shown_year(page)
            found = await self._read_year(page, pnr, shown)
            for year in [cell_text(t) for t in await self._year_links(page).get_by_role("link").all_inner_texts()]:
                await self.follow(page, self._year_links(page).get_by_role("link", name=year, exact=True), "årsvalet")
                found += await self._read_year(page, pnr, year)
        return sorted(found, key=lambda payment: payment.period, reverse=True)

    def _year_table(self, page: Page, year: str):
        return page.get_by_role("table", name=f"Utbetalningar {year}", exact=True)

    def _year_links(self, page: Page):
        return page.get_by_role("navigation", name="Välj år", exact=True)

    async def _shown_year(self, page: Page) -> str:
        captions = [cell_text(text) for text in await page.locator("caption").all_inner_texts()]
        years = [text.removeprefix("Utbetalningar ") for text in captions if re.fullmatch(r"Utbetalningar \d{4}", text)]
        if len(years) != 1:
            raise self.changed("no yearly payment table")
        return years[0]

    async def _read_year(self, page: Page, pnr: Personnummer, year: str) -> list[Payment]:
        rows = await self.read_table(self._year_table(page, year), COLUMNS)
        payments = []
        for row in rows:
            period = period_of(row["Månad"]["text"])
            kind = BENEFIT_TYPES.get(row["Förmån"]["text"])
            if period is None or kind is None:
                raise self.changed("a month or benefit could not be read")
            payments.append(self.payment(pnr, kind.value, period, row["Utbetalt belopp"]["text"],
                                         row["Utbetalningsdag"]["text"]))
        return payments
