"""Watch mode end to end: real simulators, Chromium, Robot Framework, the citizen's own pages.

Citizens file re-applications through the e-service's citizen form while `work --watch` runs in
automated mode; each sees the decision notice on their application within 60 s. The watcher is
killed (SIGKILL, the whole process group: runner, Robot Framework, browser) while it holds an
item and started again: the item is taken over when its lease runs out, and every application
ends with exactly one decision basis, one decision, one payment and one notice. SIGTERM stops the
watcher cleanly (exit 0). No log holds a personnummer, a name or the notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bistand.bench.watch import file_reapplication, quiet_world, standard_applicants, wait_for_message
from bistand.queue.store import open_queue
from tests.bot_harness import bot_env, export, leaks, load_world, log_files, world_people, writes_per_application
from tests.queue_fixtures import wait_for_lease
from tests.simulator_process import ROOT, Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ANSWER_WITHIN_S = 60


def start_watcher(env: dict[str, str], name: str, log: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bistand", "work", "--watch", "2", "--mode", "automated", *options], cwd=ROOT,
        env={**env, "BISTAND_RUNNER_ID": name}, stdout=log.open("w", encoding="utf-8"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )




def wait_for_line(log: Path, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, f"never printed {text!r}"
        time.sleep(0.1)  # poll the watcher's output




def test_citizens_are_answered_within_a_minute_and_a_killed_watcher_decides_each_once(
        tmp_path, example_world_path, browser_session):
    world = load_world(example_world_path)
    applicants = standard_applicants(world)
    assert len(applicants) >= 3
    world_path = tmp_path / "world.json"
    world_path.write_text(json.dumps(quiet_world(world), ensure_ascii=False), encoding="utf-8")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    env = bot_env(sims, tmp_path, "automated", BISTAND_LEASE_SECONDS="4")
    queue_url = f"sqlite:///{tmp_path / 'bot-state' / 'queue.db'}"
    url = sims.urls["eservice"]
    first = start_watcher(env, "watcher-1", tmp_path / "watcher-1.log")
    second = None
    answers: dict[str, tuple[float | None, list[str]]] = {}

    async def citizens() -> None:
        contexts = [await browser_session.browser.new_context() for _ in range(3)]
        try:
            page, one, submitted = await file_reapplication(contexts[0], url, applicants[0])
            answers[one] = await wait_for_message(page, submitted, ANSWER_WITHIN_S)
            filed = [await file_reapplication(context, url, pnr)
                     for context, pnr in zip(contexts[1:], applicants[1:3], strict=True)]
            held = await asyncio.to_thread(wait_for_lease, queue_url, "watcher-1")  # inside an item now
            os.killpg(first.pid, signal.SIGKILL)
            await asyncio.to_thread(first.wait, 30)
            nonlocal second
            second = start_watcher(env, "watcher-2", tmp_path / "watcher-2.log", "--rotate-items", "2")
            for page, application_id, submitted in filed:
                answers[application_id] = await wait_for_message(page, submitted, ANSWER_WITHIN_S)
            answers["held"] = (None, [held])
        finally:
            for context in contexts:
                await context.close()

    try:
        browser_session.run(citizens(), timeout=600)
        wait_for_line(tmp_path / "watcher-2.log", "Watch run 2:")  # rotated after its two items
        second.send_signal(signal.SIGTERM)
        stopped = second.wait(timeout=180)
        data = export(sims)
        store = open_queue(queue_url)
        items = {item.application_id: item for item in store.items()}
        store.close()
    finally:
        for watcher in (first, second):
            if watcher is not None and watcher.poll() is None:
                os.killpg(watcher.pid, signal.SIGKILL)
        sims.stop()
    held = answers.pop("held")[1][0]
    output = (tmp_path / "watcher-2.log").read_text(encoding="utf-8")
    assert stopped == 0, output[-3000:]
    assert output.strip().splitlines()[-1].startswith("Watch stopped")
    runs = [Path(line.split(": ", 1)[1]) for line in output.splitlines() if line.startswith("Watch run ")]
    assert len(runs) == 2 and runs[0] != runs[1]  # rotated after two items: a new run, its own evidence
    first_run = json.loads((runs[0] / "run-summary.json").read_text(encoding="utf-8"))
    assert first_run["items"] == 2 and (runs[0] / "output.xml").exists()
    assert len(answers) == 3
    for application_id, (latency, texts) in answers.items():
        assert latency is not None and latency < ANSWER_WITHIN_S, (application_id, output[-3000:])
        assert len(texts) == 1 and texts[0].startswith("Beslut om ekonomiskt bistånd"), application_id
        assert "är beviljad" in texts[0] and "förvaltningsrätten" in texts[0], application_id
    assert held in answers and items[held].claims == 2  # taken over after the kill
    assert {i: item.state for i, item in items.items()} == {i: "done" for i in answers}
    assert {i: entry["count"] for i, entry in data["latest_decision_basis"].items()} == {i: 1 for i in answers}
    assert writes_per_application(data, "decisions") == {i: 1 for i in answers}
    assert writes_per_application(data, "payments") == {i: 1 for i in answers}
    numbers, names = world_people(world)
    for path in log_files(tmp_path / "output") + [tmp_path / "watcher-1.log", tmp_path / "watcher-2.log"]:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not leaks(text, numbers, names), path
        assert "förvaltningsrätten" not in text and "Det som saknas" not in text, path


def set_fault(url: str, **body) -> None:
    httpx.post(f"{url}/_sim/faults", json=body, timeout=10).raise_for_status()


def wait_for_item(url: str, application_id: str, condition, timeout: float = 120):
    store = open_queue(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            item = store.get(application_id)
            if item is not None and condition(item):
                return item
            time.sleep(0.1)  # poll the queue
    finally:
        store.close()
    raise AssertionError(f"{application_id} never reached the state the test waits for")


def test_the_watcher_rides_out_a_portal_outage_and_a_postgresql_restart(
        tmp_path, example_world_path, browser_session, private_postgres):
    """On a PostgreSQL cluster of this test's own (`private_postgres`): the restart never touches
    the shared cluster that other tests use at the same time."""
    postgres_database = private_postgres.url
    world = load_world(example_world_path)
    applicants = standard_applicants(world)
    world_path = tmp_path / "world.json"
    world_path.write_text(json.dumps(quiet_world(world), ensure_ascii=False), encoding="utf-8")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port(),
                      faults=True).start(reset=True)
    env = bot_env(sims, tmp_path, "automated", BISTAND_QUEUE_URL=postgres_database, BISTAND_ATTEMPTS="2",
                  BISTAND_RETRY_DELAYS="2,2,2", BISTAND_MAX_CONSECUTIVE_ERRORS="50")
    url = sims.urls["eservice"]
    watcher = start_watcher(env, "watcher-pg", tmp_path / "watcher.log")
    answers: dict[str, tuple[float | None, list[str]]] = {}

    async def citizens() -> None:
        contexts = [await browser_session.browser.new_context() for _ in range(2)]
        try:
            set_fault(sims.urls["fk"], failure_rate=1)  # Försäkringskassan is down
            page, outage, submitted = await file_reapplication(contexts[0], url, applicants[0])
            await asyncio.to_thread(wait_for_item, postgres_database, outage, lambda item: item.failures >= 1)
            httpx.delete(f"{sims.urls['fk']}/_sim/faults", timeout=10).raise_for_status()  # back again
            answers[outage] = await wait_for_message(page, submitted, 120)
            page, restart, submitted = await file_reapplication(contexts[1], url, applicants[1])
            await asyncio.to_thread(wait_for_item, postgres_database, restart,
                                    lambda item: item.state == "in_progress")
            await asyncio.to_thread(private_postgres.restart)  # fast stop and start while the watcher holds the item
            answers[restart] = await wait_for_message(page, submitted, 120)
        finally:
            for context in contexts:
                await context.close()

    try:
        browser_session.run(citizens(), timeout=600)
        watcher.send_signal(signal.SIGTERM)
        stopped = watcher.wait(timeout=180)
        data = export(sims)
        store = open_queue(postgres_database)
        items = {item.application_id: item for item in store.items()}
        store.close()
    finally:
        if watcher.poll() is None:
            os.killpg(watcher.pid, signal.SIGKILL)
        sims.stop()
    output = (tmp_path / "watcher.log").read_text(encoding="utf-8")
    assert stopped == 0, output[-3000:]
    assert len(answers) == 2
    for application_id, (latency, texts) in answers.items():
        assert latency is not None, (application_id, output[-3000:])
        assert len(texts) == 1 and "är beviljad" in texts[0], application_id
    outage, restart = answers
    assert items[outage].failures >= 1 and items[outage].state == "done"  # retried on the queue's schedule
    assert items[restart].state == "done"
    assert {i: entry["count"] for i, entry in data["latest_decision_basis"].items()} == {i: 1 for i in answers}
    assert writes_per_application(data, "decisions") == {i: 1 for i in answers}
    assert writes_per_application(data, "payments") == {i: 1 for i in answers}


def alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


def test_a_watcher_killed_alone_leaves_no_run_behind(tmp_path, example_world_path):
    """Only the watcher gets SIGKILL (not its process group): its Robot Framework run gets SIGTERM
    from the kernel, ends after its item (none here) and writes its summary; nothing is orphaned."""
    from bistand.bench.processes import tree

    world_path = tmp_path / "world.json"
    world_path.write_text(json.dumps(quiet_world(load_world(example_world_path)), ensure_ascii=False),
                          encoding="utf-8")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    log = tmp_path / "watcher.log"
    watcher = start_watcher(bot_env(sims, tmp_path, "automated"), "watcher-alone", log)
    try:
        wait_for_line(log, "Browser:")
        run_dir = Path(next(line for line in log.read_text(encoding="utf-8").splitlines()
                            if line.startswith("Watch run 1:")).split(": ", 1)[1])
        descendants = [pid for pid in tree(watcher.pid) if pid != watcher.pid]
        assert descendants
        os.kill(watcher.pid, signal.SIGKILL)
        watcher.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in descendants):
            assert time.monotonic() < deadline, "the watcher's run outlived it"
            time.sleep(0.1)  # poll the processes
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(watcher.pid, signal.SIGKILL)
        sims.stop()
    assert json.loads((run_dir / "run-summary.json").read_text(encoding="utf-8"))["items"] == 0
    assert "WARN" not in log.read_text(encoding="utf-8")  # an idle run that ends is no warning
