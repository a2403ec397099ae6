"""The municipality's e-service inbox: list applications, read one, fetch its files, answer it.

The e-service is the bot's only source for what the applicant declared. Visible text is
Swedish; the rows carry machine codes in `data-` attributes (`data-type="hyra"`), so nothing
here translates Swedish labels back. The applicant's free-text message is untrusted: it is read
as text, never as HTML, and never executed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal, NoReturn
from urllib.parse import quote, urljoin

from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import ValidationError

from bistand.core.errors import ApplicationError
from bistand.core.models import CostType, DeclaredCost, DeclaredIncome, Member, Model, Period
from bistand.core.personnummer import InvalidPersonnummer
from bistand.pages.base import PortalPage, cell_text, parse_kr

PAGE_COUNTER = re.compile(r"^\s*Sida \d+ av \d+\s*$")

STATUSES = ("Ny", "Under handläggning", "Klar för beslut", "Beslutad", "Väntar på handläggare")
"""The statuses the e-service shows, in workflow order."""

# One round trip per table: each body row's cell texts and the row's data-* attributes.
# Rows without data attributes ("Inga inkomster angivna.") are placeholders and are skipped.
_READ_ROWS = """
(table) => Array.from(table.querySelectorAll("tbody tr"))
  .filter(tr => Object.keys(tr.dataset).length > 0)
  .map(tr => ({
    data: Object.assign({}, tr.dataset),
    cells: Array.from(tr.querySelectorAll("td")).map(td => td.textContent),
    times: Array.from(tr.querySelectorAll("time")).map(t => t.getAttribute("datetime")),
    links: Array.from(tr.querySelectorAll("a")).map(a => a.getAttribute("href")),
  }))
