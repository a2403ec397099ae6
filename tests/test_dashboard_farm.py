"""The dashboard's farm views over a queue seeded as three runners leave it: *Robotar* (alive,
silent with its item taken over, stopped with exit code 3), *Portalernas hälsa* (fk failing since a
given minute, the others answering), /metrics in Prometheus' format (parsed with prometheus_client's
own parser; a bearer token, 404 when none is configured), and every page (login, the queue, the
runners, an item, the portals, the audit log) checked by axe-core in real Chromium: no WCAG 2.1 AA
violation of serious or critical impact, and every chart with a text alternative and its figures."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bistand.dashboard.app import create_app
from bistand.dashboard.auth import UserBook, hash_password
from bistand.dashboard.server import BackgroundServer
from bistand.monitoring import runners
from bistand.monitoring.alerts import AlertEvaluator
from bistand.monitoring.health import PortalHealth
from bistand.queue.store import ItemOutcome, open_queue
from bistand.settings import AlertSettings

pytestmark = pytest.mark.browser

PASSWORD = "teamledarens lösenord"  # noqa: S105 - a test user's password
TOKEN = "skrapnyckel-for-prometheus"  # noqa: S105 - a test scrape token
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}
PAGES = {"login": "/login", "queue": "/", "runners": "/robotar", "item": "/arenden/ANS-2026-000003",
         "portals": "/portaler", "audit": "/granskning"}


class Outbox:
    def __init__(self) -> None:
        self.sent = []

    def send(self, message) -> None:
        self.sent.append(message)


def seed(store) -> dict:
    """Three runners' traces: runner-a alive with one item, runner-b silent (its item taken over by
    runner-a), runner-c stopped by fk errors in a row (exit 3); fk failing for three minutes."""
    now = time.time()
    for number in range(1, 6):
        store.add(f"ANS-2026-00000{number}", {"application_id": f"ANS-2026-00000{number}"})
    alive = runners.register(store, "runner-a", "work", 60)
    silent = runners.register(store, "runner-b", "watch", 60)
    stopped = runners.register(store, "runner-c", "run", 60)
    done = store.claim("runner-a", 60)
    store.complete(done.lease)
    store.record_outcome(ItemOutcome(application_id=done.application_id, outcome="DONE", runner="runner-a",
                                     seconds=0.9, proposal="approve", decided_by="caseworker"))
    lost = store.claim("runner-b", 0.01)
    runners.beat(store, silent, "runner-b")
    with store.transaction() as execute:
        execute("UPDATE runners SET last_seen_at = ? WHERE runner_key = ?", (now - 300, silent))
    time.sleep(0.05)  # the short lease runs out (a real wait of 50 ms, no condition to wait on)
    taken = store.claim("runner-a", 60)
    assert taken.application_id == lost.application_id
    runners.beat(store, alive, "runner-a")
    store.max_failures = 1
    parked = store.claim("runner-c", 60)
    store.fail(parked.lease, "APPLICATION", "SYSTEM_UNAVAILABLE", "fk: inloggningen svarade HTTP 503")
    runners.run_ended(store, stopped, 3, "5 system errors in a row on fk (limit 5): last SYSTEM_UNAVAILABLE")
    runners.stopped(store, stopped, 3)
    clock = [now - 180]
    health = PortalHealth(clock=lambda: clock[0])
    health.attach(store)
    for minute in range(4):
        for system in ("eservice", "fk", "af", "csn", "skv", "pm", "akassa", "casemgmt"):
            for _ in range(6):
                health.record(system, "ok" if system != "fk" or minute == 0 else "http_error", 0.15)
        clock[0] += 60
    health.close()
    settings = AlertSettings()
    AlertEvaluator(store, settings, Outbox()).evaluate()
    return {"taken": taken.application_id, "parked": parked.application_id}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("farm-dashboard")
    store = open_queue(f"sqlite:///{tmp / 'queue.db'}")
    seeded = seed(store)
    app = create_app(store, UserBook({"teamledare": hash_password(PASSWORD)}), tmp / "output", secure_cookie=False,
                     metrics_token=TOKEN)
    with BackgroundServer(app) as server:
        yield {"url": server.url, "store": store, **seeded}
    store.close()


@pytest.fixture(scope="module")
def browser(sync_chromium):
    return sync_chromium


@pytest.fixture(scope="module")
def signed_in(browser, dashboard):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20000)
    page = context.new_page()
    page.goto(f"{dashboard['url']}/login")
    page.get_by_label("Användarnamn").fill("teamledare")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(f"{dashboard['url']}/")
    yield page
    context.close()


def test_robotar_lists_alive_silent_and_stopped_runners_and_who_took_over(dashboard, signed_in):
    page = signed_in
    page.goto(f"{dashboard['url']}/robotar")
    rows = {row.get_attribute("data-runner"): row for row in page.locator("tr[data-runner]").all()}
    assert {name: row.get_attribute("data-status") for name, row in rows.items()} == {
        "runner-a": "alive", "runner-b": "silent", "runner-c": "stopped"}
    assert "Stoppad (kod 3)" in rows["runner-c"].inner_text()
    assert "kod 3 (fk)" in rows["runner-c"].inner_text()
    taken = rows["runner-b"].locator('li[data-fate="taken_over"]')
    assert taken.inner_text() == f"{dashboard['taken']}: övertaget av runner-a"
    assert rows["runner-a"].locator("td").nth(8).inner_text() == "1"  # in hand
    assert rows["runner-a"].locator("td").nth(9).inner_text() == "1"  # finished today
    incidents = {row.get_attribute("data-incident") for row in page.locator("tr[data-incident]").all()}
    assert {"system_down:fk", "items_parked:"} <= incidents


def test_the_portal_view_shows_fk_failing_since_its_first_bad_minute_with_the_figures(dashboard, signed_in):
    page = signed_in
    page.goto(f"{dashboard['url']}/portaler")
    fk = page.locator('tr[data-system="fk"]')
    assert fk.get_attribute("data-status") == "failing"
    assert fk.locator("td").nth(0).inner_text() == "Fel"
    assert fk.locator("td").nth(1).inner_text() != "–"
    assert page.locator('tr[data-system="csn"]').get_attribute("data-status") == "ok"
    chart = page.locator('svg[data-chart="portaler"]')
    assert "fel nu: fk" in chart.get_attribute("aria-label")
    assert page.locator('svg[data-chart="portaler"] [id^="felandel-fk-75"]').count() == 1  # 18 of 24
    rows = page.locator('[data-figures="portaler"] tbody tr').all()
    figures = [row.locator("td").all_text_contents() for row in rows]
    assert [cell.strip() for cell in figures[1][:4]] == ["fk", "24", "18", "75 %"]


def test_metrics_are_prometheus_text_behind_a_bearer_token(dashboard):
    url = f"{dashboard['url']}/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer fel"}).status_code == 401
    response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    assert samples[("bistand_queue_items", (("state", "pending"),))] == 2
    assert samples[("bistand_queue_items", (("state", "parked"),))] == 1
    assert samples[("bistand_queue_oldest_pending_seconds", ())] > 0
    assert samples[("bistand_items_finished_total", (("outcome", "DONE"),))] == 1
    assert samples[("bistand_application_seconds_count", ())] == 1
    assert samples[("bistand_application_seconds_bucket", (("le", "1.0"),))] == 1
    assert samples[("bistand_application_seconds_bucket", (("le", "0.5"),))] == 0
    assert samples[("bistand_runners", (("status", "alive"),))] == 1
    assert samples[("bistand_runners", (("status", "silent"),))] == 1
    assert samples[("bistand_runners", (("status", "stopped"),))] == 1
    assert samples[("bistand_portal_requests_total", (("outcome", "http_error"), ("system", "fk")))] == 18
    assert samples[("bistand_portal_failing", (("system", "fk"),))] == 1
    assert samples[("bistand_portal_failing", (("system", "csn"),))] == 0
    # 18 of 24 in the window; 18 of 18 when a minute has turned since the seeding (the ok minute left it)
    assert samples[("bistand_portal_error_ratio", (("system", "fk"),))] in (0.75, 1.0)
    assert samples[("bistand_portal_request_seconds_count", (("system", "csn"),))] == 24
    assert samples[("bistand_alerts_open", (("rule", "system_down"),))] == 1


def test_metrics_are_off_without_a_token(tmp_path):
    from starlette.testclient import TestClient

    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}")
    app = create_app(store, UserBook({"teamledare": hash_password(PASSWORD)}), tmp_path, secure_cookie=False)
    with TestClient(app) as client:
        assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    store.close()


def axe_counts(page) -> dict[str, int]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page, options=WCAG_21_AA).response["violations"]
    counts = {"critical": 0, "serious": 0, "moderate": 0, "minor": 0}
    for violation in violations:
        counts[violation["impact"]] += len(violation["nodes"])
    return counts | {"rules": sorted(v["id"] for v in violations)}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_dashboard_page_has_no_serious_or_critical_wcag_21_aa_violation(dashboard, browser, signed_in, name):
    if name == "login":
        context = browser.new_context()
        page = context.new_page()
    else:
        page = signed_in
    try:
        page.goto(f"{dashboard['url']}{PAGES[name]}")
        counts = axe_counts(page)
        print(f"axe {name}: {counts}")  # the closing note's counts per page (pytest -s)
        assert counts["critical"] == 0 and counts["serious"] == 0, counts
        for svg in page.locator("svg[data-chart]").all():
            assert svg.get_attribute("role") == "img" and svg.get_attribute("aria-label")
        if page.locator("svg[data-chart]").count():
            assert page.get_by_text("Visa siffrorna").count() == page.locator("svg[data-chart]").count()
    finally:
        if name == "login":
            context.close()


def test_axe_would_catch_a_page_that_loses_its_language(dashboard, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{dashboard['url']}/login")
    page.evaluate("document.documentElement.removeAttribute('lang')")
    assert "html-has-lang" in axe_counts(page)["rules"]
    context.close()
