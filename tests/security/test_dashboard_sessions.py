"""The dashboard's sessions, login throttling, size limits, evidence headers and audit log, probed
through FastAPI's TestClient as the issue's security review did. Each case failed before issue 16
(a signed cookie session with no server-side state, no limits, no audit, evidence on the
dashboard's origin)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bistand.dashboard import auth
from bistand.dashboard.app import create_app
from bistand.dashboard.auth import LiveUsers, UserBook, hash_password
from bistand.dashboard.sessions import SecurityStore, SessionPolicy
from bistand.queue.store import open_queue

PASSWORD = "rätt hästbatteri"  # noqa: S105 - a test user's password
RUN = "20261126T200000.000000Z-r1"


class Clock:
    """A clock the test moves (time-outs and login delays without waiting); each reading is a
    millisecond later than the one before, so events keep their order."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


@pytest.fixture
def dashboard(tmp_path):
    store = open_queue(f"sqlite:///{tmp_path / 'queue.db'}", max_failures=1)
    store.add("ANS-2026-000002", {"application_id": "ANS-2026-000002"})
    store.fail(store.claim("r1", 30).lease, "APPLICATION", "SYSTEM_UNAVAILABLE", "fk down")
    output = tmp_path / "output"
    (output / "runs" / RUN).mkdir(parents=True)
    (output / "runs" / RUN / "log.html").write_text("<html><script>1</script>robot log</html>", encoding="utf-8")
    users_file = tmp_path / "users.yaml"
    users_file.write_text(f"teamledare: '{hash_password(PASSWORD)}'\nlisa: '{hash_password('lisas')}'\n",
                          encoding="utf-8")
    clock = Clock()
    security = SecurityStore(store, SessionPolicy(idle_seconds=600, absolute_seconds=3600), clock=clock)
    users = LiveUsers({"BISTAND_DASHBOARD_USERS": str(users_file)})

    def client() -> TestClient:
        """A browser of its own against a dashboard process of its own over the same queue database."""
        return TestClient(create_app(store, users, output, security=security), base_url="https://testserver")

    yield client, store, clock, users_file, security
    store.close()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def log_in(client: TestClient, user: str = "teamledare", password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": user, "password": password, "csrf": token},
                       follow_redirects=False)


def opens_dashboard(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def session_cookie(client: TestClient) -> tuple[str, str]:
    return next((name, value) for name, value in client.cookies.items() if "session" in name)


def test_a_cookie_saved_before_logout_opens_nothing_after_it(dashboard):
    client, *_ = dashboard
    browser = client()
    log_in(browser)
    name, saved = session_cookie(browser)
    browser.post("/logga-ut", data={"csrf": csrf_of(browser.get("/").text)})
    thief = client()
    thief.cookies.set(name, saved)
    assert not opens_dashboard(thief)


def test_logout_in_one_dashboard_process_ends_the_session_in_another(dashboard):
    client, *_ = dashboard
    first, second = client(), client()
    log_in(first)
    name, value = session_cookie(first)
    second.cookies.set(name, value)
    assert opens_dashboard(second)
    second.post("/logga-ut", data={"csrf": csrf_of(second.get("/").text)})
    assert not opens_dashboard(first)


@pytest.mark.parametrize("change", ["removed", "password changed"])
def test_removing_or_changing_a_user_ends_their_sessions(dashboard, change):
    client, _store, _clock, users_file, _security = dashboard
    teamledare, lisa = client(), client()
    log_in(teamledare)
    log_in(lisa, "lisa", "lisas")
    kept = users_file.read_text(encoding="utf-8").splitlines()[1]
    new = "" if change == "removed" else f"teamledare: '{hash_password('nytt lösenord')}'\n"
    users_file.write_text(new + kept + "\n", encoding="utf-8")
    assert not opens_dashboard(teamledare)
    assert opens_dashboard(lisa)


def test_an_idle_session_and_a_session_past_its_absolute_limit_end(dashboard):
    client, _store, clock, *_ = dashboard
    browser = client()
    log_in(browser)
    clock.now += 601  # idle limit 600 s
    assert not opens_dashboard(browser)
    log_in(browser)
    for _ in range(7):  # active every 9 minutes: never idle, but 63 minutes after sign-in
        clock.now += 540
        still = opens_dashboard(browser)
    assert not still


def test_the_cookie_is_opaque_secure_httponly_and_samesite_strict(dashboard):
    client, *_ = dashboard
    response = log_in(client())
    header = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "session=" in v)
    name, value = header.split(";")[0].split("=", 1)
    assert name == "__Host-bistand_session"
    assert {"Secure", "HttpOnly", "SameSite=Strict", "Path=/"} <= {part.strip() for part in header.split(";")}
    assert "teamledare" not in value and len(value) >= 40


