"""Skatteverket: a person's folkbokföring (with everyone at the same address) and employer declarations.

The portal asks for a security code after the password; `PortalPage.login()` answers it from the
robot's TOTP secret. Pages are read by their visible headings, captions and labels; anything the
page object does not recognise is a changed page (ApplicationError PAGE_CHANGED, no personal data).
"""

from __future__ import annotations

import re
from typing import NoReturn
from urllib.parse import urlencode

from playwright.async_api import Page
from pydantic import ValidationError

from bistand.core.errors import ApplicationError, BusinessError
from bistand.core.models import Address, EmployerDeclaration, Model, PopulationRecord
from bistand.core.personnummer import InvalidPersonnummer, Personnummer
from bistand.pages.base import PortalPage, cell_text, parse_kr

HEADING_FOLKBOKFORING = "Folkbokföring"
HEADING_NOT_REGISTERED = "Personen finns inte i folkbokföringen"
HEADING_AGI = "Arbetsgivardeklarationer (AGI)"
HEADING_BAD_NUMBER = "Felaktigt personnummer"
SAME_ADDRESS_TABLE = "Personer folkbokförda på samma adress"
AGI_TABLE = "Redovisade löner och avdragen skatt"
NO_DECLARATIONS = "Inga arbetsgivardeklarationer"

# One round trip per table: header texts and each body row's cell texts.
_READ_TABLE = """
(table) => ({
  headers: Array.from(table.querySelectorAll("thead th")).map(th => th.textContent),
  rows: Array.from(table.querySelectorAll("tbody tr")).map(tr =>
    Array.from(tr.querySelectorAll("td")).map(td => td.textContent)),
})
"""
_READ_DEFINITIONS = """
(root) => Array.from(root.querySelectorAll("dt")).map(dt =>
  [dt.textContent, dt.nextElementSibling && dt.nextElementSibling.tagName === "DD"
    ? dt.nextElementSibling.textContent : ""])
"""


class Folkbokforing(Model):
    """What Skatteverket shows for one person: the record, and everyone registered at that address."""

    person: PopulationRecord | None
    """None when the person is not in the folkbokföring."""
    registered_at_address: list[PopulationRecord] = []
    """Everyone at the person's street and postal code, the person included; each with that address."""


