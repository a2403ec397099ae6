"""The e-service page object driving the simulator in a real headless Chromium."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import pytest

from bistand.core.errors import ApplicationError
from bistand.core.models import CostType, Role
from bistand.pages.base import Credentials
from bistand.pages.eservice import STATUSES, EServicePage
from simulators.common.accounts import accounts
from tests.page_strategies import changed_page, read_strategy  # noqa: F401 - fixture
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("read_strategy")]

CREDENTIALS = Credentials(username="robot", password=accounts("eservice")["robot"])


def world_of(sims) -> dict:
    return json.loads(sims.world.read_text(encoding="utf-8"))


def declared(world: dict, application_id: str) -> tuple[dict, dict]:
    application = next(a for a in world["applications"] if a["application_id"] == application_id)
    home = next(h for h in world["households"] if h["case_number"] == application["case_number"])
    return application, home


def page_object_for(browser_session, sims, suffix: str = ""):
    """A page object in its own browser context per simulator instance (cookies are per host)."""
    name = f"eservice-{sims.base_port}{suffix}"

    async def build() -> EServicePage:
        return EServicePage(await browser_session.context(name), sims.urls["eservice"], CREDENTIALS)

    return browser_session.run(build()), name


@pytest.fixture
def eservice(browser_session, simulators):
    page_object, name = page_object_for(browser_session, simulators)
    yield page_object
    browser_session.run(browser_session.reset_context(name))


@pytest.fixture
def writable_simulators(tmp_path_factory, example_world_path):
    """A simulator process of the test's own (it writes; once per read strategy), with 7 inbox rows a page."""
    sims = Simulators(
        world=example_world_path, state_dir=tmp_path_factory.mktemp("eservice-writes"), base_port=free_base_port()
    ).start(reset=True, env={"SIM_ESERVICE_PAGE_SIZE": "7"})
    yield sims
    sims.stop()


@pytest.fixture
def writable_eservice(browser_session, writable_simulators):
    page_object, name = page_object_for(browser_session, writable_simulators)
    yield page_object
    browser_session.run(browser_session.reset_context(name))


def http_download(sims, path: str) -> bytes:
    with httpx.Client(base_url=sims.urls["eservice"], timeout=10) as client:
        client.post("/login", data={"username": "robot", "password": CREDENTIALS.password.get_secret_value(),
                                    "next": "/inbox"})
        response = client.get(path)
        response.raise_for_status()
        return response.content


def test_list_applications_returns_all_twenty_new_ones(browser_session, eservice, simulators):
    world = world_of(simulators)
    rows = browser_session.run(eservice.list_applications())
    assert sorted(r.application_id for r in rows) == sorted(a["application_id"] for a in world["applications"])
    assert {r.status for r in rows} == {"Ny"}
    first = next(r for r in rows if r.application_id == "ANS-2026-000001")
    source = world["applications"][0]
    assert first.received == datetime.fromisoformat(source["submitted_at"])
    assert (first.case_number, first.period) == (source["case_number"], source["period"])


def test_a_status_nobody_has_gives_an_empty_list(browser_session, eservice):
    assert browser_session.run(eservice.list_applications("Beslutad")) == []


def test_list_applications_walks_every_page(browser_session, writable_eservice, writable_simulators):
    """This simulator shows 7 rows a page: 20 applications are three pages."""
    everything = browser_session.run(writable_eservice.list_applications(None))
    assert len(everything) == len({r.application_id for r in everything}) == 20
    assert {r.application_id for r in everything} == {
        a["application_id"] for a in world_of(writable_simulators)["applications"]
    }


def test_municipality_is_read_from_the_header(browser_session, eservice, simulators):
    assert browser_session.run(eservice.municipality()) == world_of(simulators)["municipality"]


@pytest.mark.parametrize("application_id", ["ANS-2026-000002", "ANS-2026-000018"])
def test_read_application_matches_the_world(browser_session, eservice, simulators, application_id):
    world = world_of(simulators)
    application, home = declared(world, application_id)
    form = browser_session.run(eservice.read_application(application_id))

    assert form.application_id == application_id
    assert form.case_number == application["case_number"]
    assert form.period == application["period"]
    assert form.kind == application["kind"]
    assert form.submitted_at == datetime.fromisoformat(application["submitted_at"])
    assert form.municipality == world["municipality"]
    assert [(m.personnummer.full, m.first_name, m.last_name, m.role.value) for m in form.members] == [
        (m["personnummer"], m["first_name"], m["last_name"], m["role"]) for m in home["members"]
    ]
    assert [(i.personnummer.full, i.type.value, i.amount) for i in form.declared_incomes] == [
        (i["personnummer"], i["type"], i["amount"]) for i in application["declared_incomes"]
    ]
    assert [(c.type.value, c.amount, c.note) for c in form.declared_costs] == [
        (c["type"], c["amount"], c.get("note", "")) for c in application["declared_costs"]
    ]
    assert form.bank_balance == application.get("bank_balance", 0)
    assert form.message == application.get("message", "")
    assert [(a.index, a.filename, a.cost_type.value) for a in form.attachments] == [
        (n, a["filename"], a["cost_type"]) for n, a in enumerate(application["attachments"], start=1)
    ]


def test_the_script_in_a_message_is_read_as_text_and_never_runs(browser_session, eservice, simulators):
    async def read_and_watch():
        dialogs: list[str] = []
        eservice.context.on("page", lambda page: page.on("dialog", lambda d: dialogs.append(d.message)))
        form = await eservice.read_application("ANS-2026-000018")
        return form, dialogs

    form, dialogs = browser_session.run(read_and_watch())
    assert form.message.startswith('<script>alert("x")</script> =HYPERLINK(')
    assert dialogs == []


