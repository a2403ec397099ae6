"""Arbetsförmedlingen: whether a person is registered as a job seeker (for AF_REGISTERED, RULES.md §5).

`status()` returns None when Arbetsförmedlingen does not know the person at all; the rules treat
that as not registered. Anything the page object does not recognise is a changed page.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from pydantic import ValidationError

from bistand.core.errors import BusinessError
from bistand.core.models import AfStatus
from bistand.core.personnummer import Personnummer
from bistand.pages.base import PortalPage, headings, one_named, page_changed, parse_date, parse_html, read_row_headers

SYSTEM = "af"
HEADING_STATUS = "Inskrivningsstatus"
HEADING_NOT_REGISTERED = "Personen är inte inskriven"
HEADING_BAD_NUMBER = "Ogiltigt personnummer"
FACTS_TABLE = "Inskrivningsuppgifter"
NOTHING = {"", "–", "-"}


def parse_af_status(html: str, pnr: Personnummer) -> AfStatus | None:
    """The status page: heading "Inskrivningsstatus" and the facts table "Inskrivningsuppgifter";
    "Personen är inte inskriven" is None; "Ogiltigt personnummer" is a business error."""
    root = parse_html(html)
    titles = headings(root, 1)
    if not titles:
        raise page_changed(SYSTEM, "the page has no heading")
    heading = titles[0]
    if heading == HEADING_NOT_REGISTERED:
        return None
    if heading == HEADING_BAD_NUMBER:
        raise BusinessError("PERSONNUMMER_REJECTED", f"af: the number {pnr.masked} was refused")
    if heading != HEADING_STATUS:
        raise page_changed(SYSTEM, "the status page has no known heading")
    facts = read_row_headers(one_named(root, "table", FACTS_TABLE, SYSTEM))
    try:
        registered_text = facts["Inskriven som arbetssökande"]
        if registered_text not in {"Ja", "Nej"}:
            raise page_changed(SYSTEM, "'Inskriven som arbetssökande' is neither Ja nor Nej")
        return AfStatus(
            personnummer=pnr,
            registered=registered_text == "Ja",
            registered_since=_optional_date(facts["Inskriven sedan"]),
            category=_category_code(facts["Sökandekategori"]),
            last_activity_report=_optional_date(facts["Senaste aktivitetsrapport"]),
        )
    except (KeyError, ValueError, ValidationError):
        raise page_changed(SYSTEM, "the status table lacks a field or has an unreadable value") from None


class ArbetsformedlingenPage(PortalPage):
    system = SYSTEM

    async def status(self, pnr: Personnummer) -> AfStatus | None:
        """The person's inskrivningsstatus, or None when the person is not in the register."""
        shown = await self.read(f"/inskrivning?{urlencode({'pnr': pnr.full})}", "inskrivningsstatus")
        return await self.parsed(shown, parse_af_status, pnr)


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