class SkatteverketPage(PortalPage):
    system = "skv"

    async def folkbokforing(self, pnr: Personnummer) -> Folkbokforing:
        """The person's registered address and the people registered there (RULES.md §5)."""
        page = await self.open(f"/folkbokforing?{urlencode({'pnr': pnr.full})}", "folkbokföringen")
        try:
            heading = await self._heading(page)
            if heading == HEADING_NOT_REGISTERED:
                return Folkbokforing(person=None)
            if heading == HEADING_BAD_NUMBER:
                raise BusinessError("PERSONNUMMER_REJECTED", f"skv: the number {pnr.masked} was refused")
            if heading != HEADING_FOLKBOKFORING:
                await self._changed(page, "folkbokföringen has no known heading")
            person_facts = await self._definitions(page, "Person")
            address_facts = await self._definitions(page, "Folkbokföringsadress")
            try:
                address = Address(
                    street=address_facts["Gatuadress"],
                    postal_code=address_facts["Postnummer"].replace(" ", ""),
                    city=address_facts["Postort"],
                    municipality=address_facts["Kommun"],
                )
                person = PopulationRecord(
                    personnummer=person_facts["Personnummer"],
                    first_name=person_facts["Förnamn"],
                    last_name=person_facts["Efternamn"],
                    address=address,
                )
            except (KeyError, ValidationError, InvalidPersonnummer):
                await self._changed(page, "folkbokföringen lacks an expected field")
            if person.personnummer != pnr:
                await self._changed(page, "folkbokföringen shows another person than asked for")
            residents = []
            for row in await self._table(page, SAME_ADDRESS_TABLE, ["Personnummer", "Namn"]):
                last_name, comma, first_name = row["Namn"].partition(", ")
                if not comma:
                    await self._changed(page, "a name in the same-address table is not 'Efternamn, Förnamn'")
                try:
                    residents.append(PopulationRecord(
                        personnummer=row["Personnummer"], first_name=first_name, last_name=last_name,
                        address=address,
                    ))
                except (ValidationError, InvalidPersonnummer):
                    await self._changed(page, "the same-address table holds an invalid personnummer")
            return Folkbokforing(person=person, registered_at_address=residents)
        finally:
            await self.release(page)

    async def employer_declarations(self, pnr: Personnummer, period: str) -> list[EmployerDeclaration]:
        """The person's declared pay for one redovisningsperiod (`2026-12`), from every page needed.

        The list is newest first; reading stops at the first page that reaches months before
        `period`, or at the last page.
        """
        found: list[EmployerDeclaration] = []
        page_number, page_count = 1, 1
        while page_number <= page_count:
            query = urlencode({"pnr": pnr.full, "sida": page_number})
            page = await self.open(f"/agi?{query}", "arbetsgivardeklarationerna")
            try:
                heading = await self._heading(page)
                if heading == HEADING_BAD_NUMBER:
                    raise BusinessError("PERSONNUMMER_REJECTED", f"skv: the number {pnr.masked} was refused")
                if heading != HEADING_AGI:
                    await self._changed(page, "the AGI page has no known heading")
                if await page.get_by_text(NO_DECLARATIONS).count():
                    return []
                rows = await self._table(
                    page, AGI_TABLE, ["Redovisningsperiod", "Arbetsgivare", "Bruttolön", "Avdragen skatt"]
                )
                page_count = await self._page_count(page)
                periods = [row["Redovisningsperiod"] for row in rows]
                for row in rows:
                    if row["Redovisningsperiod"] != period:
                        continue
                    try:
                        found.append(EmployerDeclaration(
                            personnummer=pnr, period=period, employer=row["Arbetsgivare"],
                            gross=parse_kr(row["Bruttolön"]), tax=parse_kr(row["Avdragen skatt"]),
                        ))
                    except (ValueError, ValidationError):
                        await self._changed(page, "an AGI row has an amount that is not whole kronor")
            finally:
                await self.release(page)
            newest_first = periods == sorted(periods, reverse=True)
            if newest_first and periods and periods[-1] < period:
                break
            page_number += 1
        return found

    # -- reading helpers --------------------------------------------------------------------

    async def _heading(self, page: Page) -> str:
        heading = page.get_by_role("heading", level=1)
        if await heading.count() == 0:
            await self._changed(page, "the page has no heading")
        return cell_text(await heading.first.inner_text())

    async def _definitions(self, page: Page, region: str) -> dict[str, str]:
        section = page.get_by_role("region", name=region, exact=True)
        if await section.count() != 1:
            await self._changed(page, f"no section '{region}'")
        pairs = await section.evaluate(_READ_DEFINITIONS)
        return {cell_text(term): cell_text(value) for term, value in pairs}

    async def _table(self, page: Page, caption: str, columns: list[str]) -> list[dict[str, str]]:
        table = page.get_by_role("table", name=caption, exact=True)
        if await table.count() != 1:
            await self._changed(page, f"no table '{caption}'")
        grid = await table.evaluate(_READ_TABLE)
        headers = [cell_text(h) for h in grid["headers"]]
        if any(column not in headers for column in columns):
            await self._changed(page, f"table '{caption}' lacks a column")
        return [
            {header: cell_text(cell) for header, cell in zip(headers, cells, strict=True)}
            for cells in grid["rows"]
            if len(cells) == len(headers)
        ]

    async def _page_count(self, page: Page) -> int:
        pager = page.get_by_role("navigation", name="Sidor")
        if await pager.count() == 0:
            return 1
        match = re.search(r"Sida\s+(\d+)\s+av\s+(\d+)", cell_text(await pager.inner_text()))
        if not match:
            await self._changed(page, "the pager does not say 'Sida N av M'")
        return int(match.group(2))

    async def _changed(self, page: Page, what: str) -> NoReturn:
        await self.capture_failure(page)
        raise ApplicationError("PAGE_CHANGED", f"{self.system}: {what}")