def test_failed_logins_are_limited_per_user_with_a_growing_delay(dashboard):
    client, _store, clock, *_ = dashboard
    browser = client()
    codes = [log_in(browser, password=f"fel{n}").status_code for n in range(20)]
    assert codes[:3] == [401, 401, 401] and set(codes[3:]) == {429}
    refused = log_in(browser)  # the right password is refused too while the delay runs
    assert refused.status_code == 429 and "Försök igen om" in refused.text
    first_wait = int(refused.headers["Retry-After"])
    clock.now += first_wait
    assert log_in(browser, password="fel igen").status_code == 401  # noqa: S106
    second_wait = int(log_in(browser).headers["Retry-After"])
    assert second_wait > first_wait
    clock.now += second_wait
    assert log_in(browser).status_code == 303


def test_failed_logins_are_limited_per_client_address_across_user_names(dashboard):
    client, *_ = dashboard
    browser = client()
    codes = [log_in(browser, user=f"gissning{n}", password="x").status_code for n in range(5)]  # noqa: S106
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


def test_a_throttled_login_hashes_nothing(dashboard, monkeypatch):
    client, *_ = dashboard
    browser = client()
    for n in range(3):
        log_in(browser, password=f"fel{n}")
    hashed = []
    monkeypatch.setattr(auth, "password_matches", lambda *a: hashed.append(1) or False)
    for _ in range(10):
        log_in(browser, password="fel")  # noqa: S106
    assert hashed == []


def test_a_one_megabyte_password_is_refused_before_hashing(dashboard, monkeypatch):
    client, *_ = dashboard
    browser = client()
    hashed = []
    monkeypatch.setattr(auth, "password_matches", lambda *a: hashed.append(1) or False)
    token = csrf_of(browser.get("/login").text)
    big = browser.post("/login", data={"username": "teamledare", "password": "x" * 1_000_000, "csrf": token})
    assert big.status_code == 413
    long = browser.post("/login", data={"username": "teamledare", "password": "x" * 5000, "csrf": token})
    assert long.status_code == 400 and "för långt" in long.text
    assert hashed == []


def test_evidence_is_served_in_a_sandbox_and_every_file_opened_is_audited(dashboard):
    client, *_ = dashboard
    browser = client()
    log_in(browser)
    log = browser.get(f"/korningar/{RUN}/log.html")
    assert log.headers["content-security-policy"] == "sandbox allow-scripts"
    assert log.headers["x-content-type-options"] == "nosniff"
    audit = browser.get("/granskning").text
    assert f"{RUN}/log.html" in audit and "Öppnade bevis" in audit and "testclient" in audit


def test_sign_ins_failures_sign_outs_and_operator_actions_are_audited_with_user_time_and_address(dashboard):
    client, _store, _clock, _users, security = dashboard
    browser = client()
    log_in(browser, password="fel")  # noqa: S106
    log_in(browser, user="198503121234", password="fel")  # a personnummer typed as a user name  # noqa: S106
    log_in(browser)
    token = csrf_of(browser.get("/").text)
    browser.post("/arenden/ANS-2026-000002/forsok-igen", data={"csrf": token})
    browser.post("/arenden/ANS-2026-000002/hoppa-over", data={"csrf": token, "reason": " "})  # no reason: refused
    browser.post("/logga-ut", data={"csrf": token})
    events = [(e.username, e.event, e.client, e.detail) for e in reversed(security.audit_events())]
    assert events == [
        ("teamledare", "sign_in_failed", "testclient", ""),
        ("19850312-XXXX", "sign_in_failed", "testclient", ""),
        ("teamledare", "sign_in", "testclient", ""),
        ("teamledare", "retry", "testclient", "ANS-2026-000002: utfört"),
        ("teamledare", "skip", "testclient", "ANS-2026-000002: nekat"),
        ("teamledare", "sign_out", "testclient", ""),
    ]
    assert all(e.at > 0 for e in security.audit_events())
    log_in(browser)
    page = browser.get("/granskning").text
    assert "19850312-XXXX" in page and "198503121234" not in page and "Misslyckad inloggning" in page


def test_the_audit_log_and_sessions_are_in_the_queue_database_migration(tmp_path: Path):
    store = open_queue(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        security = SecurityStore(store)
        security.audit("lisa", "sign_in", "10.0.0.1")
        assert [e.event for e in SecurityStore(open_queue(store.url)).audit_events()] == ["sign_in"]
    finally:
        store.close()


def test_an_unreadable_users_file_lets_nobody_in(dashboard):
    client, _store, _clock, users_file, _security = dashboard
    browser = client()
    log_in(browser)
    users_file.unlink()
    assert not opens_dashboard(browser)
    assert log_in(client()).status_code == 401
    assert isinstance(UserBook.nobody(), UserBook)
