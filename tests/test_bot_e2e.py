"""The bot end to end: real simulators, real Chromium, real Robot Framework runs.

Support mode on the shared example world must give exactly the world's `expected` outcomes in
the case-management system, change the e-service statuses, leak no personal data into logs,
and write nothing new when run again. Automated mode decides the standard re-applications.
"""

from __future__ import annotations

import json
import shutil

import openpyxl
import pytest

from bistand.pages.base import Credentials
from simulators.common.accounts import accounts
from tests.bot_harness import bot_env, export, leaks, load_world, log_files, run_bot, subset_world, world_people
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def example_world(example_world_path):
    return load_world(example_world_path)


@pytest.fixture(scope="module")
def support_run(tmp_path_factory, example_world_path):
    """One support-mode run on a fresh example world, then a second run (idempotence)."""
    work = tmp_path_factory.mktemp("bot-support")
    sims = Simulators(world=example_world_path, state_dir=work / "sims", base_port=free_base_port()).start(reset=True)
    env = bot_env(sims, work, "support", BISTAND_IN_FLIGHT="2")  # the in-flight path, checked end to end
    first = run_bot(env, "run")
    after_first = export(sims)
    summary_path = work / "output" / "latest" / "run-summary.json"
    summary_after_first = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    xlsx_after_first = work / "run-summary-first.xlsx"
    if (work / "output" / "latest" / "run-summary.xlsx").exists():
        shutil.copy(work / "output" / "latest" / "run-summary.xlsx", xlsx_after_first)
    second = run_bot(env, "run")
    after_second = export(sims)
    yield {"sims": sims, "env": env, "work": work, "first": first, "second": second,
           "after_first": after_first, "after_second": after_second,
           "summary_after_first": summary_after_first, "xlsx_after_first": xlsx_after_first}
    sims.stop()


def test_support_run_succeeds_with_exit_code_zero(support_run):
    first = support_run["first"]
    assert first.code == 0, first.output[-3000:]
    assert first.last_line.startswith("OK: 20 items processed")


def test_every_application_gets_the_expected_proposal_amount_and_findings(support_run, example_world):
    latest = support_run["after_first"]["latest_decision_basis"]
    for application_id, expected in example_world["expected"].items():
        got = latest.get(application_id)
        assert got is not None, f"no decision basis for {application_id}"
        assert (got["proposal"], got["amount"], sorted(got["findings"])) == (
            expected["proposal"], expected["amount"], sorted(expected.get("findings", []))
        ), application_id
        assert got["count"] == 1, application_id


def test_the_pasted_report_explains_the_amount(support_run, example_world):
    cases = {c["case_number"]: c for c in support_run["after_first"]["cases"]}
    basis = next(b for b in cases["EB-2026-0001"]["decision_bases"] if b["application_id"] == "ANS-2026-000001")
    assert "11 850 kr" in basis["report_text"]
    assert "19700215-5526" in basis["report_text"]  # the caseworker needs the full number


def test_e_service_statuses_move_to_ready_for_decision(support_run, browser_session):
    from bistand.pages.eservice import EServicePage

    sims = support_run["sims"]

    async def statuses():
        context = await browser_session.browser.new_context()
        try:
            page = EServicePage(context, sims.urls["eservice"],
                                Credentials(username="robot", password=accounts("eservice")["robot"]))
            return {row.application_id: row.status for row in await page.list_applications(None)}
        finally:
            await context.close()

    result = browser_session.run(statuses())
    assert len(result) == 20
    assert set(result.values()) == {"Klar för beslut"}


def test_no_personal_data_in_logs_or_console(support_run, example_world):
    numbers, names = world_people(example_world)
    out = support_run["work"] / "output"
    files = log_files(out)
    assert {p.name for p in files} >= {"output.xml", "log.html"}
    for path in files:
        assert leaks(path.read_text(encoding="utf-8", errors="replace"), numbers, names) == [], path
    assert leaks(support_run["first"].output, numbers, names) == []


def test_run_summary_counts_outcomes_and_findings(support_run, example_world):
    summary = support_run["summary_after_first"]
    assert summary["items"] == 20
    assert summary["outcomes"] == {"DONE": 20}
    expected_findings: dict[str, int] = {}
    for expected in example_world["expected"].values():
        for code in expected.get("findings", []):
            expected_findings[code] = expected_findings.get(code, 0) + 1
    assert summary["findings"] == dict(sorted(expected_findings.items()))
    assert 0 < summary["median_seconds"] <= summary["p95_seconds"]
    workbook = openpyxl.load_workbook(support_run["xlsx_after_first"])
    assert [row[0].value for row in workbook["Ärenden"].iter_rows(min_row=2)] == [
        item["application_id"] for item in summary["per_item"]
    ]


def test_second_run_writes_nothing_new(support_run):
    second = support_run["second"]
    assert second.code == 0, second.output[-2000:]
    assert "Nothing to do" in second.last_line
    before, after = support_run["after_first"], support_run["after_second"]
    assert before == after


AUTOMATED_SAMPLE = [
    "ANS-2026-000001", "ANS-2026-000003", "ANS-2026-000004", "ANS-2026-000014", "ANS-2026-000016",
    "ANS-2026-000006", "ANS-2026-000010",
]