"""

# The fact list (dt/dd pairs) as {label: {text, value, time}}.
_READ_FACTS = """
(dl) => {
  const facts = {};
  for (const dt of dl.querySelectorAll("dt")) {
    const dd = dt.nextElementSibling;
    if (!dd || dd.tagName !== "DD") continue;
    const time = dd.querySelector("time");
    facts[dt.textContent.trim()] = {
      text: dd.textContent, value: dd.dataset.value ?? null, time: time ? time.getAttribute("datetime") : null,
    };
  }
  return facts;
}
"""


class InboxRow(Model):
    application_id: str
    case_number: str
    period: Period
    received: datetime
    status: str
    """The Swedish status label, one of STATUSES."""


class AttachmentLink(Model):
    index: int
    filename: str
    cost_type: CostType
    size_bytes: int
    path: str
    """The download path on the e-service (`/inbox/<id>/attachments/<n>`)."""


class ApplicationForm(Model):
    """Everything the applicant declared, as the e-service shows it (attachments not yet read)."""

    application_id: str
    case_number: str
    period: Period
    kind: Literal["first", "reapplication"]
    submitted_at: datetime
    municipality: str
    members: list[Member]
    declared_incomes: list[DeclaredIncome] = []
    declared_costs: list[DeclaredCost] = []
    bank_balance: int = 0
    message: str = ""
    attachments: list[AttachmentLink] = []


class SentMessage(Model):
    sent_at: datetime
    sender: str
    """'handlaggare' or 'sokande'."""
    text: str


def _page_changed(what: str, exc: Exception | None = None) -> NoReturn:
    """A page that no longer looks as expected; the message names the part, never the data."""
    detail = f" ({type(exc).__name__})" if exc is not None else ""
    raise ApplicationError("PAGE_CHANGED", f"eservice: {what} could not be read{detail}") from exc


class EServicePage(PortalPage):
    system = "eservice"

    # -- reading -------------------------------------------------------------------------------

    async def municipality(self) -> str:
        """The plain municipality name ('Höörby') from the e-service header."""
        page = await self.open("/inbox", "inkorgen")
        try:
            return await self._municipality_on(page)
        finally:
            await self.release(page)

    async def _municipality_on(self, page: Page) -> str:
        name = await page.locator('meta[name="municipality"]').get_attribute("content", timeout=2000)
        if not name or not name.strip():
            _page_changed("municipality name")
        return name.strip()

    async def list_applications(self, status: str | None = "Ny") -> list[InboxRow]:
        """Every application in the inbox with this status (None: all), over every page."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown e-service status: {status!r}")
        page = await self.open("/inbox", "inkorgen")
        try:
            await self._filter(page, status)
            rows: list[InboxRow] = []
            seen_pages: set[str] = set()
            while True:
                marker = cell_text(await self._text(page.get_by_text(PAGE_COUNTER), "page counter"))
                if marker in seen_pages:
                    _page_changed("inbox paging")
                seen_pages.add(marker)
                rows.extend(await self._inbox_rows(page))
                next_link = page.get_by_role("link", name="Nästa", exact=True)
                if await next_link.count() == 0:
                    break
                href = await next_link.first.get_attribute("href")
                if not href:
                    _page_changed("inbox paging")
                await self._goto(page, urljoin(page.url, href), "inkorgen")
            return rows
        finally:
            await self.release(page)

    async def _filter(self, page: Page, status: str | None) -> None:
        try:
            await page.get_by_label("Status", exact=True).select_option(label=status or "Alla")
            await page.get_by_label("Period", exact=True).fill("")
            async with page.expect_navigation() as navigation:
                await page.get_by_role("button", name="Filtrera").click()
            await self._check(await navigation.value, "inkorgen")
        except PlaywrightTimeout as exc:
            _page_changed("inbox filter", exc)

    async def _inbox_rows(self, page: Page) -> list[InboxRow]:
        table = page.get_by_role("table", name="Ansökningar")
        raw = await self._rows(table, "inbox table")
        rows = []
        for row in raw:
            try:
                rows.append(
                    InboxRow(
                        application_id=row["data"]["applicationId"],
                        case_number=cell_text(row["cells"][1]),
                        period=cell_text(row["cells"][3]),
                        received=datetime.fromisoformat(row["times"][0]),
                        status=cell_text(row["cells"][4]),
                    )
                )
            except (KeyError, IndexError, TypeError, ValueError, ValidationError) as exc:
                _page_changed("inbox row", exc)
        return rows

    async def read_application(self, application_id: str) -> ApplicationForm:
        """The application as declared: household, incomes, costs, balance, message, attachment links."""
        page = await self.open(self._detail_path(application_id), "ansökan")
        try:
            facts = await self._facts(page, "#arende-fakta", "application facts")
            assets = await self._facts(page, "#tillgangar", "bank balance")
            members = await self._rows(page.get_by_role("table", name="Hushållsmedlemmar"), "household table")
            incomes = await self._rows(page.get_by_role("table", name="Inkomster"), "income table")
            costs = await self._rows(page.get_by_role("table", name="Utgifter"), "cost table")
            files = await self._rows(page.get_by_role("table", name="Bilagor"), "attachment table")
            message = await self._text(
                page.get_by_role("document", name="Meddelande från sökande", exact=True), "message"
            )
            municipality = await self._municipality_on(page)
        finally:
            await self.release(page)
        try:
            return ApplicationForm(
                application_id=cell_text(facts["Ärende-id"]["text"]),
                case_number=cell_text(facts["Ärendenummer"]["text"]),
                period=cell_text(facts["Period"]["text"]),
                kind=facts["Typ av ansökan"]["value"],
                submitted_at=datetime.fromisoformat(facts["Inkommen"]["time"]),
                municipality=municipality,
                members=[
                    Member(
                        personnummer=row["data"]["personnummer"],
                        first_name=cell_text(row["cells"][1]),
                        last_name=cell_text(row["cells"][2]),
                        role=row["data"]["role"],
                        in_school=row["data"]["inSchool"] == "true",
                        lunch_at_home=row["data"]["lunchAtHome"] == "true",
                    )
                    for row in members
                ],
                declared_incomes=[
                    DeclaredIncome(
                        personnummer=row["data"]["personnummer"],
                        type=row["data"]["type"],
                        amount=parse_kr(row["cells"][2]),
                    )
                    for row in incomes
                ],
                declared_costs=[
                    DeclaredCost(type=row["data"]["type"], amount=parse_kr(row["cells"][1]),
                                 note=cell_text(row["cells"][2]))
                    for row in costs
                ],
                bank_balance=parse_kr(assets["Saldo på bankkonto"]["text"]),
                message=message,
                attachments=[
                    AttachmentLink(
                        index=int(row["data"]["number"]),
                        filename=cell_text(row["cells"][0]),
                        cost_type=row["data"]["type"],
                        size_bytes=int(row["data"]["bytes"]),
                        path=row["links"][0],
                    )
                    for row in files
                ],
            )
        except (KeyError, IndexError, TypeError, ValueError, ValidationError, InvalidPersonnummer) as exc:
            _page_changed("application page", exc)

    async def download_attachment(self, application_id: str, link: AttachmentLink) -> bytes:
        """The file's bytes, fetched with the logged-in context's cookies."""
        expected = f"{self._detail_path(application_id)}/attachments/"
        if not link.path.startswith(expected):
            raise ValueError("attachment link does not belong to this application")
        await self.ensure_logged_in()
        for attempt in range(2):
            seen = self.logins
            try:
                response = await self.context.request.get(self.url(link.path), max_redirects=5)
            except PlaywrightTimeout as exc:
                raise ApplicationError("TIMEOUT", "eservice: attachment download timed out") from exc
            try:
                if response.status >= 500:
                    raise ApplicationError(
                        "SYSTEM_UNAVAILABLE", f"eservice: attachment download answered HTTP {response.status}"
                    )
                if response.url.split("?")[0].endswith("/login"):
                    if attempt == 0:
                        await self.ensure_logged_in(seen_logins=seen)
                        continue
                    raise ApplicationError("LOGIN_FAILED", "eservice: session not accepted for download")
                if response.status != 200:
                    raise ApplicationError(
                        "ATTACHMENT_NOT_FOUND", f"eservice: attachment {link.index} answered HTTP {response.status}"
                    )
                return await response.body()
            finally:
                await response.dispose()
        raise ApplicationError("LOGIN_FAILED", "eservice: session not accepted for download")

    async def status(self, application_id: str) -> str:
        """The application's current status label (one of STATUSES)."""
        page = await self.open(self._detail_path(application_id), "ansökan")
        try:
            return await self._status_on(page)
        finally:
            await self.release(page)

    async def _status_on(self, page: Page) -> str:
        facts = await self._facts(page, "#arende-fakta", "application facts")
        try:
            label = cell_text(facts["Status"]["text"])
        except KeyError as exc:
            _page_changed("status", exc)
        if label not in STATUSES:
            _page_changed("status")
        return label

    async def messages(self, application_id: str) -> list[SentMessage]:
        """The messages on the application, oldest first."""
        page = await self.open(self._detail_path(application_id), "ansökan")
        try:
            return await self._messages_on(page)
        finally:
            await self.release(page)

    async def _messages_on(self, page: Page) -> list[SentMessage]:
        rows = await self._rows(page.get_by_role("table", name="Skickade meddelanden"), "message table")
        try:
            return [
                SentMessage(sent_at=datetime.fromisoformat(row["times"][0]), sender=row["data"]["sender"],
                            text=row["cells"][2])
                for row in rows
            ]
        except (KeyError, IndexError, TypeError, ValueError, ValidationError) as exc:
            _page_changed("message table", exc)

    # -- writing -------------------------------------------------------------------------------

    async def set_status(self, application_id: str, status: str) -> None:
        """Change the status (Swedish label) and confirm the page shows it afterwards."""
        if status not in STATUSES:
            raise ValueError(f"unknown e-service status: {status!r}")
        page = await self.open(self._detail_path(application_id), "ansökan")
        try:
            try:
                await page.get_by_label("Ny status", exact=True).select_option(label=status)
                async with page.expect_navigation() as navigation:
                    await page.get_by_role("button", name="Ändra status").click()
                await self._check(await navigation.value, "statusändringen")
            except PlaywrightTimeout as exc:
                _page_changed("status form", exc)
            if await self._status_on(page) != status:
                raise ApplicationError("NOT_SAVED", "eservice: the status change was not saved")
        finally:
            await self.release(page)

    async def send_message(self, application_id: str, text: str) -> None:
        """Send a message to the applicant and confirm it is listed afterwards."""
        wanted = text.replace("\r\n", "\n").strip()
        if not wanted:
            raise ValueError("empty message")
        page = await self.open(self._detail_path(application_id), "ansökan")
        try:
            try:
                await page.get_by_label("Meddelande till sökande", exact=True).fill(wanted)
                async with page.expect_navigation() as navigation:
                    await page.get_by_role("button", name="Skicka meddelande").click()
                await self._check(await navigation.value, "meddelandet")
            except PlaywrightTimeout as exc:
                _page_changed("message form", exc)
            sent = await self._messages_on(page)
            if not sent or sent[-1].text != wanted:
                raise ApplicationError("NOT_SAVED", "eservice: the message was not saved")
        finally:
            await self.release(page)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _detail_path(application_id: str) -> str:
        return f"/inbox/{quote(application_id, safe='')}"

    async def _goto(self, page: Page, url: str, what: str) -> None:
        seen = self.logins
        try:
            await self._check(await page.goto(url), what)
        except PlaywrightTimeout as exc:
            raise ApplicationError("TIMEOUT", f"eservice: {what} timed out") from exc
        if self._on_login_page(page):
            await self.ensure_logged_in(seen_logins=seen, page=page)
            await self._check(await page.goto(url), what)

    async def _rows(self, table: Locator, what: str) -> list[dict[str, Any]]:
        try:
            return await table.evaluate(_READ_ROWS, timeout=5000)
        except PlaywrightTimeout as exc:
            _page_changed(what, exc)

    async def _facts(self, page: Page, selector: str, what: str) -> dict[str, dict[str, Any]]:
        try:
            return await page.locator(selector).evaluate(_READ_FACTS, timeout=5000)
        except PlaywrightTimeout as exc:
            _page_changed(what, exc)

    async def _text(self, locator: Locator, what: str) -> str:
        try:
            return await locator.text_content(timeout=5000) or ""
        except PlaywrightTimeout as exc:
            _page_changed(what, exc)
