"""Skatteverket: a person's folkbokföring (with everyone at the same address) and employer declarations.

The portal asks for a security code after the password; `PortalPage.login()` answers it from the
robot's TOTP secret. Pages are read by their visible headings, captions and labels; anything the
page object does not recognise is a changed page (ApplicationError PAGE_CHANGED, no personal data).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError

from bistand.core.errors import BusinessError
from bistand.core.models import Address, EmployerDeclaration, Model, PopulationRecord
from bistand.core.personnummer import InvalidPersonnummer, Personnummer
from bistand.pages.base import (
    PortalPage,
    has_text,
    headings,
    named,
    one_named,
    page_changed,
    parse_html,
    parse_kr,
    read_definitions,
    read_table,
    text_of,
)

SYSTEM = "skv"
HEADING_FOLKBOKFORING = "Folkbokföring"
HEADING_NOT_REGISTERED = "Personen finns inte i folkbokföringen"
HEADING_AGI = "Arbetsgivardeklarationer (AGI)"
HEADING_BAD_NUMBER = "Felaktigt personnummer"
SAME_ADDRESS_TABLE = "Personer folkbokförda på samma adress"
AGI_TABLE = "Redovisade löner och avdragen skatt"
NO_DECLARATIONS = "Inga arbetsgivardeklarationer"
AGI_COLUMNS = ("Redovisningsperiod", "Arbetsgivare", "Bruttolön", "Avdragen skatt")


class Folkbokforing(Model):
    """What Skatteverket shows for one person: the record, and everyone registered at that address."""

    person: PopulationRecord | None
    """None when the person is not in the folkbokföring."""
    registered_at_address: list[PopulationRecord] = []
    """Everyone at the person's street and postal code, the person included; each with that address."""


class AgiPage(BaseModel):
    """One page of declarations: the rows as shown (newest first) and the pager's page count."""

    declarations: list[EmployerDeclaration] = []
    periods: list[str] = []
    page_count: int = 1


def _heading(root, pnr: Personnummer) -> str:
    titles = headings(root, 1)
    if not titles:
        raise page_changed(SYSTEM, "the page has no heading")
    if titles[0] == HEADING_BAD_NUMBER:
        raise BusinessError("PERSONNUMMER_REJECTED", f"skv: the number {pnr.masked} was refused")
    return titles[0]


def _definitions(root, region: str) -> dict[str, str]:
    return {term: cell.text for term, cell in read_definitions(one_named(root, "section", region, SYSTEM)).items()}


def parse_folkbokforing(html: str, pnr: Personnummer) -> Folkbokforing:
    """Sections "Person" and "Folkbokföringsadress" (definition lists) and the table of people
    registered at the same address ("Efternamn, Förnamn")."""
    root = parse_html(html)
    heading = _heading(root, pnr)
    if heading == HEADING_NOT_REGISTERED:
        return Folkbokforing(person=None)
    if heading != HEADING_FOLKBOKFORING:
        raise page_changed(SYSTEM, "folkbokföringen has no known heading")
    person_facts = _definitions(root, "Person")
    address_facts = _definitions(root, "Folkbokföringsadress")
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
        raise page_changed(SYSTEM, "folkbokföringen lacks an expected field") from None
    if person.personnummer != pnr:
        raise page_changed(SYSTEM, "folkbokföringen shows another person than asked for")
    residents = []
    table = read_table(one_named(root, "table", SAME_ADDRESS_TABLE, SYSTEM), ("Personnummer", "Namn"), SYSTEM)
    for row in table.rows:
        last_name, comma, first_name = row["Namn"].text.partition(", ")
        if not comma:
            raise page_changed(SYSTEM, "a name in the same-address table is not 'Efternamn, Förnamn'")
        try:
            residents.append(PopulationRecord(
                personnummer=row["Personnummer"].text, first_name=first_name, last_name=last_name, address=address,
            ))
        except (ValidationError, InvalidPersonnummer):
            raise page_changed(SYSTEM, "the same-address table holds an invalid personnummer") from None
    return Folkbokforing(person=person, registered_at_address=residents)


def parse_agi(html: str, pnr: Personnummer, period: str) -> AgiPage:
    """Table "Redovisade löner och avdragen skatt" and the pager "Sida N av M"; only rows of
    `period` become declarations, every row's period is kept to know when to stop."""
    root = parse_html(html)
    if _heading(root, pnr) != HEADING_AGI:
        raise page_changed(SYSTEM, "the AGI page has no known heading")
    if has_text(root, NO_DECLARATIONS):
        return AgiPage()
    rows = read_table(one_named(root, "table", AGI_TABLE, SYSTEM), AGI_COLUMNS, SYSTEM).rows
    found = []
    for row in rows:
        if row["Redovisningsperiod"].text != period:
            continue
        try:
            found.append(EmployerDeclaration(
                personnummer=pnr, period=period, employer=row["Arbetsgivare"].text,
                gross=parse_kr(row["Bruttolön"].text), tax=parse_kr(row["Avdragen skatt"].text),
            ))
        except (ValueError, ValidationError):
            raise page_changed(SYSTEM, "an AGI row has an amount that is not whole kronor") from None
    page_count = 1
    pagers = named(root, "nav", "Sidor")
    if pagers:
        match = re.search(r"Sida\s+(\d+)\s+av\s+(\d+)", text_of(pagers[0]))
        if not match:
            raise page_changed(SYSTEM, "the pager does not say 'Sida N av M'")
        page_count = int(match.group(2))
    return AgiPage(declarations=found, periods=[row["Redovisningsperiod"].text for row in rows],
                   page_count=page_count)


class SkatteverketPage(PortalPage):
    system = SYSTEM

    async def folkbokforing(self, pnr: Personnummer) -> Folkbokforing:
        """The person's registered address and the people registered there (RULES.md §5)."""
        shown = await self.read(f"/folkbokforing?{urlencode({'pnr': pnr.full})}", "folkbokföringen")
        return await self.parsed(shown, parse_folkbokforing, pnr)

    async def employer_declarations(self, pnr: Personnummer, period: str) -> list[EmployerDeclaration]:
        """The person's declared pay for one redovisningsperiod (`2026-12`), from every page needed.

        The list is newest first; reading stops at the first page that reaches months before
        `period`, or at the last page.
        """
        found: list[EmployerDeclaration] = []
        page_number, page_count = 1, 1
        while page_number <= page_count:
            query = urlencode({"pnr": pnr.full, "sida": page_number})
            shown = await self.parsed(await self.read(f"/agi?{query}", "arbetsgivardeklarationerna"),
                                      parse_agi, pnr, period)
            if not shown.periods:
                return found
            found += shown.declarations
            page_count = shown.page_count
            periods = shown.periods
            newest_first = periods == sorted(periods, reverse=True)
            if newest_first and periods[-1] < period:
                break
            page_number += 1
        return found
