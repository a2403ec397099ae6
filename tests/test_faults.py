"""`/_sim/faults`: latency, failure rates, outage windows, only with `--faults`, from loopback only.

The first part drives one simulated system in-process; the last tests run the real bot against
simulators started with `--faults` and check that its retries ride the faults out.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER
from simulators.common.web import SystemContext
from simulators.fk.app import create_app
from tests.bot_harness import bot_env, export, load_world, run_bot, subset_world
from tests.simulator_process import EXAMPLE_WORLD, ROOT, Simulators, free_base_port

LOCAL = ("127.0.0.1", 50000)


def fk(faults: bool = True, client: tuple[str, int] = LOCAL) -> TestClient:
    ctx = SystemContext(name="fk", world=load_world(EXAMPLE_WORLD),
                        state_dir=Path(tempfile.mkdtemp(prefix="sim-fk-")), reset=True, faults=faults)
    return TestClient(create_app(ctx), follow_redirects=False, client=client)


def statuses(client: TestClient, path: str, times: int) -> list[int]:
    return [client.get(path).status_code for _ in range(times)]


# --- the switch ----------------------------------------------------------------------------------

def test_without_the_faults_flag_the_endpoint_does_not_exist():
    client = fk(faults=False)
    assert client.post("/_sim/faults", json={"count": 1}).status_code == 404
    assert client.get("/_sim/faults").status_code == 404
    assert client.get("/login").status_code == 200


def test_a_caller_that_is_not_on_this_machine_is_refused():
    client = fk(client=("10.1.2.3", 40000))
    response = client.post("/_sim/faults", json={"count": 5})
    assert response.status_code == 403
    assert "loopback" in response.json()["error"]
    assert client.get("/login").status_code == 200


@pytest.mark.parametrize(("body", "reason"), [
    ({"status": "abc"}, "status: Input should be a valid integer"),
    ({"failure_rate": 1.5}, "failure_rate: Input should be less than or equal to 1"),
    ({"count": -1}, "count: Input should be greater than or equal to 0"),
    ({"count": 1, "path": "fk"}, "path: String should match pattern"),
    ({"count": 1, "colour": "red"}, "colour: Extra inputs are not permitted"),
    ({}, "no fault given"),
    ({"outage_seconds": 5, "outage_from": "2026-01-01T00:00:00"}, "not both"),
    ({"outage_from": "2026-01-01T00:10:00", "outage_to": "2026-01-01T00:00:00"}, "outage_to must be after"),
])
def test_a_bad_body_answers_400_with_the_reason(body, reason):
    response = fk().post("/_sim/faults", json=body)
    assert response.status_code == 400
    assert reason in response.json()["error"]


def test_a_body_that_is_not_json_answers_400():
    response = fk().post("/_sim/faults", content=b"status=503", headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert "Invalid JSON" in response.json()["error"]


# --- the faults ----------------------------------------------------------------------------------

def test_count_fails_the_next_requests_then_serves_again():
    client = fk()
    client.post("/_sim/faults", json={"status": 502, "count": 2}).raise_for_status()
    assert statuses(client, "/login", 3) == [502, 502, 200]


def test_a_failure_rate_fails_about_that_share_and_the_same_seed_gives_the_same_sequence():
    sequences = []
    for _run in range(2):
        client = fk()
        client.post("/_sim/faults", json={"failure_rate": 0.3, "seed": 7}).raise_for_status()
        sequences.append(statuses(client, "/login", 200))
    assert sequences[0] == sequences[1]
    failed = sequences[0].count(503)
    assert 40 <= failed <= 80, failed
    assert set(sequences[0]) == {200, 503}


def test_a_rule_for_a_path_prefix_leaves_other_paths_alone():
    client = fk()
    client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "next": "/"})
    client.post("/_sim/faults", json={"path": "/utbetalningar", "failure_rate": 1}).raise_for_status()
    assert client.get("/utbetalningar").status_code == 503
    assert client.get("/").status_code == 200
    assert client.get("/login").status_code == 200


def test_the_longest_matching_prefix_decides():
    client = fk()
    client.post("/_sim/faults", json={"path": "/", "failure_rate": 1}).raise_for_status()
    client.post("/_sim/faults", json={"path": "/login", "delay_ms": 1}).raise_for_status()
    assert client.get("/login").status_code == 200
    assert client.get("/").status_code == 503


def test_latency_with_jitter_delays_every_request():
    client = fk()
    client.post("/_sim/faults", json={"delay_ms": 150, "jitter_ms": 100}).raise_for_status()
    started = time.perf_counter()
    assert statuses(client, "/login", 4) == [200] * 4
    elapsed = time.perf_counter() - started
    assert 4 * 0.150 <= elapsed < 4 * 0.250 + 2.0


def test_an_outage_window_fails_everything_until_it_ends():
    client = fk()
    client.post("/_sim/faults", json={"outage_seconds": 1.0}).raise_for_status()
    assert statuses(client, "/login", 3) == [503] * 3
    deadline = time.monotonic() + 10
    while client.get("/login").status_code != 200:  # wait on the condition: the window closing
        assert time.monotonic() < deadline, "the outage did not end"
    shown = client.get("/_sim/faults").json()["faults"][0]
    assert shown["outage_seconds_left"] == 0


def test_an_outage_can_start_at_the_first_request_of_its_path():
    client = fk()
    client.post("/_sim/faults", json={"path": "/utbetalningar", "outage_seconds": 1.0,
                                      "outage_on_first_request": True}).raise_for_status()
    (rule,) = client.get("/_sim/faults").json()["faults"]
    assert "outage_seconds_left" not in rule, "the window has not started yet"
    assert client.get("/utbetalningar").status_code == 503
    assert 0 < client.get("/_sim/faults").json()["faults"][0]["outage_seconds_left"] <= 1.0


def test_an_outage_from_to_in_the_past_fails_nothing():
    client = fk()
    client.post("/_sim/faults", json={"outage_from": "2020-01-01T00:00:00Z",
                                      "outage_to": "2020-01-01T01:00:00Z"}).raise_for_status()
    assert statuses(client, "/login", 2) == [200, 200]


def test_get_shows_the_rules_with_what_they_did_and_delete_clears_them():
    client = fk()
    client.post("/_sim/faults", json={"status": 500, "count": 2, "path": "/login"}).raise_for_status()
    statuses(client, "/login", 3)
    (rule,) = client.get("/_sim/faults").json()["faults"]
    assert rule == {"path": "/login", "status": 500, "count": 2, "remaining_count": 0,
                    "requests_seen": 3, "requests_failed": 2}
    assert client.delete("/_sim/faults").json() == {"faults": []}
    assert client.get("/_sim/faults").json() == {"faults": []}


def test_a_held_post_waits_unserved_until_released_and_the_get_of_its_form_is_not_held():
    client = fk()
    client.post("/_sim/faults", json={"path": "/login", "method": "POST", "hold": True}).raise_for_status()
    assert client.get("/login").status_code == 200  # the form: another method, not held
    answered: list[int] = []
    post = threading.Thread(target=lambda: answered.append(
        client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD}).status_code))
    post.start()
    deadline = time.monotonic() + 10
    while client.get("/_sim/faults").json()["faults"][0]["requests_held"] != 1:
        assert time.monotonic() < deadline, "the POST never reached the hold"
        time.sleep(0.02)
    time.sleep(0.3)
    assert answered == [] and post.is_alive()  # received, not served
    (rule,) = client.post("/_sim/faults/release").json()["faults"]
    assert rule["released"] is True
    post.join(timeout=10)
    assert answered == [303] and client.get("/_sim/faults").json()["faults"][0]["requests_held"] == 0
    assert client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD}).status_code == 303


def test_clearing_the_rules_lets_a_held_request_go_on():
    client = fk()
    client.post("/_sim/faults", json={"path": "/login", "hold": True}).raise_for_status()
    answered: list[int] = []
    get = threading.Thread(target=lambda: answered.append(client.get("/login").status_code))
    get.start()
    time.sleep(0.3)
    assert answered == []
    client.delete("/_sim/faults").raise_for_status()
    get.join(timeout=10)
    assert answered == [200]


def test_the_sim_paths_themselves_never_fail():
    client = fk()
    client.post("/_sim/faults", json={"failure_rate": 1}).raise_for_status()
    assert client.get("/_sim/health").status_code == 200
    assert client.get("/_sim/faults").status_code == 200


# --- the demo never turns faults on --------------------------------------------------------------

def test_the_demo_starts_the_simulators_without_faults(monkeypatch):
    from bistand.run import demo

    started = []

    class Refused(Exception):
        pass

    def popen(cmd, **_kwargs):
        started.append(cmd)
        raise Refused

    monkeypatch.setattr(demo.subprocess, "Popen", popen)
    with pytest.raises(Refused):
        demo.start_simulators(Path("world.json"), Path("state"), 8400)
    assert started and "--faults" not in started[0]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--faults" not in makefile


# --- the bot's retries against simulators started with --faults ---------------------------------

IDS = ["ANS-2026-000001", "ANS-2026-000004"]


def set_fault(url: str, **body) -> None:
    httpx.post(f"{url}/_sim/faults", json=body, timeout=10).raise_for_status()


def faults_seen(url: str) -> list[dict]:
    return httpx.get(f"{url}/_sim/faults", timeout=10).json()["faults"]


def expected_outcomes(world_path: Path) -> dict:
    world = load_world(world_path)
    return {k: (v["proposal"], v["amount"], sorted(v.get("findings", []))) for k, v in world["expected"].items()}


def outcomes(sims: Simulators) -> dict:
    latest = export(sims)["latest_decision_basis"]
    return {k: (v["proposal"], v["amount"], sorted(v["findings"])) for k, v in latest.items()}


@pytest.mark.e2e
@pytest.mark.browser
def test_a_portal_failing_a_share_of_its_pages_is_retried_to_the_expected_outcomes(tmp_path):
    world = subset_world(load_world(EXAMPLE_WORLD), IDS, tmp_path / "world.json")
    sims = Simulators(world=world, state_dir=tmp_path / "sims", base_port=free_base_port(), faults=True)
    sims.start(reset=True)
    try:
        set_fault(sims.urls["fk"], path="/utbetalningar", failure_rate=0.3, seed=3)
        result = run_bot(bot_env(sims, tmp_path, "support", BISTAND_ATTEMPTS="10"), "run")
        got = outcomes(sims)
        (rule,) = faults_seen(sims.urls["fk"])
    finally:
        sims.stop()
    assert result.code == 0, result.output[-2000:]
    assert got == expected_outcomes(world)
    assert rule["requests_failed"] >= 1, "the fault never hit: the test proves nothing"
    summary = json.loads((tmp_path / "output" / "latest" / "run-summary.json").read_text())
    # Each failed page is read again on its own (issue 15 §3), not the whole application.
    assert 1 <= summary["retried_requests"]["fk"] <= rule["requests_failed"], summary["retried_requests"]
    assert sum(item["attempts"] for item in summary["per_item"]) < len(IDS) + rule["requests_failed"]


@pytest.mark.e2e
@pytest.mark.browser
def test_an_outage_shorter_than_the_back_off_is_ridden_out_by_a_later_try(tmp_path):
    world = subset_world(load_world(EXAMPLE_WORLD), IDS[:1], tmp_path / "world.json")
    sims = Simulators(world=world, state_dir=tmp_path / "sims", base_port=free_base_port(), faults=True)
    sims.start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_ATTEMPTS="3", BISTAND_BACKOFF="2",
                      BISTAND_BACKOFF_MAX="4", BISTAND_BACKOFF_JITTER="0")
        # The outage starts with the first lookup at CSN; waits of 2 s + 4 s outlast its 3 s.
        set_fault(sims.urls["csn"], path="/kund/utbetalningar", outage_seconds=3, outage_on_first_request=True)
        result = run_bot(env, "run")
        got = outcomes(sims)
        (rule,) = faults_seen(sims.urls["csn"])
    finally:
        sims.stop()
    assert result.code == 0, result.output[-2000:]
    assert got == expected_outcomes(world)
    assert rule["requests_failed"] >= 1
    summary = json.loads((tmp_path / "output" / "latest" / "run-summary.json").read_text())
    (item,) = summary["per_item"]
    assert item["outcome"] == "DONE" and item["attempts"] > 1
