"""Retries at the right level (issue 15 §3): a failed read is tried again on its own before it
fails the application's try; a write is tried again only after a fresh look shows it did not land;
what an earlier try read is kept, so the next try asks only what failed."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bistand.core.errors import ApplicationError
from bistand.core.personnummer import Personnummer
from bistand.pages.base import Credentials, ReadRetry, TransientError, write_safely
from bistand.pages.fk import FkPage
from simulators.common.accounts import accounts
from tests.bot_harness import bot_env, export, load_world, run_bot, subset_world
from tests.simulator_process import EXAMPLE_WORLD, Simulators, free_base_port

APPLICANT = Personnummer("19700215-5526")  # ANS-2026-000001's applicant, a single household


def set_fault(url: str, **body) -> None:
    httpx.post(f"{url}/_sim/faults", json=body, timeout=10).raise_for_status()


def faults_seen(url: str) -> dict[str, dict]:
    return {rule["path"]: rule for rule in httpx.get(f"{url}/_sim/faults", timeout=10).json()["faults"]}


@pytest.fixture
def faulty_simulators(tmp_path):
    sims = Simulators(world=EXAMPLE_WORLD, state_dir=tmp_path / "sims", base_port=free_base_port(),
                      faults=True).start(reset=True)
    yield sims
    sims.stop()


def fk_lookup(browser_session, sims, tries: int = 3):
    """(the applicant's FK payments or the error, how many requests were tried again)."""
    async def lookup():
        context = await browser_session.browser.new_context()
        page = FkPage(context, sims.urls["fk"], Credentials(username="robot", password=accounts("fk")["robot"]),
                      read_retry=ReadRetry(tries=tries, first_wait_s=0.01, max_wait_s=0.05))
        try:
            return await page.payments(APPLICANT, "2026-12"), page.retried_requests
        except ApplicationError as exc:
            return exc, page.retried_requests
        finally:
            await context.close()
    return browser_session.run(lookup())


@pytest.mark.browser
def test_a_read_answered_503_twice_is_tried_again_and_succeeds(browser_session, faulty_simulators):
    clean, _ = fk_lookup(browser_session, faulty_simulators)
    set_fault(faulty_simulators.urls["fk"], path="/", status=503, count=2)
    payments, retried = fk_lookup(browser_session, faulty_simulators)
    assert payments == clean and retried == 2


@pytest.mark.browser
def test_a_read_that_fails_every_try_fails_as_a_system_error(browser_session, faulty_simulators):
    set_fault(faulty_simulators.urls["fk"], path="/", status=504, count=3)
    error, retried = fk_lookup(browser_session, faulty_simulators, tries=3)
    assert isinstance(error, TransientError) and error.code == "SYSTEM_UNAVAILABLE" and "504" in error.message
    assert retried == 2


@pytest.mark.browser
def test_an_internal_server_error_is_not_tried_again(browser_session, faulty_simulators):
    set_fault(faulty_simulators.urls["fk"], path="/", status=500, count=1)
    error, retried = fk_lookup(browser_session, faulty_simulators)
    assert isinstance(error, ApplicationError) and not isinstance(error, TransientError) and retried == 0


class FlakySystem:
    """A system whose write lands, then answers 503 (the worst case for a retry)."""

    def __init__(self, fail_after_landing: int) -> None:
        self.saved: list[str] = []
        self.fail_after_landing = fail_after_landing
        self.read_retry = ReadRetry(tries=3, first_wait_s=0.001, max_wait_s=0.002)
        self.retried_requests = 0

    def count_retry(self, _state) -> None:
        self.retried_requests += 1

    async def write(self) -> None:
        self.saved.append("basis")
        if self.fail_after_landing:
            self.fail_after_landing -= 1
            raise TransientError("SYSTEM_UNAVAILABLE", "casemgmt: the save answered HTTP 503")

    async def landed(self) -> bool:
        return bool(self.saved)


def test_a_write_that_landed_before_its_503_is_not_written_again():
    system = FlakySystem(fail_after_landing=1)
    wrote = asyncio.run(write_safely(system, system.write, system.landed))
    assert (wrote, system.saved, system.retried_requests) == (False, ["basis"], 1)


def test_a_write_is_tried_again_when_the_fresh_look_shows_it_did_not_land():
    system = FlakySystem(fail_after_landing=0)
    attempts: list[int] = []

    async def refused_then_saved() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise TransientError("TIMEOUT", "casemgmt: the save timed out")
        await system.write()

    assert asyncio.run(write_safely(system, refused_then_saved, system.landed)) is True
    assert system.saved == ["basis"] and len(attempts) == 2


@pytest.mark.e2e
@pytest.mark.browser
def test_the_next_try_of_an_application_reads_only_what_failed(tmp_path):
    """FK fails every try of its first read (3 requests): the application's first try fails; its
    second reads FK again but not the two attachments the first try already downloaded."""
    world = subset_world(load_world(EXAMPLE_WORLD), ["ANS-2026-000001"], tmp_path / "world.json")
    sims = Simulators(world=world, state_dir=tmp_path / "sims", base_port=free_base_port(), faults=True)
    sims.start(reset=True)
    try:
        set_fault(sims.urls["fk"], path="/utbetalningar", status=503, count=3, delay_ms=300)
        attachments = "/inbox/ANS-2026-000001/attachments"
        set_fault(sims.urls["eservice"], path=attachments, delay_ms=1)  # counts the downloads
        result = run_bot(bot_env(sims, tmp_path, "support", BISTAND_READ_TRIES="3"), "run")
        downloads = faults_seen(sims.urls["eservice"])[attachments]["requests_seen"]
        latest = export(sims)["latest_decision_basis"]
    finally:
        sims.stop()
    assert result.code == 0, result.output[-3000:]
    summary = json.loads((tmp_path / "output" / "latest" / "run-summary.json").read_text())
    (item,) = summary["per_item"]
    assert item["attempts"] == 2 and summary["retried_requests"]["fk"] == 2
    assert downloads == 2  # two attachments, downloaded once
    assert latest["ANS-2026-000001"]["count"] == 1
