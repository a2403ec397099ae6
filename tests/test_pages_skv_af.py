"""Skatteverket and Arbetsförmedlingen page objects in a real headless Chromium against the simulators."""

from __future__ import annotations

import asyncio
import json

import pytest

from bistand.core.errors import ApplicationError
from bistand.core.models import AfStatus, EmployerDeclaration, PopulationRecord
from bistand.core.personnummer import Personnummer, luhn_check_digit
from bistand.pages.af import ArbetsformedlingenPage
from bistand.pages.base import Credentials
from bistand.pages.skv import Folkbokforing, SkatteverketPage
from simulators.common.accounts import SKV_TOTP_SECRET, accounts
from simulators.skv.app import synthetic_history
from tests.page_strategies import changed_page, read_strategy  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("read_strategy")]

SKV_CREDENTIALS = Credentials(username="robot", password=accounts("skv")["robot"], totp_secret=SKV_TOTP_SECRET)
AF_CREDENTIALS = Credentials(username="robot", password=accounts("af")["robot"])
PERIOD = "2026-12"


def world_of(sims) -> dict:
    return json.loads(sims.world.read_text(encoding="utf-8"))


def everyone_in(world: dict) -> list[str]:
    """Every personnummer the example world mentions: household members and register entries."""
    numbers = [m["personnummer"] for h in world["households"] for m in h["members"]]
    numbers += [p["personnummer"] for p in world["registers"]["skv"]["population"]]
    numbers += [s["personnummer"] for s in world["registers"]["af"]]
    return sorted(set(numbers))


def unknown_personnummer(world: dict) -> Personnummer:
    known = json.dumps(world)
    for serial in range(100, 999):
        nine = f"500101{serial:03d}"
        number = f"1950{nine[2:6]}-{serial:03d}{luhn_check_digit(nine)}"
        if number not in known:
            return Personnummer(number)
    raise AssertionError("no free personnummer")


def expected_folkbokforing(world: dict, pnr: str) -> Folkbokforing:
    population = world["registers"]["skv"]["population"]
    person = next((p for p in population if p["personnummer"] == pnr), None)
    if person is None:
        return Folkbokforing(person=None)
    address = person["address"]
    residents = sorted(
        (p for p in population
         if (p["address"]["street"], p["address"]["postal_code"]) == (address["street"], address["postal_code"])),
        key=lambda p: p["personnummer"],
    )
    return Folkbokforing(
        person=PopulationRecord.model_validate(person),
        registered_at_address=[PopulationRecord.model_validate(p) for p in residents],
    )


def expected_declarations(declarations: list[dict], pnr: str, period: str) -> list[EmployerDeclaration]:
    return [
        EmployerDeclaration.model_validate(d)
        for d in declarations if d["personnummer"] == pnr and d["period"] == period
    ]


def expected_af(world: dict, pnr: str) -> AfStatus | None:
    status = next((s for s in world["registers"]["af"] if s["personnummer"] == pnr), None)
    return None if status is None else AfStatus.model_validate(status)


@pytest.fixture
def skv(browser_session, simulators):
    name = f"skv-{simulators.base_port}"

    async def build() -> SkatteverketPage:
        return SkatteverketPage(await browser_session.context(name), simulators.urls["skv"], SKV_CREDENTIALS)

    yield browser_session.run(build())
    browser_session.run(browser_session.reset_context(name))


@pytest.fixture
def af(browser_session, simulators):
    name = f"af-{simulators.base_port}"

    async def build() -> ArbetsformedlingenPage:
        return ArbetsformedlingenPage(await browser_session.context(name), simulators.urls["af"], AF_CREDENTIALS)

    yield browser_session.run(build())
    browser_session.run(browser_session.reset_context(name))


def test_folkbokforing_of_everyone_in_the_world_matches_the_register(skv, browser_session, simulators):
    world = world_of(simulators)
    numbers = everyone_in(world)

    async def read_all():
        return await asyncio.gather(*(skv.folkbokforing(Personnummer(n)) for n in numbers))

    readings = browser_session.run(read_all())

    assert readings == [expected_folkbokforing(world, n) for n in numbers]
    assert any(len(r.registered_at_address) > 1 for r in readings)


