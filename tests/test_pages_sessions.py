"""The login state is kept between runs: owner-only, reused without a login, dropped when refused."""

from __future__ import annotations

import json
import stat

import pytest

from bistand.pages.base import Credentials
from bistand.pages.eservice import EServicePage
from tests.simulator_process import ROOT

pytestmark = pytest.mark.browser
VAULT = json.loads((ROOT / "devdata" / "vault.json").read_text(encoding="utf-8"))


def test_a_kept_login_is_reused_by_the_next_run_and_dropped_when_the_site_refuses_it(
    browser_session, simulators, tmp_path
):
    session_file = tmp_path / "state" / "sessions" / "eservice.json"
    credentials = Credentials.model_validate(VAULT["eservice"])
    url = simulators.urls["eservice"]

    async def first_run() -> int:
        context = await browser_session.context("sessions-first")
        page_object = EServicePage(context, url, credentials, session_file=session_file)
        await page_object.municipality()
        await browser_session.reset_context("sessions-first")
        return page_object.logins

    assert browser_session.run(first_run()) == 1
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert "password" not in session_file.read_text(encoding="utf-8")

    async def next_run() -> tuple[int, str]:
        context = await browser_session.context("sessions-next", storage_state=str(session_file))
        page_object = EServicePage(context, url, credentials, session_file=session_file, restored=True)
        name = await page_object.municipality()
        await browser_session.reset_context("sessions-next")
        return page_object.logins, name

    logins, name = browser_session.run(next_run())
    assert logins == 0 and name

    async def refused_run() -> tuple[int, bool]:
        context = await browser_session.context("sessions-refused", storage_state=str(session_file))
        await context.clear_cookies()  # as when the site has forgotten the session
        page_object = EServicePage(context, url, credentials, session_file=session_file, restored=True)
        seen_dropped = []
        original = page_object.drop_session

        def drop() -> None:
            original()
            seen_dropped.append(not session_file.exists())

        page_object.drop_session = drop
        await page_object.municipality()
        await browser_session.reset_context("sessions-refused")
        return page_object.logins, all(seen_dropped) and bool(seen_dropped)

    logins, dropped = browser_session.run(refused_run())
    assert logins == 1 and dropped
    assert session_file.exists(), "the new login is kept again"
