"""The four payment portals over HTTP: login, search results from the world, pagination, errors."""

from __future__ import annotations

import copy
import json
import re
import tempfile
from pathlib import Path

import httpx
import lxml.html
import pytest
from fastapi.testclient import TestClient

from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER
from simulators.common.web import SystemContext
from tests.simulator_process import EXAMPLE_WORLD

PORTALS = ("fk", "csn", "pm", "akassa")
WORLD = json.loads(EXAMPLE_WORLD.read_text(encoding="utf-8"))
NBSP = "\u00a0"


def search_path(system: str, pnr: str) -> str:
    return {
        "fk": f"/utbetalningar?personnummer={pnr}",
        "csn": f"/kund/utbetalningar?pnr={pnr}",
        "pm": f"/handlaggning/utbetalningar?personnummer={pnr}",
    }[system]


def logged_in(base_url: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=10)
    response = client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "next": "/"})
    assert response.status_code == 303, response.text[:200]
    return client


def search(client: httpx.Client, system: str, pnr: str) -> httpx.Response:
    if system == "akassa":
        return client.post("/sok", data={"personnummer": pnr})
    return client.get(search_path(system, pnr))


def text_of(element) -> str:
    return " ".join(element.text_content().replace(NBSP, " ").split())


def bad_checksum(pnr: str) -> str:
    return pnr[:-1] + str((int(pnr[-1]) + 1) % 10)


def world_rows(register: str, pnr: str, period: str) -> list[dict]:
    return [row for row in WORLD["registers"][register] if row["personnummer"] == pnr and row["period"] == period]


@pytest.fixture(scope="module")
def clients(simulators):
    made = {system: logged_in(simulators.urls[system]) for system in PORTALS}
    yield made
    for client in made.values():
        client.close()


@pytest.mark.parametrize("system", PORTALS)
def test_a_portal_sends_a_visitor_without_a_session_to_its_login_page(simulators, system):
    with httpx.Client(base_url=simulators.urls[system], timeout=10) as anonymous:
        response = anonymous.get("/")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
        login_page = lxml.html.fromstring(anonymous.get("/login").text)
        assert [text_of(label) for label in login_page.xpath("//label")] == ["Användarnamn", "Lösenord"]
        if system == "akassa":
            assert anonymous.post("/sok", data={"personnummer": "19620509-9374"}).status_code == 303


@pytest.mark.parametrize("system", PORTALS)
def test_a_portal_refuses_a_wrong_password(simulators, system):
    with httpx.Client(base_url=simulators.urls[system], timeout=10) as client:
        response = client.post("/login", data={"username": DEMO_USER, "password": "fel", "next": "/"})
        assert response.status_code == 401
        assert "Fel användarnamn eller lösenord" in response.text


def test_fk_shows_child_allowance_and_maintenance_support_for_december(clients):
    response = search(clients["fk"], "fk", "19990128-2880")
    page = lxml.html.fromstring(response.text)
    (table,) = page.xpath("//table[caption[normalize-space()='Utbetalningar']]")
    headers = [text_of(th) for th in table.xpath("./thead//th")]
    assert headers == ["Förmån", "Avser period", "Belopp", "Utbetalningsdag"]
    december = {
        (row.xpath("./td[1]/@data-type")[0], text_of(row.xpath("./td[1]")[0]), text_of(row.xpath("./td[3]")[0]))
        for row in table.xpath("./tbody/tr")
        if text_of(row.xpath("./td[2]")[0]) == "2026-12"
    }
    assert december == {("barnbidrag", "Barnbidrag", "2 500 kr"), ("underhallsstod", "Underhållsstöd", "3 146 kr")}
    assert "Evelina Nilsson" in text_of(page.xpath("//h1")[-1])


def test_fk_pages_a_long_history_ten_rows_at_a_time_newest_first(clients):
    client, pnr = clients["fk"], "19990128-2880"
    page = lxml.html.fromstring(search(client, "fk", pnr).text)
    seen: list[tuple[str, str]] = []
    pages = 0
    while True:
        pages += 1
        rows = page.xpath("//table[caption[normalize-space()='Utbetalningar']]/tbody/tr")
        seen += [(text_of(row.xpath("./td[2]")[0]), row.xpath("./td[1]/@data-type")[0]) for row in rows]
        next_links = page.xpath("//a[normalize-space()='Nästa sida']/@href")
        if not next_links:
            assert len(rows) <= 10
            break
        assert len(rows) == 10
        page = lxml.html.fromstring(client.get(next_links[0]).text)
    assert pages >= 2
    assert [period for period, _ in seen] == sorted((period for period, _ in seen), reverse=True)
    assert len(set(seen)) == len(seen)
    total = re.search(r"\((\d+) utbetalningar\)", lxml.html.tostring(page, encoding="unicode"))
    assert total and int(total.group(1)) == len(seen)


