"""The robot farm seen and heard, end to end: real simulators (with their fault switch), Chromium,
Robot Framework, runners on the project's own PostgreSQL, a local SMTP server (aiosmtpd) and a
local webhook receiver.

- a portal turned off with the fault switch while two (and three) runners work: exactly one alert
  by e-mail and one by webhook, and when it is back exactly one resolved message each; no
  personal data in them; the seconds from the portal going down to the alert are printed;
- items parked (a period without norm table) while two runners work: one alert, not one per item
  or per runner;
- a runner killed with SIGKILL while it holds an item shows as silent after two lease periods, and
  then its item as taken over by the runner that took it.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiosmtpd.controller import Controller

from bistand.monitoring.runners import list_runners
from bistand.queue.store import open_queue
from tests.bot_harness import bot_env, leaks, load_world, run_bot, subset_world, wait_until, world_people
from tests.queue_fixtures import wait_for_lease
from tests.simulator_process import ROOT, Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

IDS = [f"ANS-2026-{n:06d}" for n in (1, 2, 3, 4, 5, 6, 9, 12, 16, 18)]
OTHER_RULES_OFF = {f"BISTAND_ALERT_RULE_{rule}_ENABLED": "false" for rule in (
    "SYSTEM_DOWN", "ITEMS_PARKED", "PRODUCER_FAILED", "NO_RUNNER", "WATCHER_SILENT", "OLDEST_PENDING", "WATCH_LATENCY")}


class MailServer:
    """aiosmtpd on a free loopback port; keeps every message and when it arrived."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, Message]] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_base_port(1))

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((time.time(), email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for _at, message in self.messages]


class WebhookReceiver:
    """A JSON receiver on a free loopback port, as an operator's chat or ticket system would be."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((time.time(), json.loads(body), self.headers.get("Authorization", "")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/larm"

    def kinds(self) -> list[tuple[str, str, str]]:
        return [(body["status"], body["rule"], body["subject"]) for _at, body, _auth in self.received]


@pytest.fixture
def channels():
    mail, hook = MailServer(), WebhookReceiver()
    mail.controller.start()
    yield mail, hook
    mail.controller.stop()
    hook.server.shutdown()


def alert_env(mail: MailServer, hook: WebhookReceiver, *rules: str) -> dict[str, str]:
    env = {**OTHER_RULES_OFF, "BISTAND_ALERT_SMTP_HOST": "127.0.0.1",
           "BISTAND_ALERT_SMTP_PORT": str(mail.controller.port),
           "BISTAND_ALERT_SMTP_TO": "drift@kommun.example", "BISTAND_ALERT_WEBHOOK_URL": hook.url,
           "BISTAND_ALERT_WEBHOOK_TOKEN": "larmnyckel", "BISTAND_ALERT_EVERY_SECONDS": "1",
           "BISTAND_DASHBOARD_URL": "https://bistand.kommun.example"}
    for rule in rules:
        env.pop(f"BISTAND_ALERT_RULE_{rule}_ENABLED")
    return env


def start_runner(env: dict[str, str], name: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bistand", "work", *args], cwd=ROOT,
                            env={**env, "BISTAND_RUNNER_ID": name}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def stop_runners(runners: list[subprocess.Popen]) -> list[tuple[int, str]]:
    for runner in runners:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGTERM)
    return [(runner.wait(timeout=180), runner.communicate()[0]) for runner in runners]


def assert_no_personal_data(texts: list[str], world: dict) -> None:
    numbers, names = world_people(world)
    found = [leak for text in texts for leak in leaks(text, numbers, names)]
    assert not found, found


@pytest.mark.parametrize("runner_count", [2, 3])
def test_a_portal_down_gives_one_alert_and_one_resolved_message_whatever_the_number_of_runners(
        tmp_path, example_world_path, postgres_database, channels, runner_count):
    mail, hook = channels
    world = load_world(example_world_path)
    world_path = subset_world(world, IDS[:6], tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port(),
                      faults=True).start(reset=True)
    env = bot_env(sims, tmp_path, "support", BISTAND_QUEUE_URL=postgres_database, BISTAND_LEASE_SECONDS="6",
                  BISTAND_QUEUE_POLL_SECONDS="1", BISTAND_RETRY_DELAYS="2,2,2,2", BISTAND_MAX_FAILURES="50",
                  BISTAND_MAX_CONSECUTIVE_ERRORS="500", BISTAND_ATTEMPTS="2",
                  BISTAND_ALERT_RULE_SYSTEM_DOWN_WINDOW_MINUTES="1", **alert_env(mail, hook, "SYSTEM_DOWN"))
    runners: list[subprocess.Popen] = []
    try:
        assert run_bot(env, "produce").code == 0
        outage_seconds = 45
        httpx.post(f"{sims.urls['fk']}/_sim/faults", json={"outage_seconds": outage_seconds},
                   timeout=10).raise_for_status()
        down_at = time.time()
        runners = [start_runner(env, f"runner-{n}") for n in range(1, runner_count + 1)]
        wait_until(lambda: mail.messages, 240, "the alert")
        alerted_at = mail.messages[0][0]
        store = open_queue(postgres_database)
        try:
            wait_until(lambda: store.counts()["done"] == 6, 600, "every item done", every=1)
        finally:
            store.close()
        wait_until(lambda: len(mail.messages) >= 2, 240, "the resolved message")
        resolved_at = mail.messages[1][0]
        settle = time.monotonic() + 8  # a few more evaluations by every runner: nothing more may come
        while time.monotonic() < settle:
            time.sleep(0.5)  # deliberately let the evaluators run on (proving a negative)
        ended = stop_runners(runners)
    finally:
        for runner in runners:
            if runner.poll() is None:
                os.killpg(runner.pid, signal.SIGKILL)
        sims.stop()
    print(f"\n{runner_count} runners: fk down at 0 s, alert after {alerted_at - down_at:.1f} s, back after "
          f"{outage_seconds} s, resolved after {resolved_at - down_at:.1f} s; e-mails {len(mail.messages)}, "
          f"webhook calls {len(hook.received)}")
    # exit 1: this run met system failures the queue retried (every item is done, checked above)
    assert {code for code, _output in ended} <= {0, 1}, ended[0][1][-3000:]
    assert mail.subjects() == ["[bistand] LARM: Ett system svarar inte: fk",
                               "[bistand] ÅTGÄRDAT: Ett system svarar inte: fk"]
    assert hook.kinds() == [("firing", "system_down", "fk"), ("resolved", "system_down", "fk")]
    assert all(auth == "Bearer larmnyckel" for _at, _body, auth in hook.received)
    assert resolved_at - down_at >= outage_seconds
    firing = hook.received[0][1]
    assert firing["dashboard"] == "https://bistand.kommun.example/portaler"
    assert firing["incident_id"] == hook.received[1][1]["incident_id"]
    assert_no_personal_data([message.as_string() for _at, message in mail.messages]
                            + [json.dumps(body, ensure_ascii=False) for _at, body, _auth in hook.received], world)


def test_items_parked_while_two_runners_work_alert_once(tmp_path, example_world_path, postgres_database, channels):
    from tests.test_queue_runners import applicant_of, file_as_citizen

    mail, hook = channels
    world = load_world(example_world_path)
    world_path = subset_world(world, IDS[:4], tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    env = bot_env(sims, tmp_path, "support", BISTAND_QUEUE_URL=postgres_database, BISTAND_LEASE_SECONDS="6",
                  **alert_env(mail, hook, "ITEMS_PARKED"))
    try:
        for application_id in IDS[:3]:  # three citizens file for a period with no norm table: parked at once
            personnummer, _case = applicant_of(world, application_id)
            file_as_citizen(sims.urls["eservice"], personnummer, "2027-01")
        assert run_bot(env, "produce").code == 0
        runners = [start_runner(env, f"runner-{n}", "--until-empty") for n in (1, 2)]
        ended = [(runner.wait(timeout=600), runner.communicate()[0]) for runner in runners]
        again = run_bot(env, "work", "--until-empty")  # one more runner evaluates: the incident is still open
    finally:
        sims.stop()
    assert sorted(code for code, _output in ended) in ([0, 6], [6, 6]), ended[0][1][-3000:]
    assert again.code == 0
    assert mail.subjects() == ["[bistand] LARM: Ärenden behöver åtgärd"]
    assert hook.kinds() == [("firing", "items_parked", "")]
    detail = hook.received[0][1]["detail"]  # sent when the first were parked; more parked since: no new alert
    assert 1 <= detail["parked"] <= 3 and detail["codes"] == {"NORM_TABLE_MISSING": detail["parked"]}
    assert_no_personal_data([message.as_string() for _at, message in mail.messages], world)


def test_a_killed_runner_shows_as_silent_and_its_item_as_taken_over(tmp_path, example_world_path, postgres_database):
    world_path = subset_world(load_world(example_world_path), IDS[:3], tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    env = bot_env(sims, tmp_path, "support", BISTAND_QUEUE_URL=postgres_database, BISTAND_LEASE_SECONDS="4",
                  BISTAND_ALERTS="false")
    store = open_queue(postgres_database)
    survivor = None
    try:
        assert run_bot(env, "produce").code == 0
        doomed = start_runner(env, "runner-doomed", "--until-empty")
        held = wait_for_lease(postgres_database, "runner-doomed")
        wait_until(lambda: any(r.runner_id == "runner-doomed" and held in r.held for r in list_runners(store)),
                   30, "a heartbeat naming the item")
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
        killed_at = time.monotonic()

        def doomed_view():
            return next(r for r in list_runners(store) if r.runner_id == "runner-doomed")

        assert doomed_view().status == "alive"  # heard within two lease periods
        silent = wait_until(lambda: doomed_view() if doomed_view().status == "silent" else None, 60, "silent")
        assert time.monotonic() - killed_at >= 2 * 4 - 4 / 3 - 0.5  # not before two lease periods without a beat
        assert [(i.application_id, i.fate) for i in silent.items] == [(held, "held")]
        survivor = start_runner(env, "runner-survivor", "--until-empty")
        taken = wait_until(lambda: doomed_view().taken_over, 120, "taken over", every=0.05)
        assert [(i.application_id, i.holder) for i in taken] == [(held, "runner-survivor")]
        output, _ = survivor.communicate(timeout=600)
        status = json.loads(run_bot(env, "queue", "status", "--json").stdout)
    finally:
        store.close()
        if survivor is not None and survivor.poll() is None:
            os.killpg(survivor.pid, signal.SIGKILL)
        sims.stop()
    assert survivor.returncode == 0, output[-3000:]
    shown = {r["runner"]: r for r in status["runners"]}
    assert shown["runner-doomed"]["status"] == "silent"
    assert [(i["application_id"], i["fate"]) for i in shown["runner-doomed"]["items"]] == [(held, "done")]
    assert shown["runner-survivor"]["status"] == "stopped" and shown["runner-survivor"]["exit_code"] == 0
    assert shown["runner-survivor"]["finished_today"] == 3
