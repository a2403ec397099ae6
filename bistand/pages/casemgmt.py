"""The case-management system (verksamhetssystem): read the case, write what the bot concluded.

Reads: the household with roles, earlier decisions, and which applications already have a
decision basis, a decision or a payment order (so a re-run does not write twice).
Writes: the decision basis with the report, and in automated mode the decision and the payment
order, plus journal notes. Every write is confirmed twice: by the system's own confirmation and
by finding the new row on the case page.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Literal, NoReturn
from urllib.parse import quote, unquote

from lxml.html import HtmlElement
from playwright.async_api import Locator, Page
from pydantic import ValidationError

from bistand.core.errors import ApplicationError, BusinessError
from bistand.core.models import (
    CaseRecord,
    Kronor,
    Member,
    Model,
    Period,
    PreviousDecision,
    Proposal,
    RegisteredDecision,
    Role,
)
from bistand.core.personnummer import InvalidPersonnummer, Personnummer, mask_personnummer_in_text
from bistand.pages.base import (
    Cell,
    Fetched,
    PortalPage,
    cell_text,
    has_text,
    headings,
    named,
    page_changed,
    parse_html,
    parse_kr,
    read_table,
)

SYSTEM = "casemgmt"

ROLE_BY_LABEL = {"Sökande": Role.APPLICANT, "Medsökande": Role.PARTNER, "Barn": Role.CHILD,
                 "Övrig vuxen": Role.OTHER_ADULT}
DECISION_BY_LABEL = {"Bevilja": "approve", "Avslå": "reject"}
PROPOSAL_BY_LABEL = {"Bevilja": "approve", "Avslå": "reject", "Manuell handläggning": "manual_review"}

class DecisionBasisForm(Model):
    """What the bot writes as beslutsunderlag for one application."""

    application_id: str
    period: Period
    proposal: Proposal
    amount: Kronor
    findings: list[str] = []
    report_text: str


class ApplicationRegistration(Model):
    """An incoming application to register on its case."""

    application_id: str
    period: Period
    kind: Literal["first", "reapplication"]
    submitted: date


class DecisionForm(Model):
    """A decision registered by the bot (automated mode only)."""

    application_id: str
    period: Period
    decision: Literal["approve", "reject"]
    amount: Kronor


class PaymentOrderForm(Model):
    application_id: str
    period: Period
    amount: Kronor
    recipient: Personnummer
    pay_date: date


class CaseOverview(Model):
    """The case as the system shows it, and which applications already have each kind of write."""

    case: CaseRecord
    application_ids: list[str] = []  # the applications the system knows (Aktuella ansökningar)
    decision_basis_ids: list[str] = []
    decision_ids: list[str] = []
    payment_ids: list[str] = []
    copies: dict[str, dict[str, int]] = {}
    """Rows per application id in each of those grids (by the field's name), where more than one:
    a write that landed twice (two runners, or a late write of a runner that lost its lease)."""

    def written_twice(self, application_id: str) -> list[str]:
        """The kinds of write (field names above) the system holds more than once for the application."""
        return sorted(kind for kind, rows in self.copies.items() if rows.get(application_id, 0) > 1)


NOT_FOUND_TEXT = "Inget ärende hittades"
OVERVIEW_GRIDS = {
    "Hushåll": ["Personnummer", "Namn", "Roll", "Studerande", "Lunch i hemmet"],
    "Tidigare beslut": ["Period", "Beslut", "Belopp"],
    "Aktuella ansökningar": ["Ansökan"],
    "Beslutsunderlag": ["Ansökan"],
    "Registrerade beslut": ["Ansökan", "Period", "Beslut", "Belopp", "Registrerat"],
    "Utbetalningsorder": ["Ansökan"],
}


def grid(root: HtmlElement, caption: str, needed: list[str]) -> list[dict[str, Cell]]:
    """The body rows of the table named `caption`, as header -> Cell ('Inga ...' rows skipped)."""
    tables = named(root, "table", caption)
    if len(tables) != 1:
        raise page_changed(SYSTEM, f"no table {caption!r}")
    table = read_table(tables[0], needed, SYSTEM, f"table {caption!r}")
    return [{header: cell for header, cell in row.by_header.items() if header} for row in table.rows]


def _member(row: dict[str, Cell]) -> Member:
    last_name, first_name = (part.strip() for part in row["Namn"].text.split(",", 1))
    role = row["Roll"].data.get("role") or ROLE_BY_LABEL[row["Roll"].text]
    return Member(
        personnummer=Personnummer(row["Personnummer"].text),
        first_name=first_name,
        last_name=last_name,
        role=Role(role),
        in_school=row["Studerande"].text == "Ja",
        lunch_at_home=row["Lunch i hemmet"].text == "Ja",
    )


def parse_case_page(html: str, case_number: str) -> CaseOverview:
    """The case page: heading "Ärende <nr>", the household, earlier decisions, and which
    applications already have a decision basis, a decision or a payment order.

    "Inget ärende hittades" is the business error CASE_NOT_FOUND.
    """
    root = parse_html(html)
    if f"Ärende {case_number}" not in headings(root, 1):
        if has_text(root, NOT_FOUND_TEXT):
            raise BusinessError("CASE_NOT_FOUND", f"case {case_number} is not in the case-management system")
        raise page_changed(SYSTEM, f"the page of case {case_number} has no case heading")
    grids = {caption: grid(root, caption, needed) for caption, needed in OVERVIEW_GRIDS.items()}
    try:
        members = [_member(row) for row in grids["Hushåll"]]
        previous_decisions = [
            PreviousDecision(
                period=row["Period"].text,
                decision=row["Beslut"].data.get("decision") or DECISION_BY_LABEL[row["Beslut"].text],
                amount=parse_kr(row["Belopp"].text),
            )
            for row in grids["Tidigare beslut"]
        ]
        registered_decisions = [
            RegisteredDecision(
                application_id=row["Ansökan"].text, period=row["Period"].text,
                decision=row["Beslut"].data.get("decision") or DECISION_BY_LABEL[row["Beslut"].text],
                amount=parse_kr(row["Belopp"].text), registered=row["Registrerat"].text,
            )
            for row in grids["Registrerade beslut"]
        ]
        case = CaseRecord(case_number=case_number, members=members, previous_decisions=previous_decisions,
                          registered_decisions=registered_decisions)
    except (KeyError, ValueError, ValidationError, InvalidPersonnummer):
        # The details may hold personal data: say only what could not be read.
        raise page_changed(
            SYSTEM, f"the household or the decisions of case {case_number} cannot be read"
        ) from None
    if not members:
        raise page_changed(SYSTEM, f"case {case_number} shows no household members")

    def ids(caption: str) -> list[str]:
        return sorted({row["Ansökan"].text for row in grids[caption]})

    def copies(caption: str) -> dict[str, int]:
        counted = Counter(row["Ansökan"].text for row in grids[caption])
        return {application_id: rows for application_id, rows in counted.items() if rows > 1}

    kinds = {"application_ids": "Aktuella ansökningar", "decision_basis_ids": "Beslutsunderlag",
             "decision_ids": "Registrerade beslut", "payment_ids": "Utbetalningsorder"}
    return CaseOverview(case=case, **{kind: ids(caption) for kind, caption in kinds.items()},
                        copies={kind: found for kind, caption in kinds.items() if (found := copies(caption))})


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class CaseManagementPage(PortalPage):
    """Page object for the case-management system (`casemgmt`)."""

    system = SYSTEM

    # -- reading ------------------------------------------------------------------------------

    async def open_case(self, case_number: str) -> CaseOverview:
        """Read the case page by its deep link (/arende/<nr>), the page a caseworker's search opens.

        Raises BusinessError CASE_NOT_FOUND when the system has no such case.
        """
        shown = await self.read(self._case_path(case_number), "ärendet")
        return await self.parsed(shown, parse_case_page, case_number)

    async def find_case_by_personnummer(self, pnr: Personnummer) -> str | None:
        """The case number of the case the person belongs to, or None when there is none."""
        page = await self.open("/sok", "sökningen")
        try:
            return await self._search(page, "Personnummer", pnr.full)
        finally:
            await self.release(page)

    async def has_decision_basis(self, case_number: str, application_id: str) -> bool:
        return application_id in (await self.open_case(case_number)).decision_basis_ids

    # -- writing ------------------------------------------------------------------------------

    async def write_decision_basis(self, case_number: str, form: DecisionBasisForm) -> None:
        """Fill and save the decision-basis form; confirm it by its row on the case page."""
        page = await self.open(self._case_path(case_number, "/beslutsunderlag/ny"), "formuläret beslutsunderlag")
        try:
            await self._require_case_page(page, case_number)
            await (await self._field(page, "Ansökan")).fill(form.application_id)
            await (await self._field(page, "Period")).fill(form.period)
            await (await self._field(page, "Förslag")).select_option(value=form.proposal.value)
            await (await self._field(page, "Belopp")).fill(str(form.amount))
            await (await self._field(page, "Noteringar")).fill(", ".join(form.findings))
            await (await self._field(page, "Beslutsunderlag")).fill(form.report_text)
            number = await self._submit(
                page, "Spara beslutsunderlag", r"Beslutsunderlag nr (\d+) sparat",
                f"beslutsunderlag {form.application_id}",
            )
            rows = await self._grid(page, "Beslutsunderlag", ["Nr", "Ansökan", "Förslag", "Belopp", "Tecken"])
            row = next((r for r in rows if r["Nr"].text == number), None)
            expected_length = len(_normalize_newlines(form.report_text))
            if (
                row is None
                or row["Ansökan"].text != form.application_id
                or row["Förslag"].data.get("proposal") != form.proposal.value
                or self._amount(row["Belopp"]) != form.amount
                or row["Tecken"].text != str(expected_length)
            ):
                await self.capture_failure(page)
                raise ApplicationError(
                    "WRITE_NOT_CONFIRMED",
                    f"{self.system}: decision basis {number} for {form.application_id} is not shown as written",
                )
        finally:
            await self.release(page)

    async def register_application(self, case_number: str, form: ApplicationRegistration) -> None:
        """Register an incoming application on its case (Registrera ansökan), as a caseworker
        does for an application the e-service received; confirmed by its row on the case page."""
        page = await self.open(self._case_path(case_number, "/ansokan/ny"), "formuläret registrera ansökan")
        try:
            await self._require_case_page(page, case_number)
            await (await self._field(page, "Ansökan")).fill(form.application_id)
            await (await self._field(page, "Period")).fill(form.period)
            await (await self._field(page, "Typ av ansökan")).select_option(value=form.kind)
            await (await self._field(page, "Inkommen")).fill(form.submitted.isoformat())
            await self._submit(page, "Registrera ansökan", r"Ansökan (ANS-[0-9-]+) registrerad",
                               f"registrering av {form.application_id}")
        finally:
            await self.release(page)
        page = await self._open_case_page(case_number)
        try:
            rows = await self._grid(page, "Aktuella ansökningar", ["Ansökan", "Period"])
            if not any(r["Ansökan"].text == form.application_id and r["Period"].text == form.period for r in rows):
                await self.capture_failure(page)
                raise ApplicationError(
                    "WRITE_NOT_CONFIRMED",
                    f"{self.system}: application {form.application_id} is not shown as registered",
                )
        finally:
            await self.release(page)

    async def register_decision(self, case_number: str, form: DecisionForm) -> None:
        page = await self.open(self._case_path(case_number, "/beslut/ny"), "formuläret registrera beslut")
        try:
            await self._require_case_page(page, case_number)
            await (await self._field(page, "Ansökan")).fill(form.application_id)
            await (await self._field(page, "Period")).fill(form.period)
            await (await self._field(page, "Beslut")).select_option(value=form.decision)
            await (await self._field(page, "Belopp")).fill(str(form.amount))
            number = await self._submit(
                page, "Registrera beslut", r"Beslut nr (\d+) registrerat", f"beslut {form.application_id}"
            )
            rows = await self._grid(page, "Registrerade beslut", ["Nr", "Ansökan", "Beslut", "Belopp"])
            row = next((r for r in rows if r["Nr"].text == number), None)
            if (
                row is None
                or row["Ansökan"].text != form.application_id
                or row["Beslut"].data.get("decision") != form.decision
                or self._amount(row["Belopp"]) != form.amount
            ):
                await self.capture_failure(page)
                raise ApplicationError(
                    "WRITE_NOT_CONFIRMED", f"{self.system}: decision {number} for {form.application_id} is not shown"
                )
        finally:
            await self.release(page)

    async def create_payment_order(self, case_number: str, form: PaymentOrderForm) -> None:
        page = await self.open(self._case_path(case_number, "/utbetalning/ny"), "formuläret utbetalningsorder")
        try:
            await self._require_case_page(page, case_number)
            await (await self._field(page, "Ansökan")).fill(form.application_id)
            await (await self._field(page, "Period")).fill(form.period)
            await (await self._field(page, "Belopp")).fill(str(form.amount))
            await (await self._field(page, "Mottagare")).fill(form.recipient.full)
            await (await self._field(page, "Utbetalningsdag")).fill(form.pay_date.isoformat())
            number = await self._submit(
                page, "Skapa utbetalning", r"Utbetalningsorder nr (\d+) skapad", f"utbetalning {form.application_id}"
            )
            rows = await self._grid(
                page, "Utbetalningsorder", ["Nr", "Ansökan", "Belopp", "Mottagare", "Utbetalningsdag"]
            )
            row = next((r for r in rows if r["Nr"].text == number), None)
            if (
                row is None
                or row["Ansökan"].text != form.application_id
                or self._amount(row["Belopp"]) != form.amount
                or row["Mottagare"].text != form.recipient.full
                or row["Utbetalningsdag"].text != form.pay_date.isoformat()
            ):
                await self.capture_failure(page)
                raise ApplicationError(
                    "WRITE_NOT_CONFIRMED",
                    f"{self.system}: payment order {number} for {form.application_id} is not shown",
                )
        finally:
            await self.release(page)

    async def add_journal_note(self, case_number: str, text: str) -> None:
        page = await self._open_case_page(case_number)
        try:
            await (await self._field(page, "Anteckning")).fill(text)
            await self._submit(page, "Spara anteckning", r"(Anteckningen sparad)", "journalanteckning")
            rows = await self._grid(page, "Journal", ["Tid", "Av", "Anteckning"])
            if not any(row["Anteckning"].text == cell_text(text) for row in rows):
                await self.capture_failure(page)
                raise ApplicationError("WRITE_NOT_CONFIRMED", f"{self.system}: the journal note is not shown")
        finally:
            await self.release(page)

    # -- the pages ----------------------------------------------------------------------------

    def _case_path(self, case_number: str, suffix: str = "") -> str:
        return f"/arende/{quote(case_number, safe='')}{suffix}"

    async def _open_case_page(self, case_number: str) -> Page:
        page = await self.open(self._case_path(case_number), "ärendet")
        try:
            await self._require_case_page(page, case_number)
        except BaseException:
            await self.release(page)
            raise
        return page

    async def _require_case_page(self, page: Page, case_number: str) -> None:
        """The page must be the case's (its heading); a missing case is a business error."""
        if await page.get_by_role("heading", name=f"Ärende {case_number}", exact=True).count():
            return
        if await page.get_by_text("Inget ärende hittades").count():
            raise BusinessError("CASE_NOT_FOUND", f"case {case_number} is not in the case-management system")
        await self._page_changed(page, f"the page of case {case_number} has no case heading")

    async def _search(self, page: Page, label: str, value: str) -> str | None:
        """Fill one search field and press Sök; the case number opened, or None for no hit."""
        await (await self._field(page, label)).fill(value)
        await self._click_and_wait(page, "Sök", "sökningen")
        path = unquote(page.url.split("?")[0].split("#")[0])
        match = re.search(r"/arende/([^/]+)$", path)
        if match:
            await self._require_case_page(page, match.group(1))
            return match.group(1)
        if await page.get_by_text("Inget ärende hittades").count():
            return None
        await self._page_changed(page, "the search gave neither a case nor 'Inget ärende hittades'")

    # -- small helpers ------------------------------------------------------------------------

    async def _field(self, page: Page, label: str) -> Locator:
        field = page.get_by_label(label, exact=True)
        if await field.count() != 1:
            await self._page_changed(page, f"no single field labelled {label!r}")
        return field

    async def _click_and_wait(self, page: Page, button_name: str, what: str) -> None:
        """Press a submit button and wait for the page it leads to (re-login when sent to /login)."""
        button = page.get_by_role("button", name=button_name, exact=True)
        if await button.count() != 1:
            await self._page_changed(page, f"no button {button_name!r}")
        async with page.expect_navigation() as navigation:
            await button.click()
        response = await navigation.value
        if response is not None and response.status >= 500:
            await self.capture_failure(page)
        await self._check(response, what)
        if self._on_login_page(page):
            self._logged_in = False
            raise ApplicationError("LOGIN_FAILED", f"{self.system}: the session ended during {what}")

    async def _submit(self, page: Page, button_name: str, confirmation: str, what: str) -> str:
        """Submit a form and return what the confirmation pattern's group captured (the new number)."""
        await self._click_and_wait(page, button_name, what)
        status = page.get_by_role("status")
        text = cell_text(await status.first.text_content()) if await status.count() else ""
        match = re.search(confirmation, text)
        if match:
            return match.group(1)
        alert = page.get_by_role("alert")
        reason = cell_text(await alert.first.text_content()) if await alert.count() else "no confirmation shown"
        await self.capture_failure(page)
        raise ApplicationError(
            "WRITE_NOT_CONFIRMED", f"{self.system}: {what} was not saved: {mask_personnummer_in_text(reason)[:300]}"
        )

    async def _grid(self, page: Page, caption: str, needed: list[str]) -> list[dict[str, Cell]]:
        """The body rows of the table named `caption` on the tab's page, as header -> Cell."""
        shown = Fetched(url=page.url, html=await page.content())
        return await self.parsed(shown, lambda html: grid(parse_html(html), caption, needed), page=page)

    @staticmethod
    def _amount(cell: Cell) -> int | None:
        try:
            return parse_kr(cell.text)
        except ValueError:
            return None

    async def _page_changed(self, page: Page, detail: str) -> NoReturn:
        await self.capture_failure(page)
        raise ApplicationError("PAGE_CHANGED", f"{self.system}: {detail}")
