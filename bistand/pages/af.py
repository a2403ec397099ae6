"""Arbetsförmedlingen: whether a person is registered as a job seeker (for AF_REGISTERED, RULES.md §5).

`status()` returns None when Arbetsförmedlingen does not know the person at all; the rules treat
that as not registered. Anything the page object does not recognise is a changed page.
"""

from __future__ import annotations

from datetime import date
from typing import NoReturn
from urllib.parse import urlencode

from playwright.async_api import Page
from pydantic import ValidationError

from bistand.core.errors import ApplicationError, BusinessError
from bistand.core.models import AfStatus
from bistand.core.personnummer import Personnummer
from bistand.pages.base import PortalPage, cell_text, parse_date

HEADING_STATUS = "Inskrivningsstatus"
HEADING_NOT_REGISTERED = "Personen är inte inskriven"
HEADING_BAD_NUMBER = "Ogiltigt personnummer"
FACTS_TABLE = "Inskrivningsuppgifter"
NOTHING = {"", "–", "-"}

_READ_ROWS = """
(table) => Array.from(table.querySelectorAll("tr")).map(tr => [
  tr.querySelector("th") ? tr.querySelector("th").textContent : "",
  tr.querySelector("td") ? tr.querySelector("td").textContent : "",
])
"""


class ArbetsformedlingenPage(PortalPage):
    system = "af"

    async def status(self, pnr: Personnummer) -> AfStatus | None:
        """The person's inskrivningsstatus, or None when the person is not in the register."""
        page = await self.open(f"/inskrivning?{urlencode({'pnr': pnr.full})}", "inskrivningsstatus")
        try:
            headings = page.get_by_role("heading", level=1)
            if await headings.count() == 0:
                await self._changed(page, "the page has no heading")
            heading = cell_text(await headings.first.inner_text())
            if heading == HEADING_NOT_REGISTERED:
                return None
            if heading == HEADING_BAD_NUMBER:
                raise BusinessError("PERSONNUMMER_REJECTED", f"af: the number {pnr.masked} was refused")
            if heading != HEADING_STATUS:
                await self._changed(page, "the status page has no known heading")
            table = page.get_by_role("table", name=FACTS_TABLE, exact=True)
            if await table.count() != 1:
                await self._changed(page, f"no table '{FACTS_TABLE}'")
            facts = {cell_text(label): cell_text(value) for label, value in await table.evaluate(_READ_ROWS)}
            try:
                registered_text = facts["Inskriven som arbetssökande"]
                if registered_text not in {"Ja", "Nej"}:
                    await self._changed(page, "'Inskriven som arbetssökande' is neither Ja nor Nej")
                return AfStatus(
                    personnummer=pnr,
                    registered=registered_text == "Ja",
                    registered_since=_optional_date(facts["Inskriven sedan"]),
                    category=_category_code(facts["Sökandekategori"]),
                    last_activity_report=_optional_date(facts["Senaste aktivitetsrapport"]),
                )
            except (KeyError, ValueError, ValidationError):
                await self._changed(page, "the status table lacks a field or has an unreadable value")
        finally:
            await self.release(page)

    async def _changed(self, page: Page, what: str) -> NoReturn:
        await self.capture_failure(page)
        raise ApplicationError("PAGE_CHANGED", f"{self.system}: {what}")


def _optional_date(text: str) -> date | None:
    return None if text in NOTHING else parse_date(text)


def _category_code(text: str) -> str:
    """'11 Öppet arbetslös' -> '11'; '–' -> ''."""
    if text in NOTHING:
        return ""
    code = text.split()[0]
    if not code.isdigit():
        raise ValueError("sökandekategori without a code")
    return code
