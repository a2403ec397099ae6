"""The a-kassa's portal for municipalities: payment notices (utbetalningsbesked), one per payment.

The register amount is "Utbetalt netto" (after tax); the rules count that, not the gross.
"""

from __future__ import annotations

import re

from bistand.core.models import IncomeType, Payment
from bistand.core.personnummer import Personnummer
from bistand.pages.base import cell_text
from bistand.pages.fk import PaymentPortalPage

PERIOD_LINE = re.compile(r"Ersättningsperiod:\s*([0-9]{4}-[0-9]{2})-[0-9]{2}")
PAID_LINE = re.compile(r"Utbetalningsdag:\s*([0-9]{4}-[0-9]{2}-[0-9]{2})?")
NET_LABEL = "Utbetalt netto"

# Per notice: the text of its paragraphs and each table row's cell texts.
READ_NOTICES = """
(articles) => articles.map(article => ({
  meta: Array.from(article.querySelectorAll("p")).map(p => p.textContent).join(" "),
  rows: Array.from(article.querySelectorAll("tr")).map(tr =>
    Array.from(tr.querySelectorAll("td, th")).map(cell => cell.textContent)),
}))
"""


class AkassaPage(PaymentPortalPage):
    """A-kassan: every notice on one page, newest first; the search is a POST form."""

    system = "akassa"

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        return [payment for payment in await self.search(pnr) if payment.period == period]

    async def search(self, pnr: Personnummer) -> list[Payment]:
        async with self.results(pnr) as page:
            if await self.has_no_payments(page):
                return []
            notices = page.get_by_role("article")
            if await notices.count() == 0:
                raise self.changed("no payment notices on the result page")
            entries = await notices.evaluate_all(READ_NOTICES)
        return [self._notice(pnr, entry) for entry in entries]

    def _notice(self, pnr: Personnummer, entry: dict) -> Payment:
        meta = cell_text(entry["meta"])
        period = PERIOD_LINE.search(meta)
        paid = PAID_LINE.search(meta)
        if not period or not paid:
            raise self.changed("a notice lacks its period or payment day")
        net_rows = [row for row in entry["rows"] if row and cell_text(row[0]) == NET_LABEL]
        if len(net_rows) != 1:
            raise self.changed(f"a notice lacks the row {NET_LABEL}")
        return self.payment(pnr, IncomeType.AKASSA_ERSATTNING.value, period.group(1), cell_text(net_rows[0][-1]),
                            paid.group(1) or "")