def test_fk_history_has_older_months_of_the_same_benefits(clients):
    page = lxml.html.fromstring(clients["fk"].get(search_path("fk", "19620329-8416")).text)
    rows = page.xpath("//table[caption[normalize-space()='Utbetalningar']]/tbody/tr")
    kinds = {row.xpath("./td[1]/@data-type")[0] for row in rows}
    periods = [text_of(row.xpath("./td[2]")[0]) for row in rows]
    assert kinds == {"sjukpenning"}
    assert len(periods) >= 7
    assert min(periods) < "2026-06"


def test_csn_shows_study_aid_of_december_with_non_breaking_spaces(clients):
    response = search(clients["csn"], "csn", "19890528-8158")
    page = lxml.html.fromstring(response.text)
    assert "Utbetalningar läsåret 2026/27" in [text_of(h) for h in page.xpath("//h2")]
    entries = []
    for dl in page.xpath("//dl"):
        entries.append({text_of(dt): dt.getnext().text_content() for dt in dl.xpath("./dt")})
    december = [entry for entry in entries if entry["Period"].startswith("2026-12-01")]
    assert [entry["Stödform"] for entry in december] == ["Studiemedel (bidrag + lån)"]
    assert [entry["Belopp"] for entry in december] == [f"11{NBSP}000{NBSP}kr"]


def test_csn_shows_earlier_academic_years_behind_a_link(clients):
    client, pnr = clients["csn"], "19890528-8158"
    first = lxml.html.fromstring(search(client, "csn", pnr).text)
    years_first = [text_of(h) for h in first.xpath("//h2") if "läsåret" in text_of(h)]
    (older,) = first.xpath("//a[normalize-space()='Visa äldre utbetalningar']/@href")
    everything = lxml.html.fromstring(client.get(older).text)
    years_all = [text_of(h) for h in everything.xpath("//h2") if "läsåret" in text_of(h)]
    assert years_first == ["Utbetalningar läsåret 2026/27"]
    assert years_all[0] == years_first[0] and len(years_all) > 1
    assert len(everything.xpath("//dl")) > len(first.xpath("//dl"))
    assert not everything.xpath("//dl[dd[starts-with(normalize-space(), '2026-07-01')]]")  # no study aid in July


def test_akassa_notice_shows_the_register_amount_as_net_after_tax(clients):
    page = lxml.html.fromstring(search(clients["akassa"], "akassa", "19620509-9374").text)
    notices = [article for article in page.xpath("//article") if "2026-12-01" in text_of(article.xpath(".//p")[0])]
    assert len(notices) == len(world_rows("akassa", "19620509-9374", "2026-12")) == 1
    rows = {text_of(tr.xpath("./td[1]")[0]): text_of(tr.xpath("./td[last()]")[0])
            for tr in notices[0].xpath(".//tbody/tr")}
    assert rows["Utbetalt netto"] == "9 100,00 kr"
    gross = int(rows["Summa brutto"].replace(" ", "").split(",")[0])
    tax = int(rows["Skatteavdrag 30 %"].replace(" ", "").lstrip("-").split(",")[0])
    assert gross - tax == 9100
    week_amounts = [value for label, value in rows.items() if label.startswith("Dagpenning vecka")]
    assert sum(int(value.replace(" ", "").replace(",", "").removesuffix("kr")) for value in week_amounts) == gross * 100


@pytest.mark.parametrize("system", PORTALS)
def test_a_person_without_payments_gets_a_clear_empty_page(clients, system):
    pnr = WORLD["households"][0]["members"][0]["personnummer"]
    assert not any(row["personnummer"] == pnr for row in WORLD["registers"][system])
    response = search(clients[system], system, pnr)
    assert response.status_code == 200
    page = lxml.html.fromstring(response.text)
    (notice,) = page.xpath("//*[@role='status'][.//h1[normalize-space()='Inga utbetalningar hittades']]")
    assert f"{pnr[:8]}-XXXX" in text_of(notice)  # the notice masks the number


