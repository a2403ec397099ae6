"""The municipality's e-service inbox: list applications, read one, fetch its files, answer it.

The e-service is the bot's only source for what the applicant declared. Visible text is
Swedish; the rows carry machine codes in `data-` attributes (`data-type="hyra"`), so nothing
here translates Swedish labels back. The applicant's free-text message is untrusted: it is read
as text, never as HTML, and never executed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, NoReturn
from urllib.parse import quote, urlencode, urljoin

import httpx
from lxml.html import HtmlElement
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import ValidationError

from bistand.core.documents import MAX_BYTES as MAX_DOCUMENT_BYTES
from bistand.core.errors import ApplicationError
from bistand.core.models import CostType, DeclaredCost, DeclaredIncome, Member, Model, Period
from bistand.core.personnummer import InvalidPersonnummer
from bistand.pages.base import (
    TRANSIENT_HTTP,
    Fetched,
    PortalPage,
    Row,
    TransientError,
    link_href,
    named,
    parse_html,
    parse_kr,
    read_definitions,
    read_table,
    text_of,
)

DOWNLOAD_TIMEOUT_S = 30.0
"""One attachment download, connection to last byte."""

SYSTEM = "eservice"
PAGE_COUNTER = re.compile(r"^\s*Sida \d+ av \d+\s*$")

STATUSES = ("Ny", "Under handläggning", "Klar för beslut", "Beslutad", "Väntar på handläggare")
"""The statuses the e-service shows, in workflow order."""

class InboxFilter(Model):
    """What the inbox's filter form is given: a status label (None: all), a period, a case number."""

    status: str | None = "Ny"
    period: str = ""
    case_number: str = ""


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


def _table(root: HtmlElement, caption: str, what: str) -> list[Row]:
    """A table's data rows (rows with data-* attributes; 'Inga ...' placeholders have none)."""
    tables = named(root, "table", caption)
    if len(tables) != 1:
        _page_changed(what)
    return [row for row in read_table(tables[0], (), SYSTEM, what).rows if row.data]


def parse_municipality(html: str) -> str:
    """The plain municipality name ('Höörby') from the page's <meta name="municipality">."""
    names = parse_html(html).xpath('//meta[@name="municipality"]/@content')
    if not names or not names[0].strip():
        _page_changed("municipality name")
    return names[0].strip()


class InboxPage(Model):
    """One page of the inbox: its rows, the counter 'Sida N av M' and the link to the next page."""

    rows: list[InboxRow]
    counter: str
    next_href: str | None = None
    status_values: dict[str, str] = {}
    """The filter's status options, label -> the value the form sends."""


def parse_inbox(html: str) -> InboxPage:
    root = parse_html(html)
    rows = []
    for row in _table(root, "Ansökningar", "inbox table"):
        try:
            rows.append(InboxRow(
                application_id=row.data["application-id"], case_number=row.cells[1].text, period=row.cells[3].text,
                received=datetime.fromisoformat(row.cells[2].time), status=row.cells[4].text,
            ))
        except (KeyError, IndexError, TypeError, ValueError, ValidationError) as exc:
            _page_changed("inbox row", exc)
    pagers = named(root, "div|nav", "Sidor")
    counter = next((text_of(span) for pager in pagers for span in pager.iter("span")
                    if PAGE_COUNTER.match(text_of(span))), "")
    if not counter:
        _page_changed("page counter")
    options = {}
    for select in root.xpath("//select[@id=//label[normalize-space()='Status']/@for]"):
        options = {text_of(option): option.get("value", "") for option in select.iter("option")}
    next_href = link_href(pagers[0], "Nästa") if pagers else None
    return InboxPage(rows=rows, counter=counter, next_href=next_href, status_values=options)


def parse_application(html: str) -> ApplicationForm:
    """The application page: the facts list, household, incomes, costs, balance, the applicant's
    message (as text) and the attachment links."""
    root = parse_html(html)
    facts = read_definitions(root)
    members = _table(root, "Hushållsmedlemmar", "household table")
    incomes = _table(root, "Inkomster", "income table")
    costs = _table(root, "Utgifter", "cost table")
    files = _table(root, "Bilagor", "attachment table")
    messages = named(root, "div", "Meddelande från sökande")
    if len(messages) != 1:
        _page_changed("message")
    municipality = parse_municipality(html)
    try:
        return ApplicationForm(
            application_id=facts["Ärende-id"].text,
            case_number=facts["Ärendenummer"].text,
            period=facts["Period"].text,
            kind=facts["Typ av ansökan"].data["value"],
            submitted_at=datetime.fromisoformat(facts["Inkommen"].time),
            municipality=municipality,
            members=[
                Member(
                    personnummer=row.data["personnummer"], first_name=row.cells[1].text,
                    last_name=row.cells[2].text, role=row.data["role"],
                    in_school=row.data["in-school"] == "true", lunch_at_home=row.data["lunch-at-home"] == "true",
                )
                for row in members
            ],
            declared_incomes=[
                DeclaredIncome(personnummer=row.data["personnummer"], type=row.data["type"],
                               amount=parse_kr(row.cells[2].text))
                for row in incomes
            ],
            declared_costs=[
                DeclaredCost(type=row.data["type"], amount=parse_kr(row.cells[1].text), note=row.cells[2].text)
                for row in costs
            ],
            bank_balance=parse_kr(facts["Saldo på bankkonto"].text),
            message=messages[0].text_content(),
            attachments=[
                AttachmentLink(
                    index=int(row.data["number"]), filename=row.cells[0].text, cost_type=row.data["type"],
                    size_bytes=int(row.data["bytes"]), path=row.cells[0].href,
                )
                for row in files
            ],
        )
    except (KeyError, IndexError, TypeError, ValueError, ValidationError, InvalidPersonnummer) as exc:
        _page_changed("application page", exc)


