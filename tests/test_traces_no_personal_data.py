"""No personal data in any file the bot writes outside output/reports/ and output/records/ (issue 7 §4).

The bot runs against simulators started with `--faults` while one portal fails, so every item
is retried and leaves blurred screenshots and Playwright traces under output/runs/<run>/failures/. Then
every trace is unzipped and every file outside output/reports/ (and the decision records, which hold
what the reports hold: docs/records.md) is read, looking for the world's
personnummer (every spelling), first and last names (whole words) and the vault's passwords.

What this proves: none of those strings is stored in text form in those files, including inside
the trace zips (after `bistand.bot.tracing.scrub_trace`). PNG screenshots are images: the test
checks that they are the blurred variant (no sharp edge anywhere, so no legible text), not that
no person could ever be recognised in them.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import zipfile
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageChops

from bistand.bot.tracing import scrub_trace
from tests.bot_harness import bot_env, load_world, run_bot, subset_world
from tests.simulator_process import EXAMPLE_WORLD, ROOT, Simulators, free_base_port

IDS = ["ANS-2026-000002", "ANS-2026-000003"]
SHARPEST_BLURRED_EDGE = 40
"""Largest brightness step between neighbouring pixels in a blurred screenshot (of 255).
Blurred failure pages measure about 6; crisp pages with text 220-255."""


# --- what must not appear -------------------------------------------------------------------------

def personal_strings(world: dict) -> tuple[set[str], set[str]]:
    """(every spelling of every personnummer, every first and last name) in the world."""
    people = [m for h in world["households"] for m in h["members"]]
    people += world["registers"].get("skv", {}).get("population", [])
    numbers, names = set(), set()
    for person in people:
        digits = person["personnummer"].replace("-", "").replace("+", "")
        numbers |= {digits, digits[2:], f"{digits[:8]}-{digits[8:]}", f"{digits[2:8]}-{digits[8:]}",
                    f"{digits[2:8]}+{digits[8:]}"}
        names |= set(f"{person['first_name']} {person['last_name']}".split())
    return numbers, names


def vault_passwords() -> set[str]:
    vault = json.loads((ROOT / "devdata" / "vault.json").read_text(encoding="utf-8"))
    return {value for entry in vault.values() for key, value in entry.items() if key != "username"}


def found_in(text: str, numbers: set[str], names: set[str], secrets: set[str]) -> list[str]:
    hits = [n for n in numbers if re.search(rf"(?<![\d]){re.escape(n)}(?![\d])", text)]
    hits += [n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text)]
    hits += [s for s in secrets if s in text]
    return sorted(hits)


def robot_template_lines() -> set[str]:
    """The lines of Robot Framework's own log template and scripts (their licences name their authors)."""
    import robot.htmldata

    folder = Path(robot.htmldata.__file__).parent
    return {line.strip() for path in folder.rglob("*") if path.is_file() and path.suffix in {".html", ".js", ".css"}
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()}


def log_strings(text: str) -> str:
    """The strings a log.html keeps zlib-compressed and base64-encoded, decoded."""
    decoded = []
    for token in re.findall(r'"(eN[A-Za-z0-9+/=]+)"', text):
        with contextlib.suppress(ValueError, zlib.error):
            decoded.append(zlib.decompress(base64.b64decode(token)).decode("utf-8", errors="replace"))
    return "\n".join(decoded)


def texts_of(path: Path, template: set[str]) -> list[tuple[str, str]]:
    """(where, text) for a file, or for each entry of a zip. A log.html without the lines it copies
    verbatim from Robot Framework's template: what remains is the run's data."""
    data = path.read_bytes()
    if path.name == "log.html":
        lines = data.decode("utf-8", errors="replace").splitlines()
        text = "\n".join(line for line in lines if line.strip() not in template)
        return [(str(path), text + "\n" + log_strings(text))]
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [(f"{path}!{entry}", archive.read(entry).decode("utf-8", errors="replace"))
                    for entry in archive.namelist()]
    return [(str(path), data.decode("utf-8", errors="replace"))]


def sharpest_edge(png: Path) -> int:
    image = Image.open(png).convert("L")
    width, height = image.size
    right = image.transform(image.size, Image.AFFINE, (1, 0, 1, 0, 1, 0))
    below = image.transform(image.size, Image.AFFINE, (1, 0, 0, 0, 1, 1))
    inner = (0, 0, width - 1, height - 1)
    return max(ImageChops.difference(image, right).crop(inner).getextrema()[1],
               ImageChops.difference(image, below).crop(inner).getextrema()[1])


# --- the bot run ------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["retries", "full"])
def faulted_run(request, tmp_path_factory):
    """A run where Försäkringskassan's payment pages always fail: every try of every item errs.

    `retries` is the default tracing; `full` also records DOM snapshots (scrubbed before kept).
    """
    work = tmp_path_factory.mktemp(f"faulted-{request.param}")
    world_path = subset_world(load_world(EXAMPLE_WORLD), IDS, work / "world.json")
    sims = Simulators(world=world_path, state_dir=work / "sims", base_port=free_base_port(), faults=True)
    sims.start(reset=True)
    try:
        httpx.post(f"{sims.urls['fk']}/_sim/faults", json={"path": "/utbetalningar", "failure_rate": 1},
                   timeout=10).raise_for_status()
        env = bot_env(sims, work, "support", BISTAND_ATTEMPTS="3", BISTAND_TRACE=request.param)
        result = run_bot(env, "run")
    finally:
        sims.stop()
    return {"result": result, "output": work / "output", "world": load_world(world_path)}


