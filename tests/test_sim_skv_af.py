"""Skatteverket and Arbetsförmedlingen simulators over real HTTP: login, TOTP, what each page shows."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser

import httpx
import pyotp
import pytest

from bistand.core.personnummer import luhn_check_digit
from simulators.common.accounts import SKV_TOTP_SECRET, accounts
from simulators.skv.app import PAGE_SIZE, synthetic_history


class Tables(HTMLParser):
    """Every table on a page as {caption or aria-label: [[cell text, ...], ...]} (body rows only)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._name = ""
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._in_caption = False
        self._in_head = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._name, self._rows = dict(attrs).get("aria-label") or "", []
        elif tag == "caption":
            self._in_caption = True
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._rows is not None and not self._in_head:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None and not self._in_head:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._rows:
            self._rows[-1].append(" ".join("".join(self._cell).replace("\u00a0", " ").split()))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._name] = [row for row in self._rows if row]
            self._rows = None

    def handle_data(self, data):
        if self._in_caption:
            self._name += data.strip()
        elif self._cell is not None:
            self._cell.append(data)


def world_of(sims) -> dict:
    return json.loads(sims.world.read_text(encoding="utf-8"))


def unknown_personnummer(world: dict) -> str:
    """A valid number that no register in the world holds."""
    known = json.dumps(world)
    for serial in range(100, 999):
        head = f"19500101{serial:03d}"
        number = f"{head[:8]}-{head[8:]}{luhn_check_digit(head[2:])}"
        if number not in known:
            return number
    raise AssertionError("no free personnummer")


def with_bad_check_digit(pnr: str) -> str:
    return pnr[:-1] + str((int(pnr[-1]) + 1) % 10)


