"""The floor: the bot's reads and writes of every application over plain HTTP (httpx).

One login per system, the page objects' own parsers and reading code (their `fetch` strategy on
an httpx transport instead of the browser context's request API), the same form posts the bot
makes through the GUI. What the bot costs above this is the price of driving the GUIs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import pyotp

from bistand.bot import casework
from bistand.bot.context import page_class
from bistand.core.engine import assess
from bistand.core.errors import ApplicationError, BusinessError
from bistand.core.models import Mode
from bistand.pages.base import PortalPage
from bistand.pages.casemgmt import parse_case_page
from bistand.pages.eservice import parse_inbox
from bistand.report.text import render_text
from bistand.settings import SYSTEMS, Settings
from bistand.settings.vault import credentials

QUEUED, READY = "Under handläggning", "Klar för beslut"


class _Response:
    """What the page objects read from a response, over httpx."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.url = str(response.url)

    async def text(self) -> str:
        return self._response.text

    async def body(self) -> bytes:
        return self._response.content

    async def dispose(self) -> None:
        return None


class _Requests:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(self, url: str, max_redirects: int = 5) -> _Response:
        return _Response(await self.client.get(url))

    async def post(self, url: str, form: dict[str, str] | None = None, max_redirects: int = 5) -> _Response:
        return _Response(await self.client.post(url, data=form))


@dataclass
class _Context:
    """Stands in for a browser context: its request API (the fetch strategy) and its cookies (the
    e-service streams attachments with them)."""

    request: _Requests

    async def cookies(self, url: str) -> list[dict[str, str]]:
        return [{"name": cookie.name, "value": cookie.value} for cookie in self.request.client.cookies.jar]


@dataclass
class FloorRun:
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    outcomes: dict[str, dict] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    """Application id → the error code of an application the floor could not finish (bad data, a
    period without norm table): an outcome like the others, left out of the times."""

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds) if self.seconds else 0.0


class FloorContext:
    """What `casework.read_bundle` needs of a run context: settings and one page object per system."""

    def __init__(self, settings: Settings, clients: dict[str, httpx.AsyncClient]) -> None:
        self.settings = settings
        self.clients = clients
        self._pages: dict[str, PortalPage] = {}

    async def page(self, system: str) -> PortalPage:
        if system not in self._pages:
            self._pages[system] = page_class(system)(
                _Context(_Requests(self.clients[system])), self.settings.urls[system],
                credentials(system, self.settings), read_strategy="fetch", restored=True,
            )
        return self._pages[system]


async def login(client: httpx.AsyncClient, system: str, settings: Settings) -> None:
    """The login form's post (and Skatteverket's code), once per system."""
    secret = credentials(system, settings)
    response = await client.post("/login", data={
        "username": secret.username, "password": secret.password.get_secret_value(), "next": "/"})
    if response.url.path.endswith("/totp"):
        code = pyotp.TOTP(secret.totp_secret.get_secret_value()).now()
        response = await client.post("/totp", data={"code": code})
    if response.url.path.endswith(("/login", "/totp")):
        raise ApplicationError("LOGIN_FAILED", f"{system}: the floor's login was refused")


async def _set_status(client: httpx.AsyncClient, values: dict[str, str], application_id: str, label: str) -> None:
    response = await client.post(f"/inbox/{quote(application_id, safe='')}/status", data={"status": values[label]})
    response.raise_for_status()


async def run_floor(settings: Settings) -> FloorRun:
    """Producer and consumer of every new application, over httpx, one application at a time."""
    clients = {system: httpx.AsyncClient(base_url=settings.urls[system], follow_redirects=True, timeout=30)
               for system in SYSTEMS}
    floor = FloorRun()
    cpu_started = time.process_time()
    try:
        await asyncio.gather(*(login(client, system, settings) for system, client in clients.items()))
        ctx = FloorContext(settings, clients)
        eservice, casemgmt = clients["eservice"], clients["casemgmt"]
        inbox = parse_inbox((await eservice.get("/inbox")).text)
        values = inbox.status_values
        listing = parse_inbox((await eservice.get("/inbox", params={"status": values["Ny"], "period": ""})).text)
        rows = list(listing.rows)
        while listing.next_href:
            listing = parse_inbox((await eservice.get(listing.next_href)).text)
            rows += listing.rows
        for row in rows:
            started = time.perf_counter()
            await _set_status(eservice, values, row.application_id, QUEUED)
            try:
                bundle, overview = await casework.read_bundle(ctx, row.application_id, row.case_number)
                assessment = assess(bundle, Mode.SUPPORT)
            except (BusinessError, ApplicationError) as exc:  # the bot parks or fails it: so does the floor
                floor.failed[row.application_id] = exc.code
                continue
            report = render_text(bundle, assessment)
            response = await casemgmt.post(f"/arende/{quote(row.case_number, safe='')}/beslutsunderlag/ny", data={
                "ansokan": row.application_id, "period": row.period, "forslag": assessment.proposal.value,
                "belopp": str(assessment.amount), "noteringar": ", ".join(assessment.finding_codes),
                "underlag": report,
            })
            if row.application_id not in parse_case_page(response.text, row.case_number).decision_basis_ids:
                raise ApplicationError("WRITE_NOT_CONFIRMED", f"floor: {row.application_id} not written")
            await _set_status(eservice, values, row.application_id, READY)
            floor.seconds.append(time.perf_counter() - started)
            floor.outcomes[row.application_id] = {"proposal": assessment.proposal.value, "amount": assessment.amount,
                                                  "findings": sorted(assessment.finding_codes)}
    finally:
        floor.cpu_seconds = time.process_time() - cpu_started
        await asyncio.gather(*(client.aclose() for client in clients.values()))
    return floor


def floor_settings(urls: dict[str, str], frames_dir: Path, work: Path) -> Settings:
    """The demo world's settings: the simulators' addresses, and the demo's vault (devdata/vault.json)."""
    return Settings(urls=urls, frames_dir=frames_dir, output_dir=work / "floor-output", state_dir=work / "floor-state",
                    demo=True)
