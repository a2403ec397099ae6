"""A hostile log.html opened through the dashboard in a real Chromium (the headless shell the bot
uses): served with `Content-Security-Policy: sandbox allow-scripts`, its script runs (log.html
needs its own scripts) but in a unique origin: it cannot read the dashboard's cookie, read a
dashboard page (and with it the CSRF token) or retry an item. Before issue 16 the same script ran
on the dashboard's own origin with the team lead's session."""

from __future__ import annotations

import json

import pytest

from bistand.dashboard.app import create_app
from bistand.dashboard.auth import UserBook, hash_password
from bistand.dashboard.server import BackgroundServer
from bistand.dashboard.sessions import SecurityStore
from bistand.queue.store import open_queue

pytestmark = [pytest.mark.browser]

PASSWORD = "teamledarens lösenord"  # noqa: S105 - a test user's password
RUN = "20261126T200000.000000Z-r1"
PARKED = "ANS-2026-000002"
HOSTILE_LOG = """<!doctype html><html><head><title>bistand consumer</title></head><body><pre id="out">…</pre>
<script>
(async () => {
  const found = {ran: true};
  try { found.cookie = document.cookie; } catch (e) { found.cookie = "blocked: " + e.name; }
  try {
    const page = await fetch("/", {credentials: "include"});
    found.page = (await page.text()).slice(0, 300);
  } catch (e) { found.page = "blocked: " + e.name; }
  try {
    const sent = await fetch("/arenden/PARKED_ID/forsok-igen", {method: "POST", mode: "no-cors",
      credentials: "include", body: new URLSearchParams({csrf: "guessed"})});
    found.post = "sent: " + sent.type;
  } catch (e) { found.post = "blocked: " + e.name; }
  document.getElementById("out").textContent = JSON.stringify(found);
})();
</script></body></html>""".replace("PARKED_ID", PARKED)


@pytest.fixture
def dashboard(tmp_path):
    store = open_queue(f"sqlite:///{tmp_path / 'queue.db'}", max_failures=1)
    store.add(PARKED, {"application_id": PARKED})
    store.fail(store.claim("r1", 30).lease, "APPLICATION", "SYSTEM_UNAVAILABLE", "fk down")
    run = tmp_path / "output" / "runs" / RUN
    run.mkdir(parents=True)
    (run / "log.html").write_text(HOSTILE_LOG, encoding="utf-8")
    app = create_app(store, UserBook({"teamledare": hash_password(PASSWORD)}), tmp_path / "output",
                     secure_cookie=False)  # plain HTTP on loopback
    try:
        with BackgroundServer(app) as server:
            yield server.url, store
    finally:
        store.close()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    from bistand.browser import choose_browser, launch_args

    _kind, executable = choose_browser(headless=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(headless=True, executable_path=executable, args=launch_args())
        context = chromium.new_context()
        context.set_default_timeout(20000)
        yield context.new_page()
        chromium.close()


def test_a_script_in_a_log_html_cannot_read_the_cookie_or_act_for_the_team_lead(dashboard, page):
    url, store = dashboard
    page.goto(f"{url}/login")
    page.get_by_label("Användarnamn").fill("teamledare")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(f"{url}/")
    assert any("session" in cookie["name"] for cookie in page.context.cookies())

    page.goto(f"{url}/korningar/{RUN}/log.html")
    page.wait_for_function("document.getElementById('out').textContent.startsWith('{')")
    found = json.loads(page.locator("#out").inner_text())

    assert found["ran"] is True  # log.html's own scripts still work
    assert found["cookie"].startswith("blocked") or found["cookie"] == ""
    assert found["page"].startswith("blocked"), "the sandboxed log read a dashboard page"
    assert store.get(PARKED).state == "parked", "the sandboxed log retried an item"
    assert "retry" not in [event.event for event in SecurityStore(store).audit_events()]
