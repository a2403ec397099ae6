"""The dashboard over HTTP (FastAPI's test client, no browser): login, CSRF, retry/skip with who
did it, the counts of `queue status --json`, and logs served only from output/runs/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from bistand.dashboard.app import create_app
from bistand.dashboard.auth import NoUsers, UserBook, hash_password, load_users, password_matches
from bistand.queue.store import ItemOutcome, open_queue
from tests.simulator_process import ROOT

PASSWORD = "rätt hästbatteri"  # noqa: S105 - a test user\'s password


@pytest.fixture
def world(tmp_path):
    """A queue with one done, one parked and one failed item, and a run folder with its log."""
    store = open_queue(f"sqlite:///{tmp_path / 'state' / 'queue.db'}", max_failures=1)
    for application_id in ("ANS-1", "ANS-2", "ANS-3", "ANS-4"):
        store.add(application_id, {"application_id": application_id})
    run_dir = "runs/20261126T200000.000000Z-r1"
    for application_id, release in (("ANS-1", "done"), ("ANS-2", "parked"), ("ANS-3", "business")):
        lease = store.claim("r1", 30).lease
        if release == "done":
            store.complete(lease)
            store.record_outcome(ItemOutcome(application_id=application_id, outcome="DONE", proposal="approve",
                                             decided_by="caseworker", seconds=3.0, run_dir=run_dir))
        elif release == "parked":
            store.fail(lease, "APPLICATION", "SYSTEM_UNAVAILABLE",
                       "fk: login: HTTP 503 for 19850312-1234")
            store.record_outcome(ItemOutcome(application_id=application_id, outcome="PARKED",
                                             code="SYSTEM_UNAVAILABLE", seconds=9.0, run_dir=run_dir))
        else:
            store.fail(lease, "BUSINESS", "CASE_MISMATCH", "the work item's case differs")
    output = tmp_path / "output"
    (output / run_dir / "failures" / "ANS-2-try1").mkdir(parents=True)
    (output / run_dir / "log.html").write_text("<html>robot log</html>", encoding="utf-8")
    (output / run_dir / "failures" / "ANS-2-try1" / "fk-0.png").write_bytes(b"\x89PNG fake")
    (output / "reports").mkdir()
    (output / "reports" / "ANS-1.html").write_text("Anna Andersson 19850312-1234 12 345 kr", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    app = create_app(store, UserBook({"teamledare": hash_password(PASSWORD)}), output)
    yield TestClient(app, base_url="https://testserver"), store, tmp_path
    store.close()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def logged_in(client: TestClient, user: str = "teamledare", password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": user, "password": password, "csrf": token})


def test_every_page_and_log_asks_for_a_login_first(world):
    client, _store, _tmp = world
    for path in ("/", "/arenden/ANS-2", "/korningar/20261126T200000.000000Z-r1/log.html"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", path


def test_a_wrong_password_or_an_unknown_user_is_refused(world):
    client, _store, _tmp = world
    refused = logged_in(client, password="fel")  # noqa: S106
    assert refused.status_code == 401 and "Fel användarnamn eller lösenord" in refused.text
    assert logged_in(client, user="okänd").status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303
    accepted = logged_in(client)
    assert accepted.status_code == 200 and "Inloggad som" in accepted.text


def test_the_counts_are_those_of_queue_status_json(world):
    client, _store, tmp_path = world
    page = logged_in(client).text
    env = {**os.environ, "BISTAND_STATE_DIR": str(tmp_path / "state"), "BISTAND_OUTPUT_DIR": str(tmp_path / "output")}
    env.pop("BISTAND_QUEUE_URL", None)
    status = json.loads(subprocess.run([sys.executable, "-m", "bistand", "queue", "status", "--json"], cwd=ROOT,
                                       env=env, capture_output=True, text=True, timeout=60, check=True).stdout)
    shown = {state: int(n) for state, n in re.findall(r'data-state="(\w+)">\s*<span class="n">(\d+)</span>', page)}
    assert shown == status["counts"] == {"pending": 1, "in_progress": 0, "done": 1, "failed_business": 1,
                                         "parked": 1, "skipped": 0}
    assert "19850312-XXXX" in page and "19850312-1234" not in page
    assert page.count("<svg ") == 5


def test_a_post_without_the_sessions_csrf_token_is_refused(world):
    client, store, _tmp = world
    logged_in(client)
    forged = client.post("/arenden/ANS-2/forsok-igen", data={"csrf": "gissad"})
    assert forged.status_code == 403
    assert store.get("ANS-2").state == "parked"
    assert client.post("/login", data={"username": "teamledare", "password": PASSWORD}).status_code == 403


def test_retry_and_skip_go_through_the_store_and_say_who_did_it(world):
    client, store, _tmp = world
    token = csrf_of(logged_in(client).text)
    retried = client.post("/arenden/ANS-2/forsok-igen", data={"csrf": token})
    assert "ANS-2 är tillbaka i kön" in retried.text
    assert store.get("ANS-2").state == "pending" and store.get("ANS-2").failures == 1  # tries kept
    no_reason = client.post("/arenden/ANS-3/hoppa-over", data={"csrf": token, "reason": "   "})
    assert "ange ett skäl" in no_reason.text and store.get("ANS-3").state == "failed_business"
    skipped = client.post("/arenden/ANS-3/hoppa-over", data={"csrf": token, "reason": "handläggs manuellt"})
    assert "ANS-3 hoppas över" in skipped.text and store.get("ANS-3").state == "skipped"
    assert [(a.username, a.action, a.application_id, a.reason) for a in store.recent_actions()] == [
        ("teamledare", "skip", "ANS-3", "handläggs manuellt"), ("teamledare", "retry", "ANS-2", "")]
    done = client.post("/arenden/ANS-1/forsok-igen", data={"csrf": token})
    assert "ANS-1 kan inte köas om: läget är «klar»" in done.text and store.get("ANS-1").state == "done"


def test_logs_and_evidence_are_served_only_from_the_runs_folder(world):
    client, _store, _tmp = world
    logged_in(client)
    run = "20261126T200000.000000Z-r1"
    log = client.get(f"/korningar/{run}/log.html")
    assert log.status_code == 200 and log.text == "<html>robot log</html>"
    assert client.get(f"/korningar/{run}/failures/ANS-2-try1/fk-0.png").headers["content-type"] == "image/png"
    item = client.get("/arenden/ANS-2").text
    assert f"/korningar/{run}/log.html" in item and f"/korningar/{run}/failures/ANS-2-try1/fk-0.png" in item
    for path in ("../reports/ANS-1.html", "../../secret.txt", "%2e%2e/reports/ANS-1.html", "..%2F..%2Fsecret.txt",
                 "/etc/passwd", f"{run}/../../reports/ANS-1.html"):
        response = client.get(f"/korningar/{path}")
        assert response.status_code == 404, path
        assert "19850312" not in response.text and "outside" not in response.text


def test_a_symlink_out_of_the_runs_folder_is_not_followed(world):
    client, _store, tmp_path = world
    (tmp_path / "output" / "runs" / "leak").symlink_to(tmp_path / "output" / "reports")
    logged_in(client)
    assert client.get("/korningar/leak/ANS-1.html").status_code == 404
    assert "leak" not in client.get("/korningar/").text


def test_passwords_are_scrypt_hashes_checked_against_the_stored_salt():
    stored = hash_password("hemligt")
    assert stored.startswith("scrypt$") and "hemligt" not in stored
    assert hash_password("hemligt") != stored  # a fresh salt each time
    assert password_matches("hemligt", stored) and not password_matches("Hemligt", stored)
    assert not password_matches("hemligt", "plaintext") and not password_matches("x", "md5$1$2$3$4$5")


def test_users_come_from_a_file_or_the_vaults_dashboard_secret(tmp_path):
    users_file = tmp_path / "users.yaml"
    users_file.write_text(f"lisa: '{hash_password('ett lösenord')}'\n", encoding="utf-8")
    assert load_users({"BISTAND_DASHBOARD_USERS": str(users_file)}).check("lisa", "ett lösenord")
    demo = load_users({"BISTAND_DEMO": "1"})  # the demo's vault (devdata/vault.json) holds the demo user's hash
    assert demo.check("teamledare", "demo") and not demo.check("teamledare", "Demo")
    users_file.write_text("{}", encoding="utf-8")
    with pytest.raises(NoUsers):
        load_users({"BISTAND_DASHBOARD_USERS": str(users_file)})