@pytest.mark.parametrize("system", PORTALS)
@pytest.mark.parametrize("typed", ["19990128-2881", "1999-01-28", "abc"])
def test_a_bad_personnummer_gets_the_portals_own_error_page(clients, system, typed):
    response = search(clients[system], system, typed)
    assert response.status_code == 400
    assert "personnummer" in response.text.lower()
    assert "Inga utbetalningar hittades" not in response.text
    assert "<form" in response.text  # the search form is offered again


# --- in-process checks of seeding rules (no extra server) ------------------------------------


def in_process(system: str, world: dict) -> TestClient:
    from importlib import import_module

    ctx = SystemContext(name=system, world=world, state_dir=Path(tempfile.mkdtemp(prefix=f"sim-{system}-")), reset=True)
    client = TestClient(import_module(f"simulators.{system}.app").create_app(ctx), follow_redirects=False)
    client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "next": "/"})
    return client


def pension_world() -> dict:
    world = copy.deepcopy(WORLD)
    pnr = "19990128-2880"
    world["registers"]["pm"] = [
        {"personnummer": pnr, "type": "pension", "period": "2026-12", "amount": 6860, "paid_on": "2026-12-18"},
        {"personnummer": pnr, "type": "bostadstillagg", "period": "2026-12", "amount": 2100, "paid_on": "2026-12-18"},
    ]
    return world


def test_pm_shows_months_in_swedish_with_paid_amount_and_links_to_earlier_years():
    client = in_process("pm", pension_world())
    page = lxml.html.fromstring(client.get(search_path("pm", "19990128-2880")).text)
    (table,) = page.xpath("//table[caption[normalize-space()='Utbetalningar 2026']]")
    headers = [text_of(th) for th in table.xpath("./thead//th")]
    rows = [dict(zip(headers, (text_of(td) for td in tr.xpath("./td")), strict=True))
            for tr in table.xpath("./tbody/tr")]
    december = {(row["Förmån"], row["Utbetalt belopp"]) for row in rows if row["Månad"] == "december 2026"}
    assert december == {("Allmän pension", "6 860 kr"), ("Bostadstillägg", "2 100 kr")}
    assert all(row["Månad"].endswith(" 2026") for row in rows)
    pension = next(row for row in rows if row["Månad"] == "december 2026" and row["Förmån"] == "Allmän pension")
    assert int(pension["Belopp före skatt"].replace(" ", "").removesuffix("kr")) > 6860
    (earlier,) = page.xpath("//nav[@aria-label='Välj år']//a[normalize-space()='2025']/@href")
    older = lxml.html.fromstring(client.get(earlier).text)
    months = [text_of(tr.xpath("./td[1]")[0]) for tr in older.xpath("//table/tbody/tr")]
    assert months and all(month.endswith(" 2025") for month in months)


@pytest.mark.parametrize("system", PORTALS)
def test_the_synthetic_history_never_adds_rows_in_an_application_period(system):
    world = pension_world() if system == "pm" else copy.deepcopy(WORLD)
    rows = world["registers"][system]
    pnr = rows[0]["personnummer"]
    for application in world["applications"]:
        application["period"] = "2026-10"  # an application period inside the synthetic range
    client = in_process(system, world)
    if system == "fk":
        html = "".join(client.get(f"{search_path(system, pnr)}&sida={page}").text for page in range(1, 5))
        shown = len(re.findall(r"<td>2026-10</td>", html))
    elif system == "csn":
        shown = client.get(f"{search_path(system, pnr)}&visa=alla").text.count("<dd>2026-10-01")
    elif system == "pm":
        shown = client.get(search_path(system, pnr)).text.count("oktober 2026")
    else:
        shown = client.post("/sok", data={"personnummer": pnr}).text.count("2026-10-01 –")
    assert shown == len(world_rows(system, pnr, "2026-10")) == 0
    control = in_process(system, pension_world() if system == "pm" else copy.deepcopy(WORLD))
    if system == "akassa":
        assert "2026-10-01 –" in control.post("/sok", data={"personnummer": pnr}).text
    elif system == "pm":
        assert "oktober 2026" in control.get(search_path(system, pnr)).text
    elif system == "csn":
        assert "<dd>2026-10-01" in control.get(search_path(system, pnr)).text
    else:
        assert "<td>2026-10</td>" in control.get(search_path(system, pnr)).text
