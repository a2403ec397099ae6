"""The e-service simulator over HTTP: inbox, detail, attachments, citizen filing, persistence.

Most tests use an in-process TestClient on `create_app` with its own state dir (fast, and free
to write); the login-guard test goes through the shared `simulators` process.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile

import httpx
import pypdf
import pytest
from docx import Document
from fastapi.testclient import TestClient
from PIL import Image

from simulators.attachments import render_attachment
from simulators.common.accounts import accounts
from simulators.common.web import SystemContext
from simulators.eservice.app import create_app
from tests.simulator_process import EXAMPLE_WORLD

ROBOT_PASSWORD = accounts("eservice")["robot"]


@pytest.fixture(scope="module")
def example_world() -> dict:
    return json.loads(EXAMPLE_WORLD.read_text(encoding="utf-8"))


def build_client(world: dict, state_dir, *, reset: bool = False) -> TestClient:
    ctx = SystemContext(name="eservice", world=world, state_dir=state_dir, reset=reset)
    return TestClient(create_app(ctx))


def logged_in(client: TestClient) -> TestClient:
    response = client.post("/login", data={"username": "robot", "password": ROBOT_PASSWORD, "next": "/inbox"})
    assert response.status_code == 200
    return client


@pytest.fixture(scope="module")
def caseworker(example_world, tmp_path_factory) -> TestClient:
    """A logged-in caseworker on an e-service of its own, seeded from the example world (read only)."""
    return logged_in(build_client(example_world, tmp_path_factory.mktemp("eservice-read")))


def inbox_ids(html: str) -> list[str]:
    return re.findall(r'data-application-id="(ANS-\d{4}-\d{6})"', html)


def citizen_login(client: TestClient, pnr: str) -> httpx.Response:
    return client.post("/medborgare/login", data={"personnummer": pnr})


# --- login ------------------------------------------------------------------------------------


def test_inbox_redirects_to_login_and_a_wrong_password_is_refused(simulators):
    base = simulators.urls["eservice"]
    with httpx.Client(base_url=base) as client:
        response = client.get("/inbox/ANS-2026-000001")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/inbox/ANS-2026-000001"
        refused = client.post("/login", data={"username": "robot", "password": "fel", "next": "/inbox"})
        assert refused.status_code == 401
        assert "Fel användarnamn eller lösenord" in refused.text
        assert client.get("/inbox").status_code == 303


def test_robot_login_opens_the_inbox_with_the_municipality_in_the_header(simulators, example_world):
    with httpx.Client(base_url=simulators.urls["eservice"], follow_redirects=True) as client:
        response = client.post("/login", data={"username": "robot", "password": ROBOT_PASSWORD, "next": "/inbox"})
    assert response.url.path == "/inbox"
    municipality = example_world["municipality"]
    assert f'<meta name="municipality" content="{municipality}">' in response.text
    assert f'<span class="kommun-namn">{municipality} kommun</span>' in response.text


# --- inbox ------------------------------------------------------------------------------------


def test_inbox_lists_the_twenty_example_applications_as_new(caseworker, example_world):
    html = caseworker.get("/inbox").text
    expected = sorted(a["application_id"] for a in example_world["applications"])
    assert sorted(inbox_ids(html)) == expected
    assert html.count('data-status="new"') == len(expected)
    assert "Sida 1 av 1" in html
    assert "2026-11-22 15:46" in html  # ANS-2026-000001 submitted_at, shown in local time


def test_inbox_pages_through_more_than_one_page(example_world, tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_ESERVICE_PAGE_SIZE", "8")
    client = logged_in(build_client(example_world, tmp_path))
    first = client.get("/inbox").text
    assert "Sida 1 av 3" in first
    assert "Föregående" not in first
    next_href = re.search(r'<a href="([^"]+)" rel="next">Nästa</a>', first).group(1)
    second = client.get(next_href.replace("&amp;", "&")).text
    third = client.get("/inbox?page=3").text
    assert "Sida 2 av 3" in second and "Föregående" in second
    assert "Sida 3 av 3" in third and "Nästa" not in third
    ids = inbox_ids(first) + inbox_ids(second) + inbox_ids(third)
    assert len(ids) == len(set(ids)) == len(example_world["applications"])
    assert [len(inbox_ids(p)) for p in (first, second, third)] == [8, 8, 4]


def test_inbox_with_more_than_25_applications_shows_25_per_page(example_world, tmp_path):
    world = copy.deepcopy(example_world)
    template = world["applications"][0]
    for number in range(21, 31):
        world["applications"].append({**copy.deepcopy(template), "application_id": f"ANS-2026-{number:06d}"})
    client = logged_in(build_client(world, tmp_path))
    first, second = client.get("/inbox").text, client.get("/inbox?page=2").text
    assert "Sida 1 av 2" in first
    assert (len(inbox_ids(first)), len(inbox_ids(second))) == (25, 5)


def test_status_and_period_filters_narrow_the_inbox(example_world, tmp_path):
    client = logged_in(build_client(example_world, tmp_path))
    client.post("/inbox/ANS-2026-000003/status", data={"status": "in_progress"})
    assert inbox_ids(client.get("/inbox?status=in_progress").text) == ["ANS-2026-000003"]
    assert "ANS-2026-000003" not in inbox_ids(client.get("/inbox?status=new").text)
    assert len(inbox_ids(client.get("/inbox?period=2026-12").text)) == 20
    empty = client.get("/inbox?period=2027-01").text
    assert inbox_ids(empty) == []
    assert "Inga ansökningar matchar filtret." in empty


# --- detail ---------------------------------------------------------------------------------


def test_detail_page_shows_household_incomes_costs_and_attachments(caseworker, example_world):
    html = caseworker.get("/inbox/ANS-2026-000002").text
    application = next(a for a in example_world["applications"] if a["application_id"] == "ANS-2026-000002")
    home = next(h for h in example_world["households"] if h["case_number"] == application["case_number"])
    assert "Återansökan" in html and application["case_number"] in html
    for member in home["members"]:
        assert f'data-personnummer="{member["personnummer"]}" data-role="{member["role"]}"' in html
        assert f"<td>{member['first_name']}</td>" in html
    assert "Sökande" in html and "Barn" in html
    for income in application["declared_incomes"]:
        amount = f"{income['amount']:,}".replace(",", " ") + " kr"
        assert f'data-type="{income["type"]}" data-amount="{income["amount"]}"' in html
        assert amount in html
    assert "Underhållsstöd" in html and "Barnbidrag" in html
    assert "6 200 kr" in html and "Hemförsäkring" in html
    for number, attachment in enumerate(application["attachments"], start=1):
        assert f'href="/inbox/ANS-2026-000002/attachments/{number}"' in html
        assert attachment["filename"] in html
    assert "Saldo på bankkonto" in html


def test_declared_members_limit_the_household_shown(example_world, tmp_path):
    world = copy.deepcopy(example_world)
    application = world["applications"][1]
    home = next(h for h in world["households"] if h["case_number"] == application["case_number"])
    application["declared_members"] = [home["members"][0]["personnummer"]]
    html = logged_in(build_client(world, tmp_path)).get(f"/inbox/{application['application_id']}").text
    shown = re.findall(r'<tr data-personnummer="([0-9-]+)" data-role=', html)
    assert shown == [home["members"][0]["personnummer"]]


def test_script_and_formula_in_the_message_are_shown_as_text(caseworker, example_world):
    message = next(a["message"] for a in example_world["applications"] if a["application_id"] == "ANS-2026-000018")
    html = caseworker.get("/inbox/ANS-2026-000018").text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "=HYPERLINK(&#34;http://example.invalid&#34;,&#34;klicka&#34;)" in html
    assert message[-50:] in html  # the long tail of å is not cut


def test_unknown_application_is_a_404_page(caseworker):
    response = caseworker.get("/inbox/ANS-2026-999999")
    assert response.status_code == 404
    assert "Ärendet finns inte." in response.text


# --- attachments ----------------------------------------------------------------------------


def test_world_pdf_attachment_downloads_with_the_amount_in_its_text_layer(caseworker):
    response = caseworker.get("/inbox/ANS-2026-000002/attachments/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="hyra-0.pdf"' in response.headers["content-disposition"]
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert text.count("Att betala:") == 1
    assert "Att betala: 6 200 kr" in text
    assert "Evelina Nilsson" in text  # the recipient, Swedish letters intact in Höörbyhem below
    assert "Höörbyhem AB" in text


def test_world_jpg_attachment_is_a_jpeg_image(caseworker):
    response = caseworker.get("/inbox/ANS-2026-000010/attachments/1")
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(response.content)).format == "JPEG"


@pytest.fixture(scope="module")
def every_format_client(example_world, tmp_path_factory) -> tuple[TestClient, dict]:
    """An e-service whose first application carries one attachment of each format."""
    world = copy.deepcopy(example_world)
    application = world["applications"][0]
    application["attachments"] = [
        {"filename": f"hyra.{fmt}", "cost_type": "hyra", "format": fmt, "amount": 7200}
        for fmt in ("pdf", "pdf_scanned", "png", "jpg", "docx", "corrupt")
    ]
    return logged_in(build_client(world, tmp_path_factory.mktemp("eservice-formats"))), application


def download(client: TestClient, application: dict, number: int) -> httpx.Response:
    response = client.get(f"/inbox/{application['application_id']}/attachments/{number}")
    assert response.status_code == 200
    return response


def test_text_pdf_states_exactly_one_amount_to_pay(every_format_client):
    client, application = every_format_client
    response = download(client, application, 1)
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert re.findall(r"Att betala: [0-9 ]+ kr", text) == ["Att betala: 7 200 kr"]
    assert "Varav moms 0 kr" in text


def test_scanned_pdf_is_a_pdf_without_text(every_format_client):
    client, application = every_format_client
    response = download(client, application, 2)
    assert response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    assert reader.pages[0].extract_text().strip() == ""
    assert reader.pages[0].images  # the invoice is there, as pixels


@pytest.mark.parametrize(("number", "media_type", "magic", "pil_format"), [
    (3, "image/png", b"\x89PNG\r\n\x1a\n", "PNG"),
    (4, "image/jpeg", b"\xff\xd8\xff", "JPEG"),
])
def test_images_have_their_signature(every_format_client, number, media_type, magic, pil_format):
    client, application = every_format_client
    response = download(client, application, number)
    assert response.headers["content-type"] == media_type
    assert response.content.startswith(magic)
    assert Image.open(io.BytesIO(response.content)).format == pil_format


def test_docx_opens_and_states_the_amount(every_format_client):
    client, application = every_format_client
    response = download(client, application, 5)
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument")
    paragraphs = [p.text for p in Document(io.BytesIO(response.content)).paragraphs]
    assert [p for p in paragraphs if p.startswith("Att betala")] == ["Att betala: 7 200 kr"]


def test_corrupt_file_opens_in_no_reader(every_format_client):
    client, application = every_format_client
    response = download(client, application, 6)
    assert response.headers["content-type"] == "application/octet-stream"
    assert 'filename="hyra.corrupt"' in response.headers["content-disposition"]
    content = response.content
    with pytest.raises(Exception):  # noqa: B017 - any reader error will do
        pypdf.PdfReader(io.BytesIO(content), strict=False).pages[0].extract_text()
    with pytest.raises(Exception):  # noqa: B017
        Image.open(io.BytesIO(content))
    with pytest.raises(zipfile.BadZipFile):
        Document(io.BytesIO(content))


def test_attachments_are_the_same_bytes_every_time(example_world):
    application = example_world["applications"][8]
    for fmt in ("pdf", "pdf_scanned", "png", "jpg", "docx", "corrupt"):
        attachment = {"filename": f"x.{fmt}", "cost_type": "tandvard", "format": fmt, "amount": 1200}
        assert render_attachment(example_world, application, attachment) == render_attachment(
            example_world, application, copy.deepcopy(attachment)
        ), fmt


def test_attachment_without_amount_states_the_declared_cost(example_world):
    application = example_world["applications"][1]  # declares hushallsel 350
    content, _ = render_attachment(
        example_world, application, {"filename": "el.pdf", "cost_type": "hushallsel", "format": "pdf"}
    )
    assert "Att betala: 350 kr" in pypdf.PdfReader(io.BytesIO(content)).pages[0].extract_text()


# --- citizen side ---------------------------------------------------------------------------


def test_bad_personnummer_shows_the_error_page(example_world, tmp_path):
    client = build_client(example_world, tmp_path)
    response = citizen_login(client, "19990128-2881")
    assert response.status_code == 400
    assert "Ogiltigt personnummer" in response.text
    assert client.get("/medborgare/ansokningar", follow_redirects=False).headers["location"] == "/medborgare"


def test_citizen_pages_do_not_need_the_caseworker_login(example_world, tmp_path):
    client = build_client(example_world, tmp_path)
    page = client.get("/medborgare", follow_redirects=False)
    assert page.status_code == 200
    assert "Logga in med BankID" in page.text
    citizen_login(client, "19990128-2880")
    assert client.get("/inbox", follow_redirects=False).status_code == 303  # still no caseworker session


def test_citizen_sees_own_applications_with_status_and_messages(example_world, tmp_path):
    client = logged_in(build_client(example_world, tmp_path))
    client.post("/inbox/ANS-2026-000002/messages", data={"text": "Vi behöver ett nytt hyresavtal."})
    client.post("/inbox/ANS-2026-000002/status", data={"status": "in_progress"})
    citizen_login(client, "19990128-2880")
    home = client.get("/medborgare/ansokningar").text
    assert inbox_ids(home) == ["ANS-2026-000002"]
    assert "Under handläggning" in home
    detail = client.get("/medborgare/ansokningar/ANS-2026-000002").text
    assert "Vi behöver ett nytt hyresavtal." in detail
    assert client.get("/medborgare/ansokningar/ANS-2026-000001").status_code == 404  # someone else's


def test_citizen_upload_round_trips_and_appears_in_the_inbox(example_world, tmp_path):
    client = logged_in(build_client(example_world, tmp_path))
    citizen_login(client, "19990128-2880")
    invoice, _ = render_attachment(
        example_world, example_world["applications"][1],
        {"filename": "hyra.pdf", "cost_type": "hyra", "format": "pdf", "amount": 6300},
    )
    photo = bytes(range(256)) * 40
    response = client.post(
        "/medborgare/ny",
        data={
            "period": "2027-01", "bank_balance": "1 250",
            "income_person_0": "19990128-2880", "income_type_0": "barnbidrag", "income_amount_0": "2 500",
            "cost_type_0": "hyra", "cost_amount_0": "6300", "cost_note_0": "Ny hyra från januari",
            "file_cost_type_0": "hyra", "file_cost_type_1": "tandvard",
            "message": "Hej!\r\n<b>fet</b>",
        },
        files={
            "file_0": ("hyresavi januari.pdf", invoice, "application/pdf"),
            "file_1": ("kvitto.jpg", photo, "image/jpeg"),
        },
    )
    assert response.status_code == 200
    new_id = response.url.path.rsplit("/", 1)[1]
    assert new_id == "ANS-2026-000021"
    assert "Tack! Din ansökan har kommit in" in response.text

    inbox = client.get("/inbox?status=new").text
    assert new_id in inbox_ids(inbox)
    detail = client.get(f"/inbox/{new_id}").text
    assert "2027-01" in detail and "1 250 kr" in detail and "Ny hyra från januari" in detail
    assert "Hej!\n&lt;b&gt;fet&lt;/b&gt;" in detail
    assert 'data-type="barnbidrag" data-amount="2500"' in detail
    first, second = client.get(f"/inbox/{new_id}/attachments/1"), client.get(f"/inbox/{new_id}/attachments/2")
    assert first.content == invoice and first.headers["content-type"] == "application/pdf"
    assert 'filename*=UTF-8\'\'hyresavi%20januari.pdf' in first.headers["content-disposition"]
    assert second.content == photo and second.headers["content-type"] == "image/jpeg"


def test_citizen_form_refuses_an_unsupported_file_type(example_world, tmp_path):
    client = build_client(example_world, tmp_path)
    citizen_login(client, "19990128-2880")
    response = client.post(
        "/medborgare/ny", data={"period": "2027-01", "file_cost_type_0": "hyra"},
        files={"file_0": ("program.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert response.status_code == 400
    assert "filtypen stöds inte" in response.text
    assert client.get("/medborgare/ansokningar").text.count("data-application-id") == 1


# --- writes persist -------------------------------------------------------------------------


def test_status_change_and_message_survive_a_restart(example_world, tmp_path):
    client = logged_in(build_client(example_world, tmp_path, reset=True))
    client.post("/inbox/ANS-2026-000005/status", data={"status": "ready"})
    client.post("/inbox/ANS-2026-000005/messages", data={"text": "Komplettera med kontoutdrag.\r\nTack!"})

    restarted = logged_in(build_client(example_world, tmp_path))
    html = restarted.get("/inbox/ANS-2026-000005").text
    assert 'data-field="status" data-value="ready">Klar för beslut<' in html
    assert "Komplettera med kontoutdrag.\nTack!" in html
    assert inbox_ids(restarted.get("/inbox?status=ready").text) == ["ANS-2026-000005"]

    reseeded = logged_in(build_client(example_world, tmp_path, reset=True))
    assert 'data-value="new">Ny<' in reseeded.get("/inbox/ANS-2026-000005").text


def test_unknown_status_is_refused(example_world, tmp_path):
    client = logged_in(build_client(example_world, tmp_path))
    response = client.post("/inbox/ANS-2026-000006/status", data={"status": "arkiverad"})
    assert response.status_code == 400
    assert 'data-value="new"' in client.get("/inbox/ANS-2026-000006").text