def wrong_code() -> str:
    """A six-digit code that the server's window (now ± 30 s) does not accept."""
    totp = pyotp.TOTP(SKV_TOTP_SECRET)
    now = time.time()
    accepted = {totp.at(now + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in (f"{n:06d}" for n in range(0, 999999, 7919)) if code not in accepted)


def password_login(client: httpx.Client, system: str, next_path: str = "/sok") -> httpx.Response:
    return client.post(
        "/login", data={"username": "robot", "password": accounts(system)["robot"], "next": next_path}
    )


@pytest.fixture
def skv(simulators):
    with httpx.Client(base_url=simulators.urls["skv"], timeout=10, follow_redirects=True) as client:
        password_login(client, "skv")
        client.post("/totp", data={"code": pyotp.TOTP(SKV_TOTP_SECRET).now(), "next": "/sok"})
        yield client


@pytest.fixture
def af(simulators):
    with httpx.Client(base_url=simulators.urls["af"], timeout=10, follow_redirects=True) as client:
        password_login(client, "af")
        yield client


# --- login ---------------------------------------------------------------------------------


def test_skatteverket_sends_an_anonymous_visitor_to_the_login_page(simulators):
    with httpx.Client(base_url=simulators.urls["skv"], timeout=10) as client:
        response = client.get("/folkbokforing", params={"pnr": "19881008-5822"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_skatteverket_password_alone_does_not_open_the_portal(simulators):
    with httpx.Client(base_url=simulators.urls["skv"], timeout=10) as client:
        after_password = password_login(client, "skv")
        assert after_password.headers["location"].startswith("/totp")
        response = client.get("/folkbokforing", params={"pnr": "19881008-5822"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_skatteverket_refuses_a_wrong_security_code(simulators):
    with httpx.Client(base_url=simulators.urls["skv"], timeout=10) as client:
        password_login(client, "skv")
        refused = client.post("/totp", data={"code": wrong_code(), "next": "/sok"})
        still_closed = client.get("/sok")
    assert refused.status_code == 401
    assert "Felaktig säkerhetskod" in refused.text
    assert still_closed.status_code == 303


def test_skatteverket_totp_page_has_the_labelled_code_field(simulators):
    with httpx.Client(base_url=simulators.urls["skv"], timeout=10, follow_redirects=True) as client:
        page = password_login(client, "skv")
    assert page.url.path == "/totp"
    assert re.search(r'<label for="code">Säkerhetskod</label>', page.text)
    assert re.search(r'<button type="submit"[^>]*>Verifiera</button>', page.text)


def test_skatteverket_opens_after_password_and_the_right_code(skv):
    response = skv.get("/sok")
    assert response.status_code == 200
    assert response.url.path == "/sok"
    assert "<label for=\"pnr\">Personnummer</label>" in response.text


def test_arbetsformedlingen_requires_a_login(simulators):
    with httpx.Client(base_url=simulators.urls["af"], timeout=10) as client:
        anonymous = client.get("/inskrivning", params={"pnr": "19700215-5526"})
        refused = client.post("/login", data={"username": "robot", "password": "fel", "next": "/sok"})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert refused.status_code == 401


# --- Skatteverket --------------------------------------------------------------------------


def test_folkbokforing_shows_the_address_and_everyone_registered_there(skv, simulators):
    population = world_of(simulators)["registers"]["skv"]["population"]
    person = next(p for p in population if p["personnummer"] == "19881008-5822")
    address = person["address"]
    same_address = sorted(
        p["personnummer"] for p in population
        if (p["address"]["street"], p["address"]["postal_code"]) == (address["street"], address["postal_code"])
    )

    page = skv.get("/folkbokforing", params={"pnr": "198810085822"})

    assert page.status_code == 200
    postal = f"{address['postal_code'][:3]} {address['postal_code'][3:]}"
    for value in (address["street"], postal, address["city"], address["municipality"], person["last_name"]):
        assert f"<dd>{value}</dd>" in page.text
    residents = Tables(page.text).tables["Personer folkbokförda på samma adress"]
    assert sorted(row[0] for row in residents) == same_address
    assert "19710316-6463" in same_address and len(same_address) == 2


def test_folkbokforing_of_an_unknown_person_says_so_without_an_error(skv, simulators):
    page = skv.get("/folkbokforing", params={"pnr": unknown_personnummer(world_of(simulators))})
    assert page.status_code == 200
    assert "Personen finns inte i folkbokföringen" in page.text


def test_agi_shows_the_declared_month_with_pay_and_tax(skv, simulators):
    declaration = next(
        d for d in world_of(simulators)["registers"]["skv"]["employer_declarations"]
        if d["personnummer"] == "19690803-4025"
    )
    rows = Tables(skv.get("/agi", params={"pnr": "19690803-4025"}).text).tables[
        "Redovisade löner och avdragen skatt"
    ]
    assert rows[0] == [declaration["period"], declaration["employer"], "32 000 kr", "7 100 kr"]
    assert len(rows) == PAGE_SIZE


def test_agi_pages_the_older_synthetic_months_twelve_at_a_time(skv, simulators):
    history = sorted(
        (d for d in synthetic_history(world_of(simulators)) if d["personnummer"] == "19690803-4025"),
        key=lambda d: d["period"], reverse=True,
    )
    first = skv.get("/agi", params={"pnr": "19690803-4025"})
    second = skv.get("/agi", params={"pnr": "19690803-4025", "sida": 2})
    assert "Sida 1 av 2" in first.text and "Nästa sida" in first.text
    assert "Sida 2 av 2" in second.text and "Föregående sida" in second.text
    last_rows = Tables(second.text).tables["Redovisade löner och avdragen skatt"]
    assert [row[0] for row in last_rows] == [d["period"] for d in history[PAGE_SIZE - 1:]]


def test_agi_history_is_the_same_on_every_seed(simulators):
    world = world_of(simulators)
    assert synthetic_history(world) == synthetic_history(json.loads(json.dumps(world)))
    periods = {d["period"] for d in synthetic_history(world) if d["personnummer"] == "19690803-4025"}
    assert "2026-12" not in periods and len(periods) > PAGE_SIZE


def test_skatteverket_answers_a_bad_check_digit_with_its_own_error_page(skv):
    for path in ("/folkbokforing", "/agi"):
        page = skv.get(path, params={"pnr": with_bad_check_digit("19881008-5822")})
        assert page.status_code == 400
        assert "Felaktigt personnummer" in page.text
        assert "Skatteverket" in page.text


# --- Arbetsförmedlingen --------------------------------------------------------------------


def facts_of(page: httpx.Response) -> dict[str, str]:
    return {label: value for label, value in Tables(page.text).tables["Inskrivningsuppgifter"]}


def test_arbetsformedlingen_shows_a_registered_job_seeker(af, simulators):
    status = next(s for s in world_of(simulators)["registers"]["af"] if s["personnummer"] == "19700215-5526")
    facts = facts_of(af.get("/sok", params={"pnr": "19700215-5526"}))
    assert facts["Inskriven som arbetssökande"] == "Ja"
    assert facts["Inskriven sedan"] == status["registered_since"]
    assert facts["Sökandekategori"] == f"{status['category']} Öppet arbetslös"
    assert facts["Senaste aktivitetsrapport"] == status.get("last_activity_report", "–")


def test_arbetsformedlingen_shows_a_person_who_is_no_longer_registered(af):
    facts = facts_of(af.get("/inskrivning", params={"pnr": "19830604-0331"}))
    assert facts["Inskriven som arbetssökande"] == "Nej"


def test_arbetsformedlingen_says_an_unknown_person_is_not_registered(af, simulators):
    page = af.get("/inskrivning", params={"pnr": unknown_personnummer(world_of(simulators))})
    assert page.status_code == 200
    assert "Personen är inte inskriven" in page.text


def test_arbetsformedlingen_answers_a_bad_check_digit_with_an_error_page(af):
    page = af.get("/inskrivning", params={"pnr": with_bad_check_digit("19700215-5526")})
    assert page.status_code == 400
    assert "Ogiltigt personnummer" in page.text


def test_the_search_forms_lead_to_the_persons_pages(skv, af):
    skv_search = skv.get("/sok")
    af_search = af.get("/sok")
    for page in (skv_search, af_search):
        assert '<label for="pnr">Personnummer</label>' in page.text
        assert re.search(r'<button type="submit"[^>]*>Sök</button>', page.text)
    assert skv.get("/sok", params={"pnr": "19881008-5822"}).url.path == "/folkbokforing"
    assert skv.get("/sok", params={"pnr": "19881008-5822", "vy": "agi"}).url.path == "/agi"
    assert af.get("/sok", params={"pnr": "19700215-5526"}).url.path == "/inskrivning"
