"""Untrusted input: application ids read from the e-service or a work item, attachments and frame
workbooks. Each hostile value was used as it came before issue 16 (ids in paths and log links,
an attachment read whole before the size check, a frame workbook of filler loaded whole)."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook

from bistand.bot.inbox import new_applications
from bistand.bot.keywords.casework import work_from_payload
from bistand.core.documents import MAX_BYTES, PROBLEM_TOO_LARGE, read_attachment
from bistand.core.errors import BusinessError
from bistand.core.frames import MAX_FILLED_CELLS, read_frame
from bistand.core.ids import checked_application_id
from bistand.core.models import CostType, FrameStatus
from bistand.dashboard.server import BackgroundServer
from bistand.pages.eservice import EServicePage

HOSTILE_IDS = [
    "../../etc/passwd", "ANS-2026-000001/../../x", "<script>alert(1)</script>", "ANS-2026-0000011",
    "ANS-2026-00001", "ans-2026-000001", "ANS-2026-000001\n", " ANS-2026-000001", "19850312-1234",
    "ANS-２０２６-000001", "ANS-2026-000001\x00", '"><img src=x onerror=alert(1)>', "", None,
]


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_an_application_id_not_of_the_e_services_form_is_refused_without_repeating_it(value):
    with pytest.raises(BusinessError) as refused:
        checked_application_id(value)
    assert refused.value.code == "APPLICATION_ID_INVALID"
    assert not value or value.strip() not in str(refused.value)


@pytest.mark.parametrize("value", ["../../etc/passwd", "<b>x</b>", "19850312-1234"])
def test_a_work_item_with_a_hostile_id_fails_as_bad_data_before_any_file_is_named(value):
    with pytest.raises(BusinessError, match="APPLICATION_ID_INVALID"):
        work_from_payload({"application_id": value, "case_number": "EB-2026-0001", "period": "2026-12"})


def test_the_inbox_queues_only_applications_with_a_well_formed_id():
    rows = [SimpleNamespace(application_id=value, case_number="EB-2026-0001", period="2026-12")
            for value in ["ANS-2026-000001", "../../x", "<script>", "ANS-2026-000002"]]

    class Inbox:
        async def list_applications(self, _status):
            return rows

    class Context:
        async def page(self, _system):
            return Inbox()

    found = asyncio.run(new_applications(Context()))
    assert [a.application_id for a in found] == ["ANS-2026-000001", "ANS-2026-000002"]


@pytest.fixture
def huge_attachment_server():
    """An e-service whose attachment is 40 MB, sent in 64 KiB pieces as long as someone reads."""
    app = FastAPI()
    sent = {"bytes": 0}

    @app.get("/inbox/ANS-2026-000001/attachments/1")
    def attachment(request: Request) -> Response:
        if request.cookies.get("session") != "inloggad":
            return Response(status_code=403)

        def pieces():
            yield b"%PDF-1.7\n" + b"0" * (65536 - 9)
            for _ in range(639):
                sent["bytes"] += 65536
                yield b"0" * 65536
        return StreamingResponse(pieces(), media_type="application/pdf")

    with BackgroundServer(app) as server:
        yield server.url, sent


def test_an_attachment_over_10_mb_is_cut_at_the_limit_and_read_as_too_large(huge_attachment_server):
    url, sent = huge_attachment_server

    class Context:
        async def cookies(self, _url):
            return [{"name": "session", "value": "inloggad"}]

    page = SimpleNamespace(context=Context(), _downloads=None)

    async def download():
        try:
            return await EServicePage._stream_download(page, f"{url}/inbox/ANS-2026-000001/attachments/1")
        finally:
            await EServicePage.close(page)

    status, _final, body = asyncio.run(download())
    assert status == 200
    assert len(body) == MAX_BYTES + 1
    assert sent["bytes"] < 30 * 2**20, "the whole 40 MiB file was sent: nothing stopped reading"
    attachment = read_attachment("faktura.pdf", next(iter(CostType)), body)
    assert attachment.readable is False and attachment.problem == PROBLEM_TOO_LARGE


def filler_workbook(path: Path, cells: int) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Referensram")
    for row in range(cells // 20 + 1):
        sheet.append([f"utfyllnad {row}-{column}" for column in range(20)])
    workbook.save(path)


def test_a_frame_workbook_of_filler_is_a_finding_read_in_constant_memory(tmp_path):
    path = tmp_path / "EB-2026-0001.xlsx"
    filler_workbook(path, 60_000)
    started = time.perf_counter()
    read_frame(path, "EB-2026-0001")
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        reading = read_frame(path, "EB-2026-0001")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reading.status is FrameStatus.INVALID
    assert f"fler än {MAX_FILLED_CELLS:,} ifyllda celler".replace(",", " ") in reading.problem
    assert reading.problem.startswith("EB-2026-0001.xlsx, blad Referensram: ")
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MiB to refuse a filler workbook"
    print(f"filler frame ({path.stat().st_size / 2**20:.1f} MB): refused in {seconds:.2f} s, "
          f"peak {peak / 2**20:.1f} MiB")


def test_a_frame_file_that_is_not_a_workbook_is_a_finding(tmp_path):
    path = tmp_path / "EB-2026-0001.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    reading = read_frame(path, "EB-2026-0001")
    assert reading.status is FrameStatus.INVALID and "inte en Excel-arbetsbok" in reading.problem
