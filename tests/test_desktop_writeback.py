"""The bot's desktop driver against the real client under Xvfb: write once, recover from faults.

Drives bistand.desktop.client.DesktopCaseManagement in this process on the test's display
(the "developer watches" path, BISTAND_HEADLESS=false); the whole bot with its own display is
in tests/test_desktop_bot_e2e.py.
"""

from __future__ import annotations

import time

import httpx
import pytest
from PIL import Image, ImageChops, ImageFilter, ImageGrab, ImageStat

from bistand.core.errors import ApplicationError
from bistand.core.models import Proposal
from bistand.desktop.client import DesktopCaseManagement
from bistand.pages.base import Credentials
from bistand.pages.casemgmt import DecisionBasisForm
from bistand.settings import DesktopSettings
from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER, ROBOT_USER, accounts
from tests.desktop_harness import x_display  # noqa: F401 - fixture
from tests.simulator_process import Simulators, free_base_port

REPORT = "Beslutsunderlag\n\nHushållets norm 11 850 kr.\nÅterbetalning: ingen.\n" * 60


@pytest.fixture(scope="module")
def sims(tmp_path_factory, example_world_path):
    started = Simulators(world=example_world_path, state_dir=tmp_path_factory.mktemp("desktop-driver"),
                         base_port=free_base_port()).start(reset=True)
    yield started
    started.stop()


@pytest.fixture
def driver(sims, x_display, tmp_path, monkeypatch):  # noqa: F811 - fixture
    def make(**faults: str) -> DesktopCaseManagement:
        if faults:
            monkeypatch.setenv("SIM_DESKTOP_FAULTS", faults["names"])
            monkeypatch.setenv("SIM_DESKTOP_FAULTS_DIR", str(tmp_path / "faults"))
        made = DesktopCaseManagement(
            sims.urls["casemgmt"], Credentials(username=ROBOT_USER, password=accounts("casemgmt")[ROBOT_USER]),
            headless=False, timeout=10, failures_dir=tmp_path / "failures",
            desktop=DesktopSettings(display=x_display.name),  # the test's display, as DISPLAY would give it
        ).start()
        created.append(made)
        return made

    created: list[DesktopCaseManagement] = []
    yield make
    for made in created:
        made.close()


def form(number: int, **fields) -> DecisionBasisForm:
    return DecisionBasisForm(**({
        "application_id": f"ANS-2026-{number:06d}", "period": "2026-12", "proposal": Proposal.APPROVE,
        "amount": 11850, "findings": ["COST_CAPPED"], "report_text": REPORT} | fields))


def bases(sims, number: int) -> list[dict]:
    with httpx.Client(base_url=sims.urls["casemgmt"], timeout=10) as http:
        http.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD})
        cases = http.get("/api/export").json()["cases"]
    return next(c for c in cases if c["case_number"] == f"EB-2026-{number:04d}")["decision_bases"]


def sharpness(image: Image.Image) -> float:
    """Mean difference between neighbouring pixels: high for legible text, near 0 when blurred."""
    grey = image.convert("L")
    shifted = ImageChops.offset(grey, 1, 0)
    return ImageStat.Stat(ImageChops.difference(grey, shifted)).mean[0]


def test_the_basis_is_written_once_and_the_second_time_seen_in_the_case_window(driver, sims):
    desktop = driver()
    started = time.perf_counter()
    assert desktop.write_decision_basis("EB-2026-0007", form(7, proposal=Proposal.REJECT, amount=0,
                                                               findings=[])) is True
    seconds = time.perf_counter() - started
    assert desktop.write_decision_basis("EB-2026-0007", form(7)) is False
    saved = bases(sims, 7)
    assert [(b["client"], b["proposal"], b["amount"], b["findings"], b["report_text"], b["author"])
            for b in saved] == [("desktop", "reject", 0, [], REPORT, ROBOT_USER)]
    assert desktop.logins == 1
    assert seconds < 5, seconds


def test_an_unexpected_dialog_is_an_application_error_with_a_blurred_screenshot_and_the_retry_writes(
        driver, sims):
    desktop = driver(names="dialog-on-open")
    with pytest.raises(ApplicationError) as failure:
        desktop.write_decision_basis("EB-2026-0008", form(8))
    assert failure.value.code == "UNEXPECTED_DIALOG"
    shot_path = desktop.capture_failure("ANS-2026-000008")
    shot = Image.open(shot_path)
    sharp = ImageGrab.grab(xdisplay=None)
    assert sharpness(sharp) > 3 * sharpness(shot)  # the live screen has legible text, the kept one not
    assert sharpness(shot) < sharpness(sharp.filter(ImageFilter.GaussianBlur(4)))
    assert bases(sims, 8) == []
    assert desktop.write_decision_basis("EB-2026-0008", form(8)) is True
    assert [b["client"] for b in bases(sims, 8)] == ["desktop"]


def test_a_client_that_hangs_after_saving_fails_fast_and_the_restarted_client_sees_the_basis(driver, sims):
    desktop = driver(names="hang-after-save")
    started = time.perf_counter()
    with pytest.raises(ApplicationError) as failure:
        desktop.write_decision_basis("EB-2026-0009", form(9))
    assert failure.value.code == "CLIENT_NOT_RESPONDING"
    assert time.perf_counter() - started < 10
    assert desktop.write_decision_basis("EB-2026-0009", form(9)) is False  # saved before it froze
    assert desktop.logins == 2
    assert len(bases(sims, 9)) == 1
