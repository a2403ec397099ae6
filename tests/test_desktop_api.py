"""The case-management JSON API the desktop client talks to, over real HTTP.

Login with the web UI's accounts, search by case number or personnummer, case details, saving a
decision basis (recorded as `client: desktop`), and the web form's bases staying `client: web`.
"""

from __future__ import annotations

import json

import httpx
import pytest

from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER
from tests.simulator_process import Simulators, free_base_port

CASE = "EB-2026-0002"
APPLICATION = "ANS-2026-000002"


@pytest.fixture(scope="module")
def sims(tmp_path_factory, example_world_path):
    started = Simulators(world=example_world_path, state_dir=tmp_path_factory.mktemp("api"),
                         base_port=free_base_port()).start(reset=True)
    yield started
    started.stop()


@pytest.fixture
def client(sims):
    with httpx.Client(base_url=sims.urls["casemgmt"], timeout=10) as http:
        response = http.post("/api/login", json={"username": DEMO_USER, "password": DEMO_PASSWORD})
        assert response.status_code == 200, response.text
        yield http


def household(sims, case_number: str) -> dict:
    world = json.loads(sims.world.read_text(encoding="utf-8"))
    return next(h for h in world["households"] if h["case_number"] == case_number)


def basis(**fields) -> dict:
    return {"application_id": APPLICATION, "period": "2026-12", "proposal": "approve", "amount": "12 345",
            "findings": "COST_CAPPED", "report_text": "Underlag\nrad två"} | fields


def test_a_wrong_password_is_refused_and_the_api_needs_a_login(sims):
    with httpx.Client(base_url=sims.urls["casemgmt"], timeout=10) as http:
        refused = http.post("/api/login", json={"username": DEMO_USER, "password": "fel"})
        assert refused.status_code == 401
        assert refused.json()["error"] == "Fel användarnamn eller lösenord."
        assert http.get(f"/api/arenden/{CASE}").status_code == 401


def test_a_case_is_found_by_case_number_or_personnummer(client, sims):
    pnr = household(sims, CASE)["members"][0]["personnummer"]
    assert client.get("/api/arenden", params={"arendenummer": CASE.lower()}).json() == {"case_number": CASE}
    assert client.get("/api/arenden", params={"personnummer": pnr.replace("-", "")}).json() == {"case_number": CASE}
    missing = client.get("/api/arenden", params={"arendenummer": "EB-1999-0001"})
    assert missing.status_code == 404 and missing.json()["error"] == "Inget ärende hittades."


def test_case_details_hold_household_decisions_journal_and_bases(client, sims):
    details = client.get(f"/api/arenden/{CASE}").json()
    members = household(sims, CASE)["members"]
    assert [m["personnummer"] for m in details["members"]] == [m["personnummer"] for m in members]
    assert {"previous_decisions", "journal", "decision_bases", "applications"} <= details.keys()
    assert APPLICATION in [a["application_id"] for a in details["applications"]]


def test_a_basis_saved_through_the_api_is_recorded_as_desktop_and_exported(client):
    response = client.post(f"/api/arenden/{CASE}/beslutsunderlag", json=basis())
    assert response.status_code == 201, response.text
    basis_id = response.json()["id"]
    assert response.json()["message"] == f"Beslutsunderlag nr {basis_id} sparat."
    export = client.get("/api/export").json()
    case = next(c for c in export["cases"] if c["case_number"] == CASE)
    saved = next(b for b in case["decision_bases"] if b["id"] == basis_id)
    assert (saved["client"], saved["amount"], saved["findings"], saved["report_text"]) == (
        "desktop", 12345, ["COST_CAPPED"], "Underlag\nrad två")
    shown = client.get(f"/api/arenden/{CASE}").json()["decision_bases"]
    assert any(b["id"] == basis_id and b["client"] == "desktop" for b in shown)


def test_the_web_form_still_records_web(sims):
    with httpx.Client(base_url=sims.urls["casemgmt"], timeout=10) as http:
        http.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "next": "/sok"})
        response = http.post("/arende/EB-2026-0004/beslutsunderlag/ny", data={
            "ansokan": "ANS-2026-000004", "period": "2026-12", "forslag": "reject", "belopp": "0",
            "noteringar": "", "underlag": "Webb."})
        assert response.status_code == 303, response.text[:300]
        case = next(c for c in http.get("/api/export").json()["cases"] if c["case_number"] == "EB-2026-0004")
        assert [b["client"] for b in case["decision_bases"]] == ["web"]


@pytest.mark.parametrize("fields, message", [
    ({"amount": "12,50"}, "Belopp ska vara ett helt antal kronor"),
    ({"proposal": "maybe"}, "Välj ett förslag till beslut."),
    ({"application_id": "ANS-2026-999999"}, "finns inte i ärendet"),
    ({"findings": "drop table"}, "Noteringar ska vara koder"),
    ({"report_text": "  "}, "Beslutsunderlaget är tomt."),
])
def test_invalid_fields_are_refused_with_a_swedish_message(client, fields, message):
    response = client.post(f"/api/arenden/{CASE}/beslutsunderlag", json=basis(**fields))
    assert response.status_code == 422
    assert any(message in error for error in response.json()["errors"])


def test_a_body_that_is_not_json_is_refused_not_a_crash(client):
    response = client.post(f"/api/arenden/{CASE}/beslutsunderlag", content=b"<xml/>",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
