"""CSN's kommunwebb: study-aid payments as definition lists, grouped by academic year (läsår)."""

from __future__ import annotations

import re

from pydantic import BaseModel

from bistand.core.models import IncomeType, Payment
from bistand.core.personnummer import Personnummer
from bistand.pages.base import has_text, headings, link_href, named, page_changed, parse_html, read_definitions
from bistand.pages.fk import NO_PAYMENTS_TEXT, PaymentPortalPage, payment_row

SYSTEM = "csn"
SUPPORT_TYPES = {"Studiemedel (bidrag + lån)": IncomeType.STUDIEMEDEL, "Studiemedel": IncomeType.STUDIEMEDEL}
PERIOD_START = re.compile(r"^([0-9]{4}-[0-9]{2})-[0-9]{2}\b")
OLDER_LINK = "Visa äldre utbetalningar"
YEAR_HEADING = "Utbetalningar läsåret "


def academic_year(period: str) -> str:
    """'2026-12' -> '2026/27'; '2027-03' -> '2026/27'."""
    year, month = (int(part) for part in period.split("-"))
    start = year if month >= 7 else year - 1
    return f"{start}/{(start + 1) % 100:02d}"


class CsnResultPage(BaseModel):
    """CSN's answer: payments per läsår heading, in the page's order, and the link to older years."""

    no_payments: bool = False
    years: dict[str, list[Payment]] = {}
    older_href: str | None = None


def parse_csn_payments(html: str, pnr: Personnummer) -> CsnResultPage:
    """Each section "Utbetalningar läsåret 2026/27" holds one <dl> per payment (Period, Stödform,
    Belopp, Utbetalningsdag)."""
    root = parse_html(html)
    if has_text(root, NO_PAYMENTS_TEXT):
        return CsnResultPage(no_payments=True)
    years = [text for text in headings(root, 2) if text.startswith(YEAR_HEADING)]
    if not years:
        raise page_changed(SYSTEM, "no läsår sections on the result page")
    found: dict[str, list[Payment]] = {}
    for heading in years:
        sections = named(root, "section", heading)
        if len(sections) != 1:
            raise page_changed(SYSTEM, "a läsår section is missing")
        payments = []
        for entry in sections[0].iter("dl"):
            values = {term: cell.text for term, cell in read_definitions(entry).items()}
            missing = [key for key in ("Period", "Stödform", "Belopp") if key not in values]
            if missing:
                raise page_changed(SYSTEM, f"a payment lacks {', '.join(missing)}")
            start = PERIOD_START.match(values["Period"])
            if not start:
                raise page_changed(SYSTEM, "a period does not start with a date")
            kind = SUPPORT_TYPES.get(values["Stödform"])
            if kind is None:
                raise page_changed(SYSTEM, "unknown stödform")
            paid_on = values.get("Utbetalningsdag", "")
            payments.append(payment_row(SYSTEM, pnr, kind.value, start.group(1), values["Belopp"],
                                        "" if paid_on in {"", "–", "-"} else paid_on))
        found[heading] = payments
    return CsnResultPage(years=found, older_href=link_href(root, OLDER_LINK))


class CsnPage(PaymentPortalPage):
    """CSN: the current läsår is shown first; "Visa äldre utbetalningar" shows the earlier ones."""

    system = SYSTEM

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        heading = f"{YEAR_HEADING}{academic_year(period)}"
        async with self.results(pnr) as view:
            shown = await view.parsed(parse_csn_payments, pnr)
            if heading not in shown.years and shown.older_href is not None:
                await view.follow(shown.older_href, "äldre utbetalningar")
                shown = await view.parsed(parse_csn_payments, pnr)
        return [row for row in shown.years.get(heading, []) if row.period == period]

    async def search(self, pnr: Personnummer) -> list[Payment]:
        async with self.results(pnr) as view:
            shown = await view.parsed(parse_csn_payments, pnr)
            if shown.older_href is not None:
                await view.follow(shown.older_href, "äldre utbetalningar")
                shown = await view.parsed(parse_csn_payments, pnr)
        return [payment for payments in shown.years.values() for payment in payments]