def test_backgatan_is_shared_by_two_people_with_the_postal_code_as_digits(skv, browser_session):
    reading = browser_session.run(skv.folkbokforing(Personnummer("19881008-5822")))
    assert reading.person is not None
    assert reading.person.address.postal_code == "91613"
    assert {r.personnummer.full for r in reading.registered_at_address} == {"19881008-5822", "19710316-6463"}
    assert {r.last_name for r in reading.registered_at_address} == {"Nilsson", "Lundberg"}


def test_folkbokforing_of_a_person_skatteverket_does_not_know_has_no_person(skv, browser_session, simulators):
    reading = browser_session.run(skv.folkbokforing(unknown_personnummer(world_of(simulators))))
    assert reading == Folkbokforing(person=None, registered_at_address=[])


def test_employer_declarations_of_everyone_for_the_period_match_the_world(skv, browser_session, simulators):
    world = world_of(simulators)
    numbers = everyone_in(world)
    declarations = world["registers"]["skv"]["employer_declarations"]

    async def read_all():
        return await asyncio.gather(*(skv.employer_declarations(Personnummer(n), PERIOD) for n in numbers))

    readings = browser_session.run(read_all())

    assert readings == [expected_declarations(declarations, n, PERIOD) for n in numbers]
    olof = readings[numbers.index("19690803-4025")]
    assert [(d.gross, d.tax) for d in olof] == [(32000, 7100)]


def test_employer_declarations_reads_on_to_the_page_that_holds_an_older_month(skv, browser_session, simulators):
    history = synthetic_history(world_of(simulators))
    oldest = min((d for d in history if d["personnummer"] == "19690803-4025"), key=lambda d: d["period"])

    found = browser_session.run(skv.employer_declarations(Personnummer("19690803-4025"), oldest["period"]))

    assert found == expected_declarations(history, "19690803-4025", oldest["period"])
    assert len(found) == 1


def test_af_status_of_everyone_in_the_world_matches_the_register(af, browser_session, simulators):
    world = world_of(simulators)
    numbers = everyone_in(world)

    async def read_all():
        return await asyncio.gather(*(af.status(Personnummer(n)) for n in numbers))

    readings = browser_session.run(read_all())

    assert readings == [expected_af(world, n) for n in numbers]
    assert readings[numbers.index("19700215-5526")].registered is True
    assert readings[numbers.index("19830604-0331")].registered is False


def test_af_status_of_a_person_not_in_the_register_is_none(af, browser_session):
    assert browser_session.run(af.status(Personnummer("19881008-5822"))) is None


def test_a_page_the_object_does_not_recognise_is_page_changed_without_personal_data(browser_session, simulators):
    """Pointed at Arbetsförmedlingen, the Skatteverket page object finds no page it knows."""
    name = f"skv-wrong-{simulators.base_port}"

    async def read():
        context = await browser_session.context(name)
        wrong = SkatteverketPage(context, simulators.urls["af"], AF_CREDENTIALS)
        try:
            return await wrong.folkbokforing(Personnummer("19881008-5822"))
        finally:
            await browser_session.reset_context(name)

    with pytest.raises(ApplicationError) as raised:
        browser_session.run(read())
    assert raised.value.code == "PAGE_CHANGED"
    assert "5822" not in str(raised.value) and "Nilsson" not in str(raised.value)


def test_skatteverket_page_object_logs_in_again_with_a_new_code_after_logout(skv, browser_session):
    async def read_logout_read():
        first = await skv.folkbokforing(Personnummer("19690803-4025"))
        page = await skv.new_page()
        await page.goto(skv.url("/logout"))
        await page.close()
        second = await skv.folkbokforing(Personnummer("19690803-4025"))
        return first, second

    first, second = browser_session.run(read_logout_read())
    assert first == second
    assert first.person is not None and first.person.last_name == "Jansson"