@pytest.mark.e2e
@pytest.mark.browser
def test_no_file_outside_the_reports_holds_a_personnummer_a_name_or_a_password(faulted_run):
    output = faulted_run["output"]
    assert faulted_run["result"].code == 1, faulted_run["result"].output[-2000:]
    traces = sorted(output.glob("runs/*/failures/*/trace-*.zip"))
    assert traces, "no trace was saved: the test proves nothing"
    assert {p.parent.name for p in traces} >= {f"{i}-try{n}" for i in IDS for n in (2, 3)}
    numbers, names, secrets = *personal_strings(faulted_run["world"]), vault_passwords()
    files = [p for p in output.rglob("*") if p.is_file() and p.suffix != ".png"
             and output / "reports" not in p.parents and output / "records" not in p.parents]
    assert any(p.name == "log.html" for p in files) and any(p.name == "run-summary.json" for p in files)
    template = robot_template_lines()
    leaks = {where: hits for path in files for where, text in texts_of(path, template)
             if (hits := found_in(text, numbers, names, secrets))}
    assert leaks == {}


@pytest.mark.e2e
@pytest.mark.browser
def test_every_trace_still_holds_the_timeline_of_actions(faulted_run):
    fk_trace = next(faulted_run["output"].glob("runs/*/failures/*-try3/trace-fk.zip"))
    with zipfile.ZipFile(fk_trace) as archive:
        names = archive.namelist()
        events = [json.loads(line) for line in archive.read("trace.trace").decode().splitlines()]
    assert "trace.trace" in names and not any(n.startswith("resources/") for n in names)
    # The timeline of actions is kept (with the default fetch strategy pages are read through the
    # request API, so the actions are the tab's: newPage, setContent, screenshot; with render, goto).
    actions = [e for e in events if e.get("type") == "before" and e.get("method")]
    assert actions and all("startTime" in e or "wallTime" in e for e in actions), actions[:3]
    assert not any(e.get("type") == "frame-snapshot" for e in events)


@pytest.mark.e2e
@pytest.mark.browser
def test_every_failure_screenshot_is_blurred(faulted_run):
    shots = sorted(faulted_run["output"].glob("runs/*/failures/**/*.png"))
    assert shots, "no screenshot was saved: the test proves nothing"
    assert {p: sharpest_edge(p) for p in shots if sharpest_edge(p) > SHARPEST_BLURRED_EDGE} == {}


def test_the_sharpness_measure_tells_a_crisp_page_from_a_blurred_one():
    crisp = ROOT / "docs" / "screenshots" / "fk.png"
    assert sharpest_edge(crisp) > 4 * SHARPEST_BLURRED_EDGE


# --- scrub_trace on a hand-made trace ------------------------------------------------------------------

def test_scrubbing_masks_personnummer_and_drops_typed_values_snapshots_and_bodies(tmp_path):
    events = [
        {"type": "before", "callId": "c1", "method": "fill", "params": {"selector": "#pnr", "value": "19850101-1234"}},
        {"type": "before", "callId": "c2", "method": "fill", "params": {"selector": "#pw", "value": "fk-robot-2026"}},
        {"type": "before", "callId": "c3", "method": "goto",
         "params": {"url": "http://127.0.0.1/utbetalningar?pnr=8501011234&q=850101+1234"}},
        {"type": "after", "callId": "c4", "result": {"value": "Anna Svensson"}},
        {"type": "frame-snapshot", "snapshot": {"html": ["BODY", {}, "Anna Svensson 19850101-1234"]}},
        {"type": "log", "callId": "c3", "message": "navigated to \"http://x/?p=198501011234\""},
    ]
    network = {"type": "resource-snapshot", "snapshot": {"request": {"url": "http://x/s", "postData": {
        "text": "username=robot&password=fk-robot-2026"}}, "response": {"content": {"_sha1": "abc.html"}}}}
    trace = tmp_path / "trace-fk.zip"
    with zipfile.ZipFile(trace, "w") as archive:
        archive.writestr("trace.trace", "\n".join(json.dumps(e) for e in events))
        archive.writestr("trace.network", json.dumps(network))
        archive.writestr("trace.stacks", json.dumps({"files": ["/x/fk.py"], "stacks": []}))
        archive.writestr("resources/abc.html", "<td>Anna Svensson</td><td>19850101-1234</td>")
    scrub_trace(trace)
    with zipfile.ZipFile(trace) as archive:
        assert sorted(archive.namelist()) == ["trace.network", "trace.stacks", "trace.trace"]
        text = " ".join(archive.read(n).decode() for n in archive.namelist())
        kept = [json.loads(line) for line in archive.read("trace.trace").decode().splitlines()]
    for secret in ("1234", "Anna", "Svensson", "fk-robot-2026"):
        assert secret not in text
    assert [e["type"] for e in kept] == ["before", "before", "before", "after", "log"]
    assert kept[2]["params"]["url"] == "http://127.0.0.1/utbetalningar?pnr=[borttaget]&q=[borttaget]"
    # no free text from a page: selectors (they name what a person sees) go too (issue 16)
    assert kept[0]["params"] == {"selector": "[borttaget]", "value": "[borttaget]"}


def test_a_trace_that_cannot_be_read_is_not_kept_unscrubbed(tmp_path):
    trace = tmp_path / "trace-fk.zip"
    with zipfile.ZipFile(trace, "w") as archive:
        archive.writestr("trace.trace", "{not json 19850101-1234")
    with pytest.raises(ValueError):
        scrub_trace(trace)
    assert not list(tmp_path.glob("*.scrubbing"))
