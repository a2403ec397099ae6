"""The case-management simulator over real HTTP: login, search, forms, escaping, export, state."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER

CASE = "EB-2026-0003"
APPLICATION = "ANS-2026-000003"


def world_of(sims) -> dict:
    return json.loads(sims.world.read_text(encoding="utf-8"))


def household_of(sims, case_number: str) -> dict:
    return next(h for h in world_of(sims)["households"] if h["case_number"] == case_number)


@contextmanager
def logged_in(sims) -> Iterator[httpx.Client]:
    """An HTTP client logged in with the demo caseworker account."""
    with httpx.Client(base_url=sims.urls["casemgmt"], timeout=10) as client:
        response = client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "next": "/sok"})
        assert response.status_code == 303, response.text[:200]
        yield client


@pytest.fixture
def caseworker(simulators):
    with logged_in(simulators) as client:
        yield client


def export_case(client: httpx.Client, case_number: str) -> dict:
    export = client.get("/api/export").json()
    return next(c for c in export["cases"] if c["case_number"] == case_number)


def save_basis(client: httpx.Client, case_number: str, **fields: str) -> httpx.Response:
    data = {"ansokan": APPLICATION, "period": "2026-12", "forslag": "approve", "belopp": "1000",
            "noteringar": "", "underlag": "Beslutsunderlag."} | fields
    return client.post(f"/arende/{case_number}/beslutsunderlag/ny", data=data)


# -- login ------------------------------------------------------------------------------------


def test_case_page_without_login_redirects_to_the_login_form(simulators):
    response = httpx.get(f"{simulators.urls['casemgmt']}/arende/{CASE}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_export_without_login_answers_401(simulators):
    response = httpx.get(f"{simulators.urls['casemgmt']}/api/export")
    assert response.status_code == 401


def test_login_form_has_the_common_labels_and_button(simulators):
    html = httpx.get(f"{simulators.urls['casemgmt']}/login").text
    assert '<label for="username">Användarnamn</label>' in html
    assert '<label for="password">Lösenord</label>' in html
    assert re.search(r"<button[^>]*>Logga in</button>", html)


# -- search -----------------------------------------------------------------------------------


def test_search_by_case_number_opens_the_case_page(caseworker):
    response = caseworker.get("/sok", params={"arendenummer": CASE})
    assert response.status_code == 303
    assert response.headers["location"] == f"/arende/{CASE}"
    page = caseworker.get(response.headers["location"])
    assert f"Ärende {CASE}" in page.text


def test_search_by_a_partners_personnummer_opens_the_household_case(caseworker, simulators):
    partner = next(m for m in household_of(simulators, CASE)["members"] if m["role"] == "partner")
    digits_only = partner["personnummer"].replace("-", "")
    response = caseworker.get("/sok", params={"personnummer": digits_only})
    assert response.headers["location"] == f"/arende/{CASE}"


def test_search_without_a_hit_says_no_case_was_found(caseworker):
    response = caseworker.get("/sok", params={"arendenummer": "EB-2099-9999"})
    assert response.status_code == 200
    assert "Inget ärende hittades" in response.text


def test_case_page_shows_household_roles_and_previous_decisions_with_codes(caseworker, simulators):
    household = household_of(simulators, CASE)
    html = caseworker.get(f"/arende/{CASE}").text
    for member in household["members"]:
        assert member["personnummer"] in html
        assert f'{member["last_name"]}, {member["first_name"]}' in html
    assert 'data-role="partner">Medsökande<' in html
    latest = household["previous_decisions"][0]
    amount = f"{latest['amount']:,}".replace(",", " ") + " kr"
    row = rf"<td>{latest['period']}</td><td data-decision=\"approve\">Bevilja</td>\s*<td[^>]*>{amount}"
    assert re.search(row, html)


# -- forms (on a fresh copy, so no other test sees the writes) ---------------------------------


def test_note_written_through_the_form_appears_in_the_export(fresh_simulators):
    note = f"Ringt sökande om hyresavin {uuid.uuid4().hex[:8]}."
    with logged_in(fresh_simulators) as client:
        response = client.post(f"/arende/{CASE}/journal", data={"anteckning": note})
        assert response.status_code == 303
        assert "Anteckningen sparad" in client.get(response.headers["location"]).text
        journal = export_case(client, CASE)["journal"]
    assert journal[0]["text"] == note
    assert journal[0]["author"] == DEMO_USER


def test_saving_a_decision_basis_also_writes_a_journal_note_and_allows_a_second_one(fresh_simulators):
    with logged_in(fresh_simulators) as client:
        first = save_basis(client, CASE, forslag="manual_review", belopp="5 750", noteringar="income_undeclared")
        second = save_basis(client, CASE, forslag="reject", belopp="0", noteringar="COST_CAPPED, AF_NOT_REGISTERED")
        assert first.status_code == second.status_code == 303
        export = client.get("/api/export").json()
    case = next(c for c in export["cases"] if c["case_number"] == CASE)
    assert [b["proposal"] for b in case["decision_bases"]] == ["manual_review", "reject"]
    assert case["decision_bases"][0]["amount"] == 5750
    assert case["decision_bases"][0]["findings"] == ["INCOME_UNDECLARED"]
    assert export["latest_decision_basis"][APPLICATION] == {
        "proposal": "reject", "amount": 0, "findings": ["AF_NOT_REGISTERED", "COST_CAPPED"], "count": 2,
    }
    assert any(n["text"] == f"Beslutsunderlag för {APPLICATION} sparat av {DEMO_USER}" for n in case["journal"])


def test_invalid_decision_basis_is_shown_again_with_swedish_errors(caseworker):
    response = save_basis(caseworker, CASE, ansokan="ANS-2026-000001", belopp="12,50", forslag="maybe")
    assert response.status_code == 422
    assert "Ansökan ANS-2026-000001 finns inte i ärendet." in response.text
    assert "Belopp ska vara ett helt antal kronor" in response.text
    assert "Välj ett förslag till beslut." in response.text
    assert APPLICATION not in caseworker.get("/api/export").json()["latest_decision_basis"]


def test_pasted_script_and_formula_message_show_as_text_on_the_case_page(fresh_simulators):
    application = next(a for a in world_of(fresh_simulators)["applications"] if "<script>" in a.get("message", ""))
    case_number = application["case_number"]
    with logged_in(fresh_simulators) as client:
        report = f"Meddelande från sökande:\n{application['message']}\n<img src=x onerror=alert(2)>"
        saved = save_basis(client, case_number, ansokan=application["application_id"], underlag=report)
        assert saved.status_code == 303
        html = client.get(f"/arende/{case_number}").text
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "=HYPERLINK(" in html
    assert re.search(r"<pre>Meddelande från sökande:\n&lt;script&gt;", html)


def test_a_report_of_20000_characters_is_stored_whole(fresh_simulators):
    line = "Norm 12 345 kr; hyra 8 000 kr; åäö ÅÄÖ – beslutsunderlag rad.\n"
    report = (line * (20_000 // len(line) + 1))[:20_000]
    with logged_in(fresh_simulators) as client:
        assert save_basis(client, CASE, underlag=report).status_code == 303
        stored = export_case(client, CASE)["decision_bases"][-1]["report_text"]
    assert len(stored) == 20_000
    assert stored == report


def test_decision_and_payment_order_forms_register_and_export(fresh_simulators):
    applicant = next(m for m in household_of(fresh_simulators, CASE)["members"] if m["role"] == "applicant")
    with logged_in(fresh_simulators) as client:
        decision = client.post(f"/arende/{CASE}/beslut/ny", data={
            "ansokan": APPLICATION, "period": "2026-12", "beslut": "approve", "belopp": "7 316"})
        payment = client.post(f"/arende/{CASE}/utbetalning/ny", data={
            "ansokan": APPLICATION, "period": "2026-12", "belopp": "7316",
            "mottagare": applicant["personnummer"], "utbetalningsdag": "2026-12-20"})
        assert decision.status_code == payment.status_code == 303
        case = export_case(client, CASE)
    assert [(d["application_id"], d["decision"], d["amount"]) for d in case["decisions"]] == [
        (APPLICATION, "approve", 7316)]
    assert [(p["amount"], p["recipient"], p["pay_date"]) for p in case["payments"]] == [
        (7316, applicant["personnummer"], "2026-12-20")]


def test_payment_order_to_someone_outside_the_household_is_refused(caseworker):
    response = caseworker.post(f"/arende/{CASE}/utbetalning/ny", data={
        "ansokan": APPLICATION, "period": "2026-12", "belopp": "100",
        "mottagare": "19700215-5526", "utbetalningsdag": "2026-12-20"})
    assert response.status_code == 422
    assert "Mottagaren ingår inte i ärendets hushåll." in response.text


# -- state ------------------------------------------------------------------------------------


def test_restart_keeps_a_note_and_reset_clears_it(fresh_simulators):
    note = f"Anteckning som ska överleva omstart {uuid.uuid4().hex[:8]}."
    with logged_in(fresh_simulators) as client:
        client.post(f"/arende/{CASE}/journal", data={"anteckning": note})
    fresh_simulators.stop()
    fresh_simulators.start()
    with logged_in(fresh_simulators) as client:
        assert note in [n["text"] for n in export_case(client, CASE)["journal"]]
    fresh_simulators.stop()
    fresh_simulators.start(reset=True)
    with logged_in(fresh_simulators) as client:
        assert note not in [n["text"] for n in export_case(client, CASE)["journal"]]
