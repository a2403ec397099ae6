"""Traces keep no free text from the pages: a real Playwright trace of a page full of the world's
people (names in the text, the title, a console message, a selector that fails, a personnummer
typed and in the URL), scrubbed as the bot scrubs it, holds none of their names or numbers in any
string. Before issue 16 names stayed in `log` messages, `error.message`, `params.selector`,
console arguments and the title."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from bistand.bot.tracing import scrub_trace
from tests.simulator_process import EXAMPLE_WORLD
from tests.test_traces_no_personal_data import found_in, personal_strings

pytestmark = [pytest.mark.browser]


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *strings_in(item)]]
    return []


def every_string(trace: Path) -> list[str]:
    found = []
    with zipfile.ZipFile(trace) as archive:
        for entry in archive.namelist():
            text = archive.read(entry).decode("utf-8", errors="replace")
            if entry.endswith(".stacks"):
                found += strings_in(json.loads(text))
                continue
            for line in text.splitlines():
                found += strings_in(json.loads(line)) if line.strip().startswith("{") else [line]
    return found


@pytest.mark.parametrize("snapshots", [False, True], ids=["default", "full"])
def test_a_scrubbed_trace_holds_no_name_or_number_of_the_world(tmp_path, snapshots):
    from playwright.sync_api import Error, sync_playwright

    from bistand.browser import choose_browser, launch_args

    world = json.loads(Path(EXAMPLE_WORLD).read_text(encoding="utf-8"))
    numbers, names = personal_strings(world)
    person = world["households"][0]["members"][0]
    full_name = f"{person['first_name']} {person['last_name']}"
    pnr = person["personnummer"]
    html = (f"<title>Ärende – {full_name}</title><h1>{full_name}</h1><p>{pnr}</p>"
            f"<label>Personnummer <input id='pnr'></label>"
            f"<script>console.log('hittade', {json.dumps(full_name)}, {json.dumps(pnr)})</script>")
    trace = tmp_path / "trace.zip"
    _kind, executable = choose_browser(headless=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(headless=True, executable_path=executable, args=launch_args())
        context = browser.new_context()
        context.tracing.start(snapshots=snapshots, screenshots=False, sources=False)
        page = context.new_page()
        page.route("**/*", lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
        page.goto(f"http://sim.invalid/person/{pnr}?namn={person['first_name']}")
        page.get_by_label("Personnummer").fill(pnr)
        page.get_by_role("heading", name=full_name).inner_text()
        with pytest.raises(Error):
            page.get_by_text(f"{full_name} saknas").click(timeout=300)
        context.tracing.stop(path=str(trace))
        browser.close()
    raw = every_string(trace)
    assert found_in("\n".join(raw), numbers, names, set()), "the raw trace holds no personal data: proves nothing"

    scrub_trace(trace)
    strings = every_string(trace)
    assert found_in("\n".join(strings), numbers, names, set()) == []
    kept = "\n".join(strings)
    assert "Frame.fill" in kept or "fill" in kept  # the timeline of actions is still there
    assert "http://sim.invalid/person/" in kept
