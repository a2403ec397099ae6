"""The a-kassa's portal for municipalities: payment notices (utbetalningsbesked), one per payment.

The register amount is "Utbetalt netto" (after tax); the rules count that, not the gross.
"""

from __future__ import annotations

import re

from bistand.core.models import IncomeType, Payment
from bistand.core.personnummer import Personnummer
from bistand.pages.base import cell_text, has_text, page_changed, parse_html, text_of
from bistand.pages.fk import NO_PAYMENTS_TEXT, PaymentPortalPage, payment_row

SYSTEM = "akassa"
PERIOD_LINE = re.compile(r"Ersättningsperiod:\s*([0-9]{4}-[0-9]{2})-[0-9]{2}")
PAID_LINE = re.compile(r"Utbetalningsdag:\s*([0-9]{4}-[0-9]{2}-[0-9]{2})?")
NET_LABEL = "Utbetalt netto"


def parse_akassa_notices(html: str, pnr: Personnummer) -> list[Payment]:
    """Every <article> notice: its period and payment day from the text, the net from the row
    "Utbetalt netto"; "Inga utbetalningar hittades" is no payments."""
    root = parse_html(html)
    if has_text(root, NO_PAYMENTS_TEXT):
        return []
    notices = list(root.iter("article"))
    if not notices:
        raise page_changed(SYSTEM, "no payment notices on the result page")
    payments = []
    for notice in notices:
        meta = cell_text(" ".join(p.text_content() for p in notice.iter("p")))
        period = PERIOD_LINE.search(meta)
        paid = PAID_LINE.search(meta)
        if not period or not paid:
            raise page_changed(SYSTEM, "a notice lacks its period or payment day")
        rows = [[text_of(cell) for cell in tr.xpath("./td|./th")] for tr in notice.iter("tr")]
        net_rows = [row for row in rows if row and row[0] == NET_LABEL]
        if len(net_rows) != 1:
            raise page_changed(SYSTEM, f"a notice lacks the row {NET_LABEL}")
        payments.append(payment_row(SYSTEM, pnr, IncomeType.AKASSA_ERSATTNING.value, period.group(1),
                                    net_rows[0][-1], paid.group(1) or ""))
    return payments


class AkassaPage(PaymentPortalPage):
    """A-kassan: every notice on one page, newest first; the search is a POST form."""

    system = SYSTEM

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        return [payment for payment in await self.search(pnr) if payment.period == period]

    async def search(self, pnr: Personnummer) -> list[Payment]:
        async with self.results(pnr) as view:
            return await view.parsed(parse_akassa_notices, pnr)
