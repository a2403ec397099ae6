"""Page objects of the payment portals against the running simulators, through a real browser."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import socket
import tempfile
import threading
from pathlib import Path

import httpx
import pytest
import uvicorn

from bistand.core.errors import ApplicationError
from bistand.core.models import IncomeType, Payment
from bistand.core.personnummer import Personnummer, luhn_check_digit
from bistand.pages.akassa import AkassaPage
from bistand.pages.base import Credentials
from bistand.pages.csn import CsnPage, academic_year
from bistand.pages.fk import FkPage, PaymentPortalPage
from bistand.pages.pm import PmPage
from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER, ROBOT_USER, accounts
from simulators.common.web import SystemContext
from tests.page_strategies import changed_page, read_strategy  # noqa: F401 - fixture
from tests.simulator_process import EXAMPLE_WORLD

pytestmark = pytest.mark.usefixtures("read_strategy")

WORLD = json.loads(EXAMPLE_WORLD.read_text(encoding="utf-8"))
PAGE_OBJECTS: dict[str, type[PaymentPortalPage]] = {"fk": FkPage, "csn": CsnPage, "pm": PmPage, "akassa": AkassaPage}
PERIOD = "2026-12"


def credentials(system: str) -> Credentials:
    return Credentials(username=ROBOT_USER, password=accounts(system)[ROBOT_USER])


def portal(browser_session, system: str, base_url: str, context_key: str | None = None,
           login_as: str | None = None) -> PaymentPortalPage:
    """A page object on its own browser context (cookies are per host, not per port)."""

    async def make() -> PaymentPortalPage:
        context = await browser_session.context(context_key or system)
        return PAGE_OBJECTS[system](context, base_url, credentials(login_as or system))

    return browser_session.run(make())


def everyone(world: dict) -> list[str]:
    people = {member["personnummer"] for household in world["households"] for member in household["members"]}
    for register in PAGE_OBJECTS:
        people |= {row["personnummer"] for row in world["registers"][register]}
    return sorted(people)


def expected(world: dict, register: str, pnr: str, period: str) -> list[Payment]:
    return sorted(
        (Payment(personnummer=Personnummer(row["personnummer"]), type=IncomeType(row["type"]), period=row["period"],
                 amount=row["amount"], paid_on=row.get("paid_on"))
         for row in world["registers"][register] if row["personnummer"] == pnr and row["period"] == period),
        key=lambda payment: (payment.type, payment.amount),
    )


def ordered(payments: list[Payment]) -> list[Payment]:
    return sorted(payments, key=lambda payment: (payment.type, payment.amount))


def nobody(world: dict) -> Personnummer:
    """A valid personnummer that no one in the world has."""
    known = set(everyone(world))
    for serial in range(100, 999):
        head = f"19800101{serial:03d}"
        pnr = f"{head[:8]}-{head[8:]}{luhn_check_digit(head[2:])}"
        if pnr not in known:
            return Personnummer(pnr)
    raise AssertionError("no free personnummer")


@pytest.mark.parametrize("system", list(PAGE_OBJECTS))
def test_december_payments_of_every_person_equal_the_world_register(simulators, browser_session, system):
    page_object = portal(browser_session, system, simulators.urls[system])
    people = everyone(WORLD)

    async def read_all() -> list[list[Payment]]:
        return await asyncio.gather(*(page_object.payments(Personnummer(pnr), PERIOD) for pnr in people))

    found = browser_session.run(read_all())
    for pnr, payments in zip(people, found, strict=True):
        assert ordered(payments) == expected(WORLD, system, pnr, PERIOD), f"{system} {pnr[:8]}-XXXX"
    assert sum(map(len, found)) == sum(1 for row in WORLD["registers"][system] if row["period"] == PERIOD)


@pytest.mark.parametrize("system", list(PAGE_OBJECTS))
def test_an_unknown_person_has_no_payments(simulators, browser_session, system):
    page_object = portal(browser_session, system, simulators.urls[system])
    stranger = nobody(WORLD)
    assert browser_session.run(page_object.payments(stranger, PERIOD)) == []
    assert browser_session.run(page_object.search(stranger)) == []


def test_fk_reads_every_page_of_a_long_history(simulators, browser_session):
    pnr = Personnummer("19990128-2880")
    page_object = portal(browser_session, "fk", simulators.urls["fk"])
    history = browser_session.run(page_object.search(pnr))
    with httpx.Client(base_url=simulators.urls["fk"], timeout=10) as client:
        client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "next": "/"})
        shown = re.search(r"\((\d+) utbetalningar\)", client.get(f"/utbetalningar?personnummer={pnr.full}").text)
    assert shown and len(history) == int(shown.group(1)) > 10
    oldest = history[-1].period
    assert browser_session.run(page_object.payments(pnr, oldest)) == [p for p in history if p.period == oldest]


def test_csn_reads_an_earlier_academic_year_behind_visa_aldre(simulators, browser_session):
    pnr = Personnummer("19890528-8158")
    page_object = portal(browser_session, "csn", simulators.urls["csn"])
    history = browser_session.run(page_object.search(pnr))
    earlier = [p for p in history if academic_year(p.period) != academic_year(PERIOD)]
    assert earlier, "the history should reach the previous läsår"
    period = earlier[0].period
    assert browser_session.run(page_object.payments(pnr, period)) == [p for p in history if p.period == period]


# --- Pensionsmyndigheten with pension data (the example world has none) ----------------------


def pension_world() -> dict:
    world = copy.deepcopy(WORLD)
    applicant = world["households"][2]["members"]
    world["registers"]["pm"] = [
        {"personnummer": applicant[0]["personnummer"], "type": "pension", "period": PERIOD, "amount": 6860,
         "paid_on": "2026-12-18"},
        {"personnummer": applicant[0]["personnummer"], "type": "bostadstillagg", "period": PERIOD, "amount": 2100,
         "paid_on": "2026-12-18"},
        {"personnummer": applicant[1]["personnummer"], "type": "pension", "period": PERIOD, "amount": 4120},
    ]
    return world


@pytest.fixture(scope="module")
def pension_portal():
    """Pensionsmyndigheten's app alone, in this process, seeded with a world that has pensions."""
    from simulators.pm.app import create_app

    world = pension_world()
    ctx = SystemContext(name="pm", world=world, state_dir=Path(tempfile.mkdtemp(prefix="sim-pm-")), reset=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = threading.Event()
    while not ready.wait(0.05):
        if server.started:
            ready.set()
        assert thread.is_alive(), "the PM app did not start"
    yield world, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_pm_reads_paid_amounts_for_december_and_an_earlier_year(pension_portal, browser_session):
    world, url = pension_portal
    page_object = portal(browser_session, "pm", url, context_key="pm-pensions")
    people = [row["personnummer"] for row in world["registers"]["pm"]]
    for pnr in dict.fromkeys(people):
        assert ordered(browser_session.run(page_object.payments(Personnummer(pnr), PERIOD))) == expected(
            world, "pm", pnr, PERIOD)
    pnr = Personnummer(people[0])
    history = browser_session.run(page_object.search(pnr))
    last_year = [p for p in history if p.period == "2025-12"]
    assert last_year and {p.type for p in last_year} == {IncomeType.PENSION, IncomeType.BOSTADSTILLAGG}
    assert ordered(browser_session.run(page_object.payments(pnr, "2025-12"))) == ordered(last_year)


# --- a changed page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "host", "pnr"),
    [("fk", "csn", "19890528-8158"), ("csn", "fk", "19990128-2880"), ("pm", "fk", "19990128-2880"),
     ("akassa", "fk", "19990128-2880")],
)
def test_another_sites_result_page_is_a_changed_page_without_personal_data(
    simulators, browser_session, system, host, pnr
):
    page_object = portal(browser_session, system, simulators.urls[host], context_key=f"changed-{system}-on-{host}",
                         login_as=host)
    with pytest.raises(ApplicationError) as raised:
        browser_session.run(page_object.payments(Personnummer(pnr), PERIOD))
    assert raised.value.code == "PAGE_CHANGED"
    assert str(raised.value).startswith(f"ApplicationError: PAGE_CHANGED: {system}:")
    assert pnr[:8] not in str(raised.value)
    assert page_object.failure_screenshots, "a blurred screenshot of the changed page is kept"