def eservice_view(browser_session, url: str, application_ids: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Status and message texts of each application, read through the e-service's pages."""
    from bistand.pages.eservice import EServicePage

    async def read():
        context = await browser_session.browser.new_context()
        try:
            page = EServicePage(context, url, Credentials(username="robot", password=accounts("eservice")["robot"]))
            view = {}
            for application_id in application_ids:
                messages = await page.messages(application_id)
                view[application_id] = (await page.status(application_id), [m.text for m in messages])
            return view
        finally:
            await context.close()

    return browser_session.run(read())


def test_automated_mode_decides_standard_reapplications(tmp_path, example_world, browser_session):
    """Approvals (plain, capped, with assets), a reject on derived norm figures, a first
    application and two manual reviews: only the standard re-applications are decided, paid and
    told; a first application and a norm built on derived figures go to a caseworker."""
    world_path = subset_world(example_world, AUTOMATED_SAMPLE, tmp_path / "world.json")
    world = load_world(world_path)
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        result = run_bot(bot_env(sims, tmp_path, "automated"), "run")
        assert result.code == 0, result.output[-3000:]
        data = export(sims)
        eservice = eservice_view(browser_session, sims.urls["eservice"], AUTOMATED_SAMPLE)
    finally:
        sims.stop()
    latest = data["latest_decision_basis"]
    decided = {}
    paid = {}
    for case in data["cases"]:
        for decision in case["decisions"]:
            decided[decision["application_id"]] = (decision["decision"], decision["amount"])
        for payment in case["payments"]:
            paid[payment["application_id"]] = payment["amount"]
    expected_decided = {}
    assert set(latest) == set(AUTOMATED_SAMPLE)
    for application_id, expected in world["expected"].items():
        got = latest[application_id]
        if {"FIRST_APPLICATION", "NORM_UNVERIFIED"} & set(expected["findings"]):  # blocking when automated
            assert got["proposal"] == "manual_review" and got["amount"] == expected["amount"], application_id
            continue
        assert (got["proposal"], got["amount"]) == (expected["proposal"], expected["amount"]), application_id
        if expected["proposal"] in ("approve", "reject"):
            expected_decided[application_id] = (expected["proposal"], expected["amount"])
    assert decided == expected_decided
    assert paid == {k: amount for k, (decision, amount) in expected_decided.items() if decision == "approve"}
    for application_id in AUTOMATED_SAMPLE:
        status, messages = eservice[application_id]
        if application_id in expected_decided:
            decision, amount = expected_decided[application_id]
            assert status == "Beslutad", application_id
            assert len(messages) == 1, application_id
            word = "beviljad" if decision == "approve" else "avslagen"
            assert word in messages[0] and "december 2026" in messages[0], application_id
            assert "förvaltningsrätten" in messages[0] and "delegationsordning" in messages[0], application_id
            if decision == "approve":
                assert f"{amount:,}".replace(",", " ") + " kr" in messages[0]
        else:
            assert status == "Klar för beslut" and len(messages) == 1, application_id
            assert "En handläggare" in messages[0] and " kr" not in messages[0], application_id


def test_each_run_keeps_its_own_evidence_and_each_item_is_a_task_in_its_log(support_run, example_world):
    from robot.api import ExecutionResult

    output = support_run["work"] / "output"
    runs = sorted((output / "runs").iterdir())
    assert len(runs) == 2 and (output / "latest").resolve() == runs[-1]
    first = ExecutionResult(str(runs[0] / "output.xml")).suite  # not overwritten by the second run
    items = {task.name: task.message for task in first.tests if task.name.startswith("ANS-")}
    assert items == {application_id: "DONE" for application_id in example_world["expected"]}
    assert json.loads((runs[0] / "run-summary.json").read_text())["items"] == 20
    assert (runs[0] / "producer" / "log.html").exists() and (runs[1] / "producer" / "log.html").exists()



def test_several_applications_are_in_flight_and_each_is_still_a_task_of_its_own(support_run):
    """Issue 10 part 6: while the suite works on one application the runner has taken the next
    from the queue and prepared it ahead; the suite then finds its steps done (or under way)."""
    import xml.etree.ElementTree as ET

    from robot.api import ExecutionResult

    runs = sorted((support_run["work"] / "output" / "runs").iterdir())
    messages = [msg.text or "" for msg in ET.parse(runs[0] / "output.xml").iter("msg")]  # noqa: S314 - our own run
    ahead = {m.split()[0] for m in messages if "was taken ahead" in m}
    tasks = [task.name for task in ExecutionResult(str(runs[0] / "output.xml")).suite.tests
             if task.name.startswith("ANS-")]
    assert len(tasks) == 20
    assert len(ahead) >= len(tasks) - 1  # all but the first item, which nothing was ahead of
    assert ahead <= set(tasks)


def test_every_application_has_its_report_in_text_html_and_a_whole_pdf(support_run, example_world):
    """The PDF prints while the decision basis is written; the item is done only once it is."""
    reports = support_run["work"] / "output" / "reports"
    for application_id in example_world["expected"]:
        pdf = (reports / f"{application_id}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF"), application_id
        assert (reports / f"{application_id}.txt").stat().st_size > 0
        assert (reports / f"{application_id}.html").stat().st_size > 0
