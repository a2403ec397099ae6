"""The dashboard in a real Chromium (Debian's headless shell, as the bot launches it) over a queue
the real bot worked: simulators on a four-application world, `produce`, two items parked as a
runner leaves them after a system failure, `work --until-empty` for the rest.

A team lead logs in (a wrong password is refused), sees the counts of `queue status --json`,
retries a parked item and, after the next `work --until-empty`, sees it done, and skips the
other with a reason. No page holds a personnummer or a name of the world.
"""

from __future__ import annotations

import json
import re

import pytest

from bistand.core.personnummer import mask_personnummer_in_text
from bistand.dashboard.app import create_app
from bistand.dashboard.auth import UserBook, hash_password
from bistand.dashboard.server import BackgroundServer
from bistand.queue.store import open_queue
from tests.bot_harness import bot_env, load_world, run_bot, subset_world, world_people
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

APPLICATIONS = ["ANS-2026-000001", "ANS-2026-000004", "ANS-2026-000005", "ANS-2026-000018"]
PASSWORD = "teamledarens lösenord"  # noqa: S105 - a test user\'s password


@pytest.fixture(scope="module")
def run(tmp_path_factory, example_world_path):
    """The bot's queue after a real run, the dashboard over it and the world's personal data."""
    tmp = tmp_path_factory.mktemp("dashboard")
    world = load_world(example_world_path)
    world_path = subset_world(world, APPLICATIONS, tmp / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp / "sims", base_port=free_base_port()).start(reset=True)
    env = bot_env(sims, tmp, "automated")
    url = f"sqlite:///{tmp / 'bot-state' / 'queue.db'}"
    store = None
    try:
        produced = run_bot(env, "produce")
        assert produced.code == 0, produced.output[-2000:]
        runner = open_queue(url, max_failures=1)  # two items meet a system failure and are parked
        parked = []
        for _ in range(2):
            item = runner.claim("runner-x", 30)
            assert runner.fail(item.lease, "APPLICATION", "SYSTEM_UNAVAILABLE", "fk: login: HTTP 503") == "parked"
            parked.append(item.application_id)
        runner.close()
        worked = run_bot(env, "work", "--until-empty")
        assert worked.code == 0, worked.output[-3000:]
        store = open_queue(url)
        app = create_app(store, UserBook({"teamledare": hash_password(PASSWORD)}), tmp / "output",
                         secure_cookie=False)  # plain HTTP on loopback
        with BackgroundServer(app) as server:
            yield {"url": server.url, "env": env, "parked": parked, "people": world_people(world), "store": store}
    finally:
        if store is not None:
            store.close()
        sims.stop()


@pytest.fixture(scope="module")
def browser(sync_chromium):
    return sync_chromium


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20000)
    yield context.new_page()
    context.close()


def log_in(page, url: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/")
    page.get_by_label("Användarnamn").fill("teamledare")
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()


def queue_status(env: dict[str, str]) -> dict:
    result = run_bot(env, "queue", "status", "--json", timeout=60)
    assert result.code == 0, result.output
    return json.loads(result.stdout)


def shown_counts(page) -> dict[str, int]:
    return {state: int(page.locator(f'.count[data-state="{state}"] .n').inner_text())
            for state in ("pending", "in_progress", "done", "failed_business", "parked", "skipped")}


def figures(page, name: str) -> dict[str, int]:
    rows = page.locator(f'[data-figures="{name}"] tr').all()
    cells = [row.locator("td").all_text_contents() for row in rows]  # inside a closed <details>
    return {c[0]: int(c[1]) for c in cells if len(c) == 2}


def assert_no_personal_data(html: str, people: tuple[set[str], set[str]]) -> None:
    assert mask_personnummer_in_text(html) == html, "an unmasked personnummer on the page"
    numbers, names = people
    leaked = [n for n in numbers if re.search(rf"(?<!\d){re.escape(n)}(?!\d)", html)]
    leaked += [n for n in names if n in html]
    assert not leaked, leaked


def test_a_wrong_password_is_refused_and_the_right_one_lets_the_team_lead_in(run, page):
    log_in(page, run["url"], password="fel lösenord")  # noqa: S106
    assert page.get_by_role("alert").inner_text() == "Fel användarnamn eller lösenord."
    assert page.url.endswith("/login")
    log_in(page, run["url"])
    page.get_by_role("heading", name="Arbetskön").wait_for()
    assert "Inloggad som teamledare" in page.locator("header").inner_text()


def test_the_counts_and_the_charts_numbers_are_those_of_queue_status(run, page):
    log_in(page, run["url"])
    status = queue_status(run["env"])
    counts = status["counts"]
    assert counts["done"] == 2 and counts["parked"] == 2
    assert shown_counts(page) == counts
    assert sum(figures(page, "forslag").values()) == counts["done"]
    assert sum(figures(page, "beslut").values()) == counts["done"] + counts["failed_business"]
    assert figures(page, "beslut")["Okänt"] == 0  # the bot recorded every item it finished
    assert page.locator("svg[data-chart]").count() == 5
    parked_rows = page.locator("table.items tbody tr")
    assert sorted(parked_rows.evaluate_all("rows => rows.map(r => r.dataset.application)")) == sorted(run["parked"])
    assert {p["application_id"] for p in status["parked"]} == set(run["parked"])
    assert_no_personal_data(page.content(), run["people"])


def test_a_retried_parked_item_is_processed_by_the_next_run_and_shown_done(run, page):
    retried = run["parked"][0]
    log_in(page, run["url"])
    row = page.locator(f'table.items tr[data-application="{retried}"]')
    row.get_by_role("button", name="Försök igen").click()
    assert f"{retried} är tillbaka i kön" in page.get_by_role("status").inner_text()
    assert shown_counts(page)["pending"] == 1
    worked = run_bot(run["env"], "work", "--until-empty")
    assert worked.code == 0, worked.output[-3000:]
    page.reload()
    done = page.locator(f'table.recent tr[data-application="{retried}"]').first
    assert done.get_attribute("data-outcome") == "DONE" and "Klar" in done.inner_text()
    assert shown_counts(page) == queue_status(run["env"])["counts"]
    assert page.locator(f'table.items tr[data-application="{retried}"]').count() == 0
    done.get_by_role("link", name="log.html").click()  # the run's Robot Framework log, through the dashboard
    page.wait_for_url("**/korningar/**/log.html")
    page.wait_for_function("document.title.startsWith('bistand consumer')")
    assert_no_personal_data(page.content(), run["people"])


def test_a_parked_item_is_skipped_only_with_a_reason_and_the_action_says_who(run, page):
    skipped = run["parked"][1]
    log_in(page, run["url"])
    row = page.locator(f'table.items tr[data-application="{skipped}"]')
    row.get_by_role("button", name="Hoppa över").click()  # no reason: the browser asks for one
    assert run["store"].get(skipped).state == "parked"
    row.get_by_label(f"Skäl att hoppa över {skipped}").fill("Handläggs manuellt av enheten")
    row.get_by_role("button", name="Hoppa över").click()
    assert f"{skipped} hoppas över" in page.get_by_role("status").inner_text()
    assert run["store"].get(skipped).state == "skipped"
    actions = page.locator("table.actions-log tbody tr").first.locator("td").all_inner_texts()
    assert actions[1:] == ["teamledare", "Hoppa över", skipped, "Handläggs manuellt av enheten"]
    assert shown_counts(page) == queue_status(run["env"])["counts"]
    assert_no_personal_data(page.content(), run["people"])
