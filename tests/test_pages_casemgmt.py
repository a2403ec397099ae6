"""The case-management page object driving the simulator in a real headless Chromium."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from bistand.core.errors import ApplicationError, BusinessError
from bistand.core.models import Proposal, Role
from bistand.core.personnummer import Personnummer
from bistand.pages.base import Credentials
from bistand.pages.casemgmt import (
    CaseManagementPage,
    DecisionBasisForm,
    DecisionForm,
    PaymentOrderForm,
)
from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER, accounts
from tests.page_strategies import changed_page, read_strategy  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("read_strategy")]

CASE = "EB-2026-0003"
APPLICATION = "ANS-2026-000003"
CREDENTIALS = Credentials(username="robot", password=accounts("casemgmt")["robot"])


def household_of(sims, case_number: str) -> dict:
    world = json.loads(sims.world.read_text(encoding="utf-8"))
    return next(h for h in world["households"] if h["case_number"] == case_number)


def export_of(sims) -> dict:
    with httpx.Client(base_url=sims.urls["casemgmt"], timeout=10) as client:
        client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "next": "/sok"})
        return client.get("/api/export").json()


def page_object_for(browser_session, sims):
    """A page object in its own browser context per simulator instance (cookies are per host)."""
    name = f"casemgmt-{sims.base_port}"

    async def build() -> CaseManagementPage:
        return CaseManagementPage(await browser_session.context(name), sims.urls["casemgmt"], CREDENTIALS)

    return browser_session.run(build()), name


@pytest.fixture
def casemgmt(browser_session, simulators):
    page_object, name = page_object_for(browser_session, simulators)
    yield page_object
    browser_session.run(browser_session.reset_context(name))


@pytest.fixture
def fresh_casemgmt(browser_session, fresh_simulators):
    page_object, name = page_object_for(browser_session, fresh_simulators)
    yield page_object, fresh_simulators
    browser_session.run(browser_session.reset_context(name))


# -- reading ----------------------------------------------------------------------------------


def test_open_case_returns_the_worlds_members_roles_and_previous_decisions(casemgmt, browser_session, simulators):
    household = household_of(simulators, CASE)

    overview = browser_session.run(casemgmt.open_case(CASE))

    assert overview.case.case_number == CASE
    assert [(m.personnummer.full, m.first_name, m.last_name, m.role.value) for m in overview.case.members] == [
        (m["personnummer"], m["first_name"], m["last_name"], m["role"]) for m in household["members"]
    ]
    assert [(d.period, d.decision, d.amount) for d in overview.case.previous_decisions] == [
        (d["period"], d["decision"], d["amount"])
        for d in sorted(household["previous_decisions"], key=lambda d: d["period"], reverse=True)
    ]
    assert overview.case.members[1].role is Role.PARTNER


def test_open_case_of_a_case_the_system_does_not_have_is_a_business_error(casemgmt, browser_session):
    with pytest.raises(BusinessError) as raised:
        browser_session.run(casemgmt.open_case("EB-2099-9999"))
    assert raised.value.code == "CASE_NOT_FOUND"


def test_find_case_by_personnummer_finds_a_childs_household(casemgmt, browser_session, simulators):
    child = next(m for m in household_of(simulators, "EB-2026-0002")["members"] if m["role"] == "child")
    found = browser_session.run(casemgmt.find_case_by_personnummer(Personnummer(child["personnummer"])))
    assert found == "EB-2026-0002"


def test_find_case_by_personnummer_of_a_stranger_gives_none(casemgmt, browser_session):
    stranger = Personnummer("19121212-1212")
    assert browser_session.run(casemgmt.find_case_by_personnummer(stranger)) is None


def test_a_refused_write_raises_write_not_confirmed_with_the_systems_reason(casemgmt, browser_session):
    form = DecisionBasisForm(
        application_id="ANS-2026-000001", period="2026-12", proposal=Proposal.APPROVE, amount=100,
        findings=[], report_text="Fel ärende.",
    )
    with pytest.raises(ApplicationError) as raised:
        browser_session.run(casemgmt.write_decision_basis(CASE, form))
    assert raised.value.code == "WRITE_NOT_CONFIRMED"
    assert "finns inte i ärendet" in raised.value.message


def test_a_changed_case_page_raises_page_changed_without_personal_data(casemgmt, browser_session, simulators):
    household = household_of(simulators, CASE)
    pnr = household["members"][0]["personnummer"]
    changed = (
        f"<html><body><h1>Ärende {CASE}</h1><p>{pnr}</p>"
        "<table><caption>Beslutsunderlag</caption><thead><tr><th>Löpnummer</th></tr></thead></table></body></html>"
    )

    async def check() -> None:
        await casemgmt.login()
        async with changed_page(casemgmt, f"{simulators.urls['casemgmt']}/arende/{CASE}", lambda _html: changed):
            await casemgmt.has_decision_basis(CASE, APPLICATION)

    with pytest.raises(ApplicationError) as raised:
        browser_session.run(check())
    assert raised.value.code == "PAGE_CHANGED"
    assert pnr not in str(raised.value)
    assert pnr[-4:] not in str(raised.value)


# -- writing (on a fresh copy: the session simulators stay as the world says) ------------------


def test_written_decision_basis_is_found_again_and_exported(fresh_casemgmt, browser_session):
    casemgmt, sims = fresh_casemgmt
    report = "BESLUTSUNDERLAG\n" + "Rad med belopp 12 345 kr och <b>markup</b>.\n" * 600
    form = DecisionBasisForm(
        application_id=APPLICATION, period="2026-12", proposal=Proposal.MANUAL_REVIEW, amount=7316,
        findings=["INCOME_MISMATCH", "COST_CAPPED"], report_text=report,
    )

    async def write_and_check() -> tuple[bool, bool, list[str]]:
        before = await casemgmt.has_decision_basis(CASE, APPLICATION)
        await casemgmt.write_decision_basis(CASE, form)
        after = await casemgmt.has_decision_basis(CASE, APPLICATION)
        overview = await casemgmt.open_case(CASE)
        return before, after, overview.decision_basis_ids

    before, after, basis_ids = browser_session.run(write_and_check())

    assert (before, after, basis_ids) == (False, True, [APPLICATION])
    export = export_of(sims)
    assert export["latest_decision_basis"][APPLICATION] == {
        "proposal": "manual_review", "amount": 7316, "findings": ["COST_CAPPED", "INCOME_MISMATCH"], "count": 1,
    }
    stored = next(c for c in export["cases"] if c["case_number"] == CASE)["decision_bases"][0]
    assert stored["report_text"] == report
    assert stored["author"] == "robot"


def test_registered_decision_and_payment_order_are_exported(fresh_casemgmt, browser_session):
    casemgmt, sims = fresh_casemgmt
    applicant = Personnummer(household_of(sims, CASE)["members"][0]["personnummer"])

    async def register() -> list[str]:
        await casemgmt.register_decision(
            CASE, DecisionForm(application_id=APPLICATION, period="2026-12", decision="approve", amount=7316)
        )
        await casemgmt.create_payment_order(
            CASE,
            PaymentOrderForm(
                application_id=APPLICATION, period="2026-12", amount=7316, recipient=applicant,
                pay_date=date(2026, 12, 20),
            ),
        )
        overview = await casemgmt.open_case(CASE)
        registered.extend(overview.case.registered_decisions)
        return [*overview.decision_ids, *overview.payment_ids]

    registered = []
    assert browser_session.run(register()) == [APPLICATION, APPLICATION]
    case = next(c for c in export_of(sims)["cases"] if c["case_number"] == CASE)
    (decision,) = registered  # what DUPLICATE_PERIOD reads: the application, period, decision and date
    assert (decision.application_id, decision.period, decision.decision, decision.amount) == (
        APPLICATION, "2026-12", "approve", 7316)
    assert decision.registered == case["decisions"][0]["time"]
    assert [(d["decision"], d["amount"], d["author"]) for d in case["decisions"]] == [("approve", 7316, "robot")]
    assert [(p["amount"], p["recipient"], p["pay_date"]) for p in case["payments"]] == [
        (7316, applicant.full, "2026-12-20")
    ]


def test_journal_note_added_by_the_robot_is_newest_in_the_journal(fresh_casemgmt, browser_session):
    casemgmt, sims = fresh_casemgmt
    note = "Robot: beslutsunderlag förberett.\nUppgifter hämtade från FK och Skatteverket."

    browser_session.run(casemgmt.add_journal_note(CASE, note))

    journal = next(c for c in export_of(sims)["cases"] if c["case_number"] == CASE)["journal"]
    assert (journal[0]["text"], journal[0]["author"]) == (note, "robot")
