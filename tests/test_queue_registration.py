"""Applications the case-management system does not know yet.

A re-application a citizen files in the e-service today is registered on its case through the
case-management GUI ("Registrera ansökan") and then assessed; an applicant with no case at all
is a BUSINESS failure NO_CASE, and the e-service shows the application as waiting for a
caseworker.
"""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from tests.bot_harness import bot_env, export, load_world, run_bot, subset_world
from tests.simulator_process import Simulators, free_base_port
from tests.test_queue_runners import applicant_of, file_as_citizen

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def eservice_status_label(url: str, application_id: str) -> str:
    """The status the caseworker's e-service page shows for an application."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
        client.post("/login", data={"username": "demo", "password": "demo", "next": "/inbox"}).raise_for_status()
        page = client.get(f"/inbox/{application_id}")
        page.raise_for_status()
        return page.text


def test_a_citizen_filed_reapplication_is_registered_then_assessed_and_no_case_waits_for_a_caseworker(
        tmp_path, example_world_path):
    world = load_world(example_world_path)
    world_path = subset_world(world, ["ANS-2026-000001", "ANS-2026-000003"], tmp_path / "world.json")
    personnummer, case_number = applicant_of(world, "ANS-2026-000002")  # a case with no open application
    _, caseless = applicant_of(world, "ANS-2026-000003")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        filed = file_as_citizen(sims.urls["eservice"], personnummer, "2026-12")
        # The e-service knows a household the case-management system has no case for.
        with sqlite3.connect(tmp_path / "sims" / "casemgmt.sqlite") as db:
            for table in ("applications", "members", "previous_decisions", "journal", "cases"):
                db.execute(f"DELETE FROM {table} WHERE case_number = ?", (caseless,))  # noqa: S608 - fixed names
        assert filed not in {a["application_id"] for c in export(sims)["cases"] for a in c["applications"]}
        env = bot_env(sims, tmp_path, "support")
        result = run_bot(env, "run")
        data = export(sims)
        status_page = eservice_status_label(sims.urls["eservice"], "ANS-2026-000003")
    finally:
        sims.stop()
    assert result.code == 0, result.output[-3000:]
    case = next(c for c in data["cases"] if c["case_number"] == case_number)
    registered = next(a for a in case["applications"] if a["application_id"] == filed)
    assert (registered["period"], registered["kind"]) == ("2026-12", "reapplication")
    assert data["latest_decision_basis"][filed]["count"] == 1
    assert data["latest_decision_basis"]["ANS-2026-000001"]["count"] == 1
    assert "ANS-2026-000003" not in data["latest_decision_basis"]
    summary = json.loads((tmp_path / "output" / "latest" / "run-summary.json").read_text(encoding="utf-8"))
    failure = next(f for f in summary["failures"] if f["application_id"] == "ANS-2026-000003")
    assert (failure["type"], failure["code"]) == ("BUSINESS", "NO_CASE")
    assert "waiting for a caseworker" in failure["message"]
    assert "Väntar på handläggare" in status_page


def test_the_register_form_refuses_a_duplicate_and_bad_values_and_journals_a_registration(fresh_simulators):
    sims = fresh_simulators
    with httpx.Client(base_url=sims.urls["casemgmt"], follow_redirects=True, timeout=30) as client:
        client.post("/login", data={"username": "demo", "password": "demo", "next": "/"}).raise_for_status()
        form = {"ansokan": "ANS-2026-000901", "period": "2026-12", "typ": "reapplication", "inkommen": "2026-11-20"}
        saved = client.post("/arende/EB-2026-0001/ansokan/ny", data=form)
        again = client.post("/arende/EB-2026-0001/ansokan/ny", data=form)
        bad = client.post("/arende/EB-2026-0001/ansokan/ny",
                          data={"ansokan": "X", "period": "2026-13", "typ": "other", "inkommen": "igår"})
        case = next(c for c in client.get("/api/export").json()["cases"] if c["case_number"] == "EB-2026-0001")
    assert saved.status_code == 200 and "Ansökan ANS-2026-000901 registrerad i ärendet." in saved.text
    assert again.status_code == 422 and "finns redan i ärendet" in again.text
    assert bad.status_code == 422 and bad.text.count("ska anges som") == 3 and "Välj typ av ansökan" in bad.text
    assert [a["application_id"] for a in case["applications"]].count("ANS-2026-000901") == 1
    assert any("ANS-2026-000901 registrerad" in note["text"] for note in case["journal"])