def test_member_roles_and_flags_come_from_data_attributes(browser_session, eservice, simulators):
    form = browser_session.run(eservice.read_application("ANS-2026-000002"))
    assert [m.role for m in form.members] == [Role.APPLICANT, Role.CHILD, Role.CHILD]
    assert all(not m.in_school and not m.lunch_at_home for m in form.members)
    assert form.attachments[0].cost_type is CostType.HYRA
    assert form.attachments[0].path == "/inbox/ANS-2026-000002/attachments/1"


def test_download_attachment_gives_the_served_bytes(browser_session, eservice, simulators):
    form = browser_session.run(eservice.read_application("ANS-2026-000010"))
    link = form.attachments[0]
    content = browser_session.run(eservice.download_attachment("ANS-2026-000010", link))
    assert content == http_download(simulators, link.path)
    assert len(content) == link.size_bytes
    assert content[:3] == b"\xff\xd8\xff"


def test_download_logs_in_again_when_the_session_is_gone(browser_session, eservice, simulators):
    form = browser_session.run(eservice.read_application("ANS-2026-000001"))
    browser_session.run(eservice.context.clear_cookies())
    content = browser_session.run(eservice.download_attachment("ANS-2026-000001", form.attachments[0]))
    assert content.startswith(b"%PDF")


def test_read_application_logs_in_again_after_an_expired_session(browser_session, eservice):
    browser_session.run(eservice.list_applications())
    browser_session.run(eservice.context.clear_cookies())
    form = browser_session.run(eservice.read_application("ANS-2026-000003"))
    assert form.application_id == "ANS-2026-000003"


def test_a_changed_page_is_an_application_error_without_personal_data(browser_session, eservice, simulators):
    world = world_of(simulators)
    application, home = declared(world, "ANS-2026-000002")

    async def read_with_broken_page():
        def rename_facts(html: str) -> str:  # the labels a person reads are gone
            return html.replace("<dt>Ärende-id</dt>", "<dt>Id</dt>").replace("<dt>Period</dt>", "<dt>Avser</dt>")

        async with changed_page(eservice, "**/inbox/ANS-2026-000002", rename_facts):
            await eservice.read_application("ANS-2026-000002")

    with pytest.raises(ApplicationError) as caught:
        browser_session.run(read_with_broken_page())
    assert caught.value.code == "PAGE_CHANGED"
    text = str(caught.value)
    for member in home["members"]:
        assert member["personnummer"][:8] not in text
        assert member["last_name"] not in text


def test_a_server_error_that_outlasts_the_reads_tries_is_an_application_error(browser_session, eservice,
                                                                               simulators):
    browser_session.run(eservice.login())
    tries = eservice.read_retry.tries
    httpx.post(f"{simulators.urls['eservice']}/_sim/faults", json={"status": 503, "count": tries}, timeout=5)
    before = eservice.retried_requests
    with pytest.raises(ApplicationError) as caught:
        browser_session.run(eservice.status("ANS-2026-000004"))
    assert caught.value.code == "SYSTEM_UNAVAILABLE"
    assert eservice.retried_requests - before == tries - 1
    assert browser_session.run(eservice.status("ANS-2026-000004")) == "Ny"  # the next read passes


def test_an_unknown_status_label_is_refused_before_touching_the_page(browser_session, eservice):
    with pytest.raises(ValueError):
        browser_session.run(eservice.list_applications("Arkiverad"))


def test_set_status_and_send_message_are_saved(browser_session, writable_eservice, writable_simulators):
    application_id = "ANS-2026-000007"
    assert browser_session.run(writable_eservice.status(application_id)) == "Ny"

    browser_session.run(writable_eservice.set_status(application_id, "Klar för beslut"))
    browser_session.run(writable_eservice.send_message(application_id, "Vi har tagit emot din ansökan.\nMvh"))

    assert browser_session.run(writable_eservice.status(application_id)) == "Klar för beslut"
    messages = browser_session.run(writable_eservice.messages(application_id))
    assert [(m.sender, m.text) for m in messages] == [("handlaggare", "Vi har tagit emot din ansökan.\nMvh")]
    ready = browser_session.run(writable_eservice.list_applications("Klar för beslut"))
    assert [r.application_id for r in ready] == [application_id]
    assert len(browser_session.run(writable_eservice.list_applications("Ny"))) == 19
    assert set(STATUSES) >= {r.status for r in browser_session.run(writable_eservice.list_applications(None))}


def test_the_case_search_lists_the_cases_applications_for_the_month_whatever_their_status(
        browser_session, writable_eservice, writable_simulators):
    """RULES.md §5 DUPLICATE_PERIOD: the inbox filtered on case number and period, any status."""
    from tests.test_queue_runners import file_as_citizen

    second = file_as_citizen(writable_simulators.urls["eservice"], "19700215-5526", "2026-12")  # EB-2026-0001
    browser_session.run(writable_eservice.set_status("ANS-2026-000001", "Beslutad"))
    rows = browser_session.run(writable_eservice.applications_of_case("EB-2026-0001", "2026-12"))
    assert sorted((r.application_id, r.status) for r in rows) == [("ANS-2026-000001", "Beslutad"), (second, "Ny")]
    assert {(r.case_number, r.period) for r in rows} == {("EB-2026-0001", "2026-12")}
    assert browser_session.run(writable_eservice.applications_of_case("EB-2026-0001", "2026-11")) == []