def parse_status(html: str) -> str:
    """The application's status label (one of STATUSES) from the facts list."""
    facts = read_definitions(parse_html(html))
    if "Status" not in facts:
        _page_changed("status")
    label = facts["Status"].text
    if label not in STATUSES:
        _page_changed("status")
    return label


def parse_messages(html: str) -> list[SentMessage]:
    """Table 'Skickade meddelanden', oldest first."""
    rows = _table(parse_html(html), "Skickade meddelanden", "message table")
    try:
        return [SentMessage(sent_at=datetime.fromisoformat(row.cells[0].time), sender=row.data["sender"],
                            text=row.cells[2].raw_text) for row in rows]
    except (KeyError, IndexError, TypeError, ValueError, ValidationError) as exc:
        _page_changed("message table", exc)


class EServicePage(PortalPage):
    system = SYSTEM
    pool_size = 4
    """The producer changes the status of every new application at once: four tabs (sharing the
    browser's few renderers) mark a full inbox in about half the time two do."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._status_values: dict[str, str] = {}
        self._downloads: httpx.AsyncClient | None = None
        """The attachments' streaming client (cookies are given per request, never kept in it)."""

    async def close(self) -> None:
        if self._downloads is not None:
            await self._downloads.aclose()
            self._downloads = None

    # -- reading -------------------------------------------------------------------------------

    async def municipality(self) -> str:
        """The plain municipality name ('Höörby') from the e-service header."""
        return await self.parsed(await self.read("/inbox", "inkorgen"), parse_municipality)

    async def municipality_name(self) -> str:
        """As `municipality`, read once per page object (the name does not change during a run)."""
        if not getattr(self, "_municipality", ""):
            self._municipality = await self.municipality()
        return self._municipality

    async def list_applications(self, status: str | None = "Ny") -> list[InboxRow]:
        """Every application in the inbox with this status (None: all), over every page."""
        return await self._search(InboxFilter(status=status))

    async def applications_of_case(self, case_number: str, period: str) -> list[InboxRow]:
        """The case's applications for the period, whatever their status (RULES.md §5,
        DUPLICATE_PERIOD): the inbox filtered on case number and period, as a caseworker searches."""
        return await self._search(InboxFilter(status=None, period=period, case_number=case_number))

    async def _search(self, wanted: InboxFilter) -> list[InboxRow]:
        if wanted.status is not None and wanted.status not in STATUSES:
            raise ValueError(f"unknown e-service status: {wanted.status!r}")
        if self.read_strategy == "fetch":
            shown = await self._fetch_filtered(wanted)
        else:
            shown = await self._render_filtered(wanted)
        rows: list[InboxRow] = []
        seen_pages: set[str] = set()
        while True:
            inbox = await self.parsed(shown, parse_inbox)
            if inbox.counter in seen_pages:
                _page_changed("inbox paging")
            seen_pages.add(inbox.counter)
            rows.extend(inbox.rows)
            if inbox.next_href is None:
                return rows
            shown = await self.read(urljoin(shown.url, inbox.next_href), "inkorgen")

    async def _fetch_filtered(self, wanted: InboxFilter) -> Fetched:
        """The filter as the form sends it (its status values learnt from the inbox once)."""
        label = wanted.status or "Alla"
        if label not in self._status_values:
            self._status_values = (await self.parsed(await self.fetch(self.url("/inbox"), "inkorgen"),
                                                     parse_inbox)).status_values
        if label not in self._status_values:
            _page_changed("inbox filter")
        query = {"status": self._status_values[label], "period": wanted.period}
        if wanted.case_number:
            query["arende"] = wanted.case_number
        return await self.fetch(self.url(f"/inbox?{urlencode(query)}"), "inkorgen")

    async def _render_filtered(self, wanted: InboxFilter) -> Fetched:
        """The filter chosen and pressed in the tab, as a caseworker does."""
        page = await self.open("/inbox", "inkorgen")
        try:
            await page.get_by_label("Status", exact=True).select_option(label=wanted.status or "Alla")
            await page.get_by_label("Period", exact=True).fill(wanted.period)
            if wanted.case_number:
                await page.get_by_label("Ärendenummer", exact=True).fill(wanted.case_number)
            async with page.expect_navigation() as navigation:
                await page.get_by_role("button", name="Filtrera").click()
            await self._check(await navigation.value, "inkorgen")
            return Fetched(url=page.url, html=await page.content())
        except PlaywrightTimeout as exc:
            _page_changed("inbox filter", exc)
        finally:
            await self.release(page)

    async def read_application(self, application_id: str) -> ApplicationForm:
        """The application as declared: household, incomes, costs, balance, message, attachment links."""
        return await self.parsed(await self.read(self._detail_path(application_id), "ansökan"), parse_application)

    async def download_attachment(self, application_id: str, link: AttachmentLink) -> bytes:
        """The file's bytes, fetched with the logged-in context's cookies and streamed: at most
        MAX_BYTES + 1 bytes are read, so a file over the limit costs no more memory than the limit
        and still reads as too large (bistand.core.documents: a finding, not a crash). A read:
        tried again on a transient failure (ReadRetry)."""
        expected = f"{self._detail_path(application_id)}/attachments/"
        if not link.path.startswith(expected):
            raise ValueError("attachment link does not belong to this application")
        async for attempt in self.read_retry.retrying(self.count_retry):
            with attempt:
                async with self.observed():
                    return await self._download_once(link)
        raise AssertionError("unreachable: the retrying loop returns or raises")

    async def _download_once(self, link: AttachmentLink) -> bytes:
        await self.ensure_logged_in()
        for attempt in range(2):
            seen = self.logins
            try:
                status, final_url, body = await self._stream_download(self.url(link.path))
            except httpx.TimeoutException as exc:
                raise TransientError("TIMEOUT", "eservice: attachment download timed out") from exc
            except httpx.HTTPError as exc:
                raise TransientError("SYSTEM_UNAVAILABLE",
                                     f"eservice: attachment download failed ({type(exc).__name__})") from exc
            if status >= 500:
                error = TransientError if status in TRANSIENT_HTTP else ApplicationError
                raise error("SYSTEM_UNAVAILABLE", f"eservice: attachment download answered HTTP {status}")
            if final_url.split("?")[0].endswith("/login"):
                if attempt == 0:
                    await self.ensure_logged_in(seen_logins=seen)
                    continue
                raise ApplicationError("LOGIN_FAILED", "eservice: session not accepted for download")
            if status != 200:
                raise ApplicationError("ATTACHMENT_NOT_FOUND",
                                       f"eservice: attachment {link.index} answered HTTP {status}")
            return body
        raise ApplicationError("LOGIN_FAILED", "eservice: session not accepted for download")

    async def _stream_download(self, url: str) -> tuple[int, str, bytes]:
        """GET with the context's cookies for this URL; the body cut at MAX_BYTES + 1 bytes."""
        cookies = await self.context.cookies(url)
        headers = {"Cookie": "; ".join(f"{c['name']}={c['value']}" for c in cookies)} if cookies else {}
        limit = MAX_DOCUMENT_BYTES + 1
        if self._downloads is None:  # one client per page object: making one costs some 35 ms of CPU
            self._downloads = httpx.AsyncClient(follow_redirects=True, max_redirects=5, timeout=DOWNLOAD_TIMEOUT_S)
        try:
            async with self._downloads.stream("GET", url, headers=headers) as response:
                chunks, size = [], 0
                if response.status_code == 200:
                    async for chunk in response.aiter_bytes():
                        chunks.append(chunk[: limit - size])
                        size += len(chunks[-1])
                        if size >= limit:
                            break
                return response.status_code, str(response.url), b"".join(chunks)
        finally:
            self._downloads.cookies.clear()  # the browser context holds the session, never this client

    async def status(self, application_id: str) -> str:
        """The application's current status label (one of STATUSES)."""
        return await self.parsed(await self.read(self._detail_path(application_id), "ansökan"), parse_status)

    async def messages(self, application_id: str) -> list[SentMessage]:
        """The messages on the application, oldest first."""
        return await self.parsed(await self.read(self._detail_path(application_id), "ansökan"), parse_messages)

    async def _status_on(self, page: Page) -> str:
        return await self.parsed(Fetched(url=page.url, html=await page.content()), parse_status, page=page)

    async def _messages_on(self, page: Page) -> list[SentMessage]:
        return await self.parsed(Fetched(url=page.url, html=await page.content()), parse_messages, page=page)

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
