"""CSN's kommunwebb: study-aid payments as definition lists, grouped by academic year (läsår)."""

from __future__ import annotations

import re

from playwright.async_api import Page

from bistand.core.models import IncomeType, Payment
from bistand.core.personnummer import Personnummer
from bistand.pages.base import cell_text
from bistand.pages.fk import PaymentPortalPage

SUPPORT_TYPES = {"Studiemedel (bidrag + lån)": IncomeType.STUDIEMEDEL, "Studiemedel": IncomeType.STUDIEMEDEL}
PERIOD_START = re.compile(r"^([0-9]{4}-[0-9]{2})-[0-9]{2}\b")
OLDER_LINK = "Visa äldre utbetalningar"

# Each <dl> of a läsår section as {dt text: dd text}.
READ_DEFINITION_LISTS = """
(section) => Array.from(section.querySelectorAll("dl")).map(dl => {
  const entry = {};
  for (const dt of dl.querySelectorAll("dt")) {
    const dd = dt.nextElementSibling;
    entry[dt.textContent.trim()] = dd && dd.tagName === "DD" ? dd.textContent : null;
  }
  return entry;
})
"""


def academic_year(period: str) -> str:
    """'2026-12' -> '2026/27'; '2027-03' -> '2026/27'."""
    year, month = (int(part) for part in period.split("-"))
    start = year if month >= 7 else year - 1
    return f"{start}/{(start + 1) % 100:02d}"


class CsnPage(PaymentPortalPage):
    """CSN: the current läsår is shown first; "Visa äldre utbetalningar" shows the earlier ones."""

    system = "csn"

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        heading = f"Utbetalningar läsåret {academic_year(period)}"
        async with self.results(pnr) as page:
            if await self.has_no_payments(page):
                return []
            section = page.get_by_role("region", name=heading, exact=True)
            if await section.count() == 0:
                await self._show_older(page)
                if await section.count() == 0:
                    await self._year_headings(page)  # the page must still show some läsår
                    return []
            rows = await self._read_section(page, pnr, heading)
        return [row for row in rows if row.period == period]

    async def search(self, pnr: Personnummer) -> list[Payment]:
        async with self.results(pnr) as page:
            if await self.has_no_payments(page):
                return []
            await self._show_older(page)
            found: list[Payment] = []
            for heading in await self._year_headings(page):
                found += await self._read_section(page, pnr, heading)
        return found

    async def _show_older(self, page: Page) -> None:
        older = page.get_by_role("link", name=OLDER_LINK, exact=True)
        if await older.count() > 0:
            await self.follow(page, older, "äldre utbetalningar")

    async def _year_headings(self, page: Page) -> list[str]:
        headings = [cell_text(text) for text in await page.get_by_role("heading", level=2).all_inner_texts()]
        years = [text for text in headings if text.startswith("Utbetalningar läsåret ")]
        if not years:
            raise self.changed("no läsår sections on the result page")
        return years

    async def _read_section(self, page: Page, pnr: Personnummer, heading: str) -> list[Payment]:
        section = page.get_by_role("region", name=heading, exact=True)
        if await section.count() != 1:
            raise self.changed("a läsår section is missing")
        entries = await section.evaluate(READ_DEFINITION_LISTS)
        payments = []
        for entry in entries:
            values = {key: cell_text(value) for key, value in entry.items() if value is not None}
            missing = [key for key in ("Period", "Stödform", "Belopp") if key not in values]
            if missing:
                raise self.changed(f"a payment lacks {', '.join(missing)}")
            start = PERIOD_START.match(values["Period"])
            if not start:
                raise self.changed("a period does not start with a date")
            kind = SUPPORT_TYPES.get(values["Stödform"])
            if kind is None:
                raise self.changed("unknown stödform")
            paid_on = values.get("Utbetalningsdag", "")
            payments.append(self.payment(pnr, kind.value, start.group(1), values["Belopp"],
                                         "" if paid_on in {"", "–", "-"} else paid_on))
        return payments
