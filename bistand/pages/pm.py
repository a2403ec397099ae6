"""Pensionsmyndigheten's handläggarportal: pension payments, one calendar year a page.

The rules count "Utbetalt belopp" (paid out, after tax), which is what the register holds.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from bistand.core.models import IncomeType, Payment
from bistand.core.personnummer import Personnummer
from bistand.pages.base import has_text, named, one_named, page_changed, parse_html, read_table, text_of
from bistand.pages.fk import NO_PAYMENTS_TEXT, PaymentPortalPage, payment_row

SYSTEM = "pm"
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")
BENEFIT_TYPES = {"Allmän pension": IncomeType.PENSION, "Bostadstillägg": IncomeType.BOSTADSTILLAGG}
MONTH_YEAR = re.compile(r"^([a-zåäö]+) ([0-9]{4})$")
COLUMNS = ("Månad", "Förmån", "Utbetalt belopp", "Utbetalningsdag")
YEAR_CAPTION = re.compile(r"Utbetalningar (\d{4})")


def period_of(month_text: str) -> str | None:
    """'december 2026' -> '2026-12'; None when it is not a Swedish month and a year."""
    match = MONTH_YEAR.match(month_text.strip().lower())
    if not match or match.group(1) not in MONTHS:
        return None
    return f"{match.group(2)}-{MONTHS.index(match.group(1)) + 1:02d}"


class PmResultPage(BaseModel):
    """One year's page: which year it shows, its payments, and the links to the other years."""

    no_payments: bool = False
    year: str = ""
    payments: list[Payment] = []
    year_links: dict[str, str] = {}


def parse_pm_payments(html: str, pnr: Personnummer) -> PmResultPage:
    """Table "Utbetalningar <år>" (Månad, Förmån, Utbetalt belopp, Utbetalningsdag) and the
    navigation "Välj år" with a link per other year."""
    root = parse_html(html)
    if has_text(root, NO_PAYMENTS_TEXT):
        return PmResultPage(no_payments=True)
    years = [match.group(1) for caption in root.iter("caption")
             if (match := YEAR_CAPTION.fullmatch(text_of(caption)))]
    if len(years) != 1:
        raise page_changed(SYSTEM, "no yearly payment table")
    year = years[0]
    table = read_table(one_named(root, "table", f"Utbetalningar {year}", SYSTEM), COLUMNS, SYSTEM,
                       "the payment table")
    if table.ragged:
        raise page_changed(SYSTEM, "a payment row has the wrong number of cells")
    payments = []
    for row in table.rows:
        period = period_of(row["Månad"].text)
        kind = BENEFIT_TYPES.get(row["Förmån"].text)
        if period is None or kind is None:
            raise page_changed(SYSTEM, "a month or benefit could not be read")
        payments.append(payment_row(SYSTEM, pnr, kind.value, period, row["Utbetalt belopp"].text,
                                    row["Utbetalningsdag"].text))
    links: dict[str, str] = {}
    for nav in named(root, "nav", "Välj år"):
        links |= {text_of(a): a.get("href") for a in nav.iter("a") if a.get("href")}
    return PmResultPage(year=year, payments=payments, year_links=links)


class PmPage(PaymentPortalPage):
    """Pensionsmyndigheten: table "Utbetalningar <år>", links "2026", "2025" … to other years."""

    system = SYSTEM

    async def payments(self, pnr: Personnummer, period: str) -> list[Payment]:
        year = period[:4]
        async with self.results(pnr) as view:
            shown = await view.parsed(parse_pm_payments, pnr)
            if shown.no_payments:
                return []
            if shown.year != year:
                if year not in shown.year_links:
                    return []
                await view.follow(shown.year_links[year], "årsvalet")
                shown = await view.parsed(parse_pm_payments, pnr)
                if shown.year != year:
                    raise self.changed("the year link showed another year")
        return [row for row in shown.payments if row.period == period]

    async def search(self, pnr: Personnummer) -> list[Payment]:
        async with self.results(pnr) as view:
            shown = await view.parsed(parse_pm_payments, pnr)
            if shown.no_payments:
                return []
            found = list(shown.payments)
            for _year, href in shown.year_links.items():
                await view.follow(href, "årsvalet")
                found += (await view.parsed(parse_pm_payments, pnr)).payments
        return sorted(found, key=lambda payment: payment.period, reverse=True)
