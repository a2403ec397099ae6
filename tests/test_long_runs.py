"""Long runs keep their memory flat (issue 19): browser contexts renewed between items with the
logins kept, and a batch run worked in several Robot Framework runs, one run folder, one summary.

The end-to-end test renews the contexts every 3 items and starts a new Robot Framework run every
7 items on the example world, with two applications in flight: every outcome must still be the
world's `expected`, once, and no system may ask the bot to log in again after the first login.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from bistand.bot.recycle import MIN_ITEMS_BETWEEN_MEMORY_RECYCLES, RecyclePolicy, tree_pss_mib
from bistand.bot.summary import ItemResult, RunSummary
from bistand.run.work import part_limit
from simulators.common.accounts import accounts
from tests.bot_harness import bot_env, export, load_world, run_bot
from tests.simulator_process import Simulators, free_base_port

# -- the policy ------------------------------------------------------------------------------


def test_contexts_are_renewed_after_every_n_items():
    policy = RecyclePolicy(every_items=25)
    assert policy.reason(24) == ""
    assert policy.reason(25) == "25 items"
    assert not policy.measures_memory


def test_a_memory_limit_renews_the_contexts_once_passed_but_not_after_every_item():
    policy = RecyclePolicy(limit_mib=700)
    assert policy.measures_memory
    assert policy.reason(40, pss_mib=650) == ""
    assert policy.reason(40, pss_mib=720) == "720 MiB > 700 MiB"
    assert policy.reason(MIN_ITEMS_BETWEEN_MEMORY_RECYCLES - 1, pss_mib=900) == ""


def test_no_policy_never_renews():
    assert RecyclePolicy().reason(10_000, pss_mib=10_000) == ""


def test_the_pss_of_this_process_tree_is_measured():
    assert 5 < tree_pss_mib() < 4096


def test_a_batch_run_is_cut_at_the_rotation_and_at_what_is_left_of_its_items():
    assert part_limit(rotate_items=500, items=0, done=0) == 500
    assert part_limit(rotate_items=500, items=1200, done=1000) == 200
    assert part_limit(rotate_items=0, items=30, done=10) == 20
    assert part_limit(rotate_items=0, items=0, done=10) == 0


def test_the_summary_of_several_parts_covers_every_item_and_adds_the_counts():
    def part(ids: list[str], logins: dict[str, int], renewals: int, stopped: str = "") -> RunSummary:
        return RunSummary(mode="support", started_at=datetime(2026, 12, 1, 8, tzinfo=UTC),
                          finished_at=datetime(2026, 12, 1, 9, tzinfo=UTC), stopped_reason=stopped,
                          items=[ItemResult(application_id=i, outcome="DONE", seconds=1.0) for i in ids],
                          logins=logins, retried_requests={"fk": 1}, context_renewals=renewals)

    combined = RunSummary.combined({".": part(["A", "B"], {"fk": 1, "af": 1}, 2),
                                    "part-2": part(["C"], {"fk": 0, "af": 1}, 1, stopped="fk down")})
    assert [i.application_id for i in combined.items] == ["A", "B", "C"]
    assert combined.logins == {"af": 2, "fk": 1} and combined.retried_requests == {"fk": 2}
    assert combined.context_renewals == 3 and combined.parts == [".", "part-2"]
    assert combined.stopped_reason == "fk down"


def test_a_written_summary_reads_back_the_same(tmp_path):
    summary = RunSummary(mode="support", started_at=datetime(2026, 12, 1, 8, tzinfo=UTC),
                         finished_at=datetime(2026, 12, 1, 9, tzinfo=UTC), logins={"fk": 1}, context_renewals=4,
                         items=[ItemResult(application_id="A", outcome="BUSINESS", code="X", seconds=2.5)])
    json_path, _ = summary.write(tmp_path)
    assert RunSummary.read(json_path).as_json() == summary.as_json()


# -- end to end ------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.browser
def test_renewed_contexts_and_rotated_runs_keep_the_logins_and_the_outcomes(tmp_path, example_world_path):
    world = load_world(example_world_path)
    sims = Simulators(world=example_world_path, state_dir=tmp_path / "sims", base_port=free_base_port())
    sims.start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "support", BISTAND_RECYCLE_ITEMS="3", BISTAND_ROTATE_ITEMS="7",
                      BISTAND_IN_FLIGHT="2")
        run = run_bot(env, "run")
        latest = export(sims)["latest_decision_basis"]
    finally:
        sims.stop()
    assert run.code == 0, run.output[-3000:]
    assert run.last_line.startswith("OK: 20 items processed")
    for application_id, expected in world["expected"].items():
        got = latest[application_id]
        assert (got["proposal"], got["amount"], sorted(got["findings"]), got["count"]) == (
            expected["proposal"], expected["amount"], sorted(expected.get("findings", [])), 1), application_id

    run_dir = (tmp_path / "output" / "latest").resolve()
    summary = json.loads((run_dir / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["items"] == 20 and summary["outcomes"] == {"DONE": 20}
    assert summary["parts"] == [".", "part-2", "part-3"]
    for part in summary["parts"]:
        assert (run_dir / part / "log.html").exists() and (run_dir / part / "output.xml").exists()
    # 7 + 7 + 6 items: due after 3 items, renewed once those in flight have finished (at least
    # once in each part; twice when nothing was in flight at the due time)
    assert summary["context_renewals"] >= 3
    assert re.search(r"Browser contexts renewed after \d+ items", (run_dir / "output.xml").read_text(encoding="utf-8"))
    # at most one login per system in the whole run (the e-service's, kept from the producer's run,
    # none): the renewed contexts kept the logins, and the later parts logged in nowhere
    assert len(summary["logins"]) == 8 and all(count <= 1 for count in summary["logins"].values())
    for part in summary["parts"][1:]:
        assert set(json.loads((run_dir / part / "run-summary.json").read_text())["logins"].values()) == {0}


# -- tabs and the report page are renewed as they go -------------------------------------------


@pytest.mark.browser
def test_a_pooled_tab_is_closed_after_its_uses_and_a_fresh_one_opened(browser_session):
    from bistand.pages.base import TAB_USES, Credentials, PortalPage

    async def uses() -> tuple[bool, bool, bool]:
        context = await browser_session.context("tab-uses")
        login = Credentials(username="robot", password=accounts("fk")["robot"])
        portal = PortalPage(context, "http://127.0.0.1:9", login)
        first = await portal.new_page()
        await portal.release(first)
        for _ in range(TAB_USES - 2):
            again = await portal.new_page()
            assert again is first  # reused while it has uses left
            await portal.release(again)
        last = await portal.new_page()
        await portal.release(last)
        fresh = await portal.new_page()
        await portal.release(fresh)
        await browser_session.reset_context("tab-uses")
        return last is first, first.is_closed(), fresh is not first

    assert browser_session.run(uses()) == (True, True, True)


@pytest.mark.browser
def test_the_report_page_is_renewed_after_its_prints(browser_session):
    from bistand.report import pdf

    async def prints() -> tuple[int, bool]:
        pages = []
        for _ in range(pdf.PRINTS_PER_PAGE + 1):
            data = await pdf._print(browser_session, "<html><body><h1>Rapport</h1></body></html>")
            assert data.startswith(b"%PDF")
            context = browser_session.contexts[pdf.REPORT_CONTEXT]
            pages.extend(page for page in context.pages if page not in pages)
        return len(pages), pages[0].is_closed()

    assert browser_session.run(prints()) == (2, True)


def test_a_batch_run_goes_on_in_a_new_part_only_after_a_full_part_and_while_items_are_due(tmp_path):
    from bistand.run.work import another_part_due, queue_for
    from bistand.settings import load

    env = load(environ={"BISTAND_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}"})
    assert not another_part_due(500, 500, "", False, True, env)  # the queue is empty
    store = queue_for(env)
    store.add("ANS-2026-000001", {"application_id": "ANS-2026-000001"})
    store.close()
    assert another_part_due(500, 500, "", False, True, env)
    assert not another_part_due(500, 499, "", False, True, env)  # it ran out of items
    assert not another_part_due(500, 500, "3 system errors in a row", False, True, env)
    assert not another_part_due(500, 500, "", True, True, env)  # SIGTERM
    assert not another_part_due(0, 20, "", False, True, env)  # no rotation
    assert another_part_due(500, 500, "", False, False, env)  # polling: new items may come
