"""The case-management desktop client alone, under Xvfb, driven by pyautogui like a person.

Login, menus by Alt-letter, search by case number and by personnummer, the Beslutsunderlag
dialog with its tab order and a pasted report, the status bar's confirmation, and the saved
basis in /api/export with client=desktop.
"""

from __future__ import annotations

import httpx
import pyperclip
import pytest

from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER
from tests.desktop_harness import RunningClient, gui, wait_until, x_display  # noqa: F401 - fixture
from tests.simulator_process import Simulators, free_base_port

CASE = "EB-2026-0005"
APPLICATION = "ANS-2026-000005"
REPORT = "Beslutsunderlag för prövning\n\nNormen: 11 850 kr. Hyra godtagen.\nÅäö – så här.\n" * 40


@pytest.fixture(scope="module")
def sims(tmp_path_factory, example_world_path):
    started = Simulators(world=example_world_path, state_dir=tmp_path_factory.mktemp("desktop-client"),
                         base_port=free_base_port()).start(reset=True)
    yield started
    started.stop()


@pytest.fixture
def client(sims, x_display, tmp_path):  # noqa: F811 - fixture
    running = RunningClient(sims.urls["casemgmt"], tmp_path / "state.json")
    yield running
    running.stop()


def log_in(client: RunningClient, password: str = DEMO_PASSWORD) -> None:
    keys = gui()
    client.wait(lambda s: s.active == "login" and s.focus == "anvandarnamn", "login dialog")
    keys.write(DEMO_USER)
    keys.press("tab")
    keys.write(password)
    keys.press("enter")


def export_bases(sims, case_number: str) -> list[dict]:
    with httpx.Client(base_url=sims.urls["casemgmt"], timeout=10) as http:
        http.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD})
        cases = http.get("/api/export").json()["cases"]
    return next(c for c in cases if c["case_number"] == case_number)["decision_bases"]


def test_a_wrong_password_shows_a_swedish_error_in_the_login_dialog(client):
    log_in(client, password="fel")  # noqa: S106 - a wrong password on purpose
    screen = client.wait(lambda s: bool(s.dialog_error), "login error")
    assert screen.active == "login"
    assert screen.dialog_error == "Fel användarnamn eller lösenord."


def test_search_by_personnummer_through_the_arende_menu_opens_the_case(client, sims):
    keys = gui()
    log_in(client)
    client.wait(lambda s: s.active == "main" and s.status == f"Inloggad som {DEMO_USER}", "main window")
    keys.hotkey("alt", "a")  # Arkiv is posted; Right moves to Ärende, Enter picks Sök ärende…
    keys.press("right")
    keys.press("enter")
    client.wait(lambda s: s.active == "search" and s.focus == "arendenummer", "search dialog")
    keys.press("tab")
    client.wait(lambda s: s.focus == "personnummer", "personnummer field")
    pnr = next(m for m in sims_world_members(sims, CASE))["personnummer"]
    keys.write(pnr)
    keys.press("enter")
    screen = client.wait(lambda s: s.case is not None and s.active == "main", "case window")
    assert screen.case.case_number == CASE
    assert screen.status == f"Ärende {CASE} öppnat"
    assert CASE in screen.title


def sims_world_members(sims, case_number: str):
    import json

    world = json.loads(sims.world.read_text(encoding="utf-8"))
    return iter(next(h for h in world["households"] if h["case_number"] == case_number)["members"])


def test_a_basis_typed_and_pasted_in_the_dialog_is_saved_as_desktop(client, sims):
    keys = gui()
    log_in(client)
    client.wait(lambda s: s.active == "main", "main window")
    keys.hotkey("ctrl", "f")
    client.wait(lambda s: s.focus == "arendenummer", "search dialog")
    keys.write(CASE)
    keys.press("enter")
    client.wait(lambda s: s.case is not None and s.active == "main", "case window")
    keys.hotkey("ctrl", "b")
    client.wait(lambda s: s.active == "basis" and s.focus == "ansokan", "basis dialog")
    keys.write(f"{APPLICATION}\t2026-12\tm\t12500\tCOST_CAPPED,HOUSEHOLD_UNCLEAR\t")
    screen = client.wait(lambda s: s.focus == "underlag", "tab order ends in the text")
    assert screen.basis_form.model_dump() == {
        "ansokan": APPLICATION, "period": "2026-12", "forslag": "Manuell handläggning", "belopp": "12500",
        "noteringar": "COST_CAPPED,HOUSEHOLD_UNCLEAR", "underlag_chars": 0}
    pyperclip.set_clipboard("xclip")
    pyperclip.copy(REPORT)
    wait_until(lambda: pyperclip.paste() == REPORT)  # xclip owns the clipboard only a moment later
    keys.hotkey("ctrl", "v")
    client.wait(lambda s: s.basis_form.underlag_chars == len(REPORT), "pasted report")
    keys.hotkey("ctrl", "s")
    screen = client.wait(lambda s: s.status.startswith("Beslutsunderlag sparat"), "status bar")
    assert screen.active == "main"
    assert [row.application_id for row in screen.case.decision_bases] == [APPLICATION]
    saved = export_bases(sims, CASE)
    assert len(saved) == 1
    assert (saved[0]["client"], saved[0]["proposal"], saved[0]["amount"], saved[0]["findings"],
            saved[0]["report_text"]) == ("desktop", "manual_review", 12500,
                                         ["COST_CAPPED", "HOUSEHOLD_UNCLEAR"], REPORT)


def test_an_amount_with_ore_is_refused_in_the_dialog_and_nothing_is_saved(client, sims):
    keys = gui()
    log_in(client)
    client.wait(lambda s: s.active == "main", "main window")
    keys.hotkey("ctrl", "f")
    client.wait(lambda s: s.focus == "arendenummer", "search dialog")
    keys.write("EB-2026-0006")
    keys.press("enter")
    client.wait(lambda s: s.case is not None and s.active == "main", "case window")
    keys.hotkey("ctrl", "b")
    client.wait(lambda s: s.focus == "ansokan", "basis dialog")
    keys.write("ANS-2026-000006\t2026-12\tb\t12,50\t\tText")
    keys.hotkey("ctrl", "s")
    screen = client.wait(lambda s: bool(s.dialog_error), "error in the dialog")
    assert screen.active == "basis"
    assert "Belopp ska vara ett helt antal kronor" in screen.dialog_error
    assert export_bases(sims, "EB-2026-0006") == []
