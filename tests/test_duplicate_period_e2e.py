"""One month, one decision (RULES.md §5, DUPLICATE_PERIOD), through the real bot in automated mode.

Two applications of one case for the same month are both flagged, whichever is worked first and
with one runner or two; an application for a month the case already has a decision for is flagged;
the same household's application for another month is not; a rerun of an application the bot
itself decided is not flagged by its own decision. None of the flagged ones is decided, paid or
told of a decision.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bistand.core.engine import assess
from bistand.core.models import Mode
from bistand.core.world_bundles import bundles_from_world, outcome_of
from bistand.pages.eservice import parse_messages
from tests.bot_harness import bot_env, export, load_world, run_bot, start_runner, writes_per_application
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FIRST, SECOND = "ANS-2026-000001", "ANS-2026-000021"  # one case, one month, filed twice
ALREADY_DECIDED = "ANS-2026-000013"  # its case has a decision for the month in its history
OTHER_MONTH = "ANS-2026-000022"  # ANS-2026-000018's household, for a month with no decision
STANDARD = ["ANS-2026-000004", "ANS-2026-000018"]  # decided by the bot; 04 is then rerun
DUPLICATES = {FIRST, SECOND, ALREADY_DECIDED}
DECIDED_NOTICE = "Beslut om ekonomiskt bistånd"


def duplicate_world(example: dict, out: Path, *, second_first: bool = False) -> Path:
    """The example world cut to a few applications, with a second filing of ANS-2026-000001, a
    decision for the month in ANS-2026-000013's case and an application for another month."""
    world = copy.deepcopy(example)
    apps = {a["application_id"]: a for a in world["applications"]}
    first = apps[FIRST]
    filed = datetime.fromisoformat(first["submitted_at"]) + timedelta(hours=-2 if second_first else 20)
    second = {**copy.deepcopy(first), "application_id": SECOND, "submitted_at": filed.isoformat()}
    other_month = {**copy.deepcopy(apps["ANS-2026-000018"]), "application_id": OTHER_MONTH, "period": "2026-05"}
    world["applications"] = [apps[i] for i in (FIRST, ALREADY_DECIDED, *STANDARD)] + [second, other_month]
    decided_case = next(h for h in world["households"] if h["case_number"] == apps[ALREADY_DECIDED]["case_number"])
    decided_case["previous_decisions"].insert(0, {"period": "2026-12", "decision": "approve", "amount": 9100})
    world["expected"] = {}
    out.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    return out




def messages_to_applicants(url: str, application_ids: list[str]) -> dict[str, list[str]]:
    """The messages each application shows in the caseworker's e-service (read with the bot's parser)."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
        client.post("/login", data={"username": "demo", "password": "demo", "next": "/inbox"}).raise_for_status()
        return {i: [m.text for m in parse_messages(client.get(f"/inbox/{i}").text)] for i in application_ids}




@pytest.fixture(scope="module")
def one_runner(tmp_path_factory, example_world_path):
    """Automated mode, one runner (`run`), then a replay of ANS-2026-000004, which it decided."""
    work = tmp_path_factory.mktemp("duplicates-one-runner")
    world_path = duplicate_world(load_world(example_world_path), work / "world.json")
    sims = Simulators(world=world_path, state_dir=work / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, work, "automated")
        run = run_bot(env, "run")
        after_run = export(sims)
        item = work / "rerun.json"
        item.write_text(json.dumps([{"payload": {"application_id": "ANS-2026-000004", "case_number": "EB-2026-0004",
                                                 "period": "2026-12"}, "files": {}}]), encoding="utf-8")
        rerun = run_bot(env, "replay", str(item))
        after_rerun = export(sims)
        rerun_summary = json.loads((work / "output" / "latest" / "run-summary.json").read_text(encoding="utf-8"))
        ids = [a["application_id"] for a in load_world(world_path)["applications"]]
        messages = messages_to_applicants(sims.urls["eservice"], ids)
    finally:
        sims.stop()
    yield {"world": load_world(world_path), "run": run, "after_run": after_run, "rerun": rerun,
           "after_rerun": after_rerun, "rerun_summary": rerun_summary, "messages": messages}


def test_duplicates_are_flagged_and_every_outcome_follows_the_rules(one_runner):
    assert one_runner["run"].code == 0, one_runner["run"].output[-3000:]
    latest = one_runner["after_run"]["latest_decision_basis"]
    bundles = bundles_from_world(one_runner["world"])
    assert set(latest) == set(bundles)
    flagged = {i for i, basis in latest.items() if "DUPLICATE_PERIOD" in basis["findings"]}
    assert flagged == DUPLICATES
    for application_id, bundle in bundles.items():
        got = latest[application_id]
        assert {"proposal": got["proposal"], "amount": got["amount"], "findings": sorted(got["findings"])} == (
            outcome_of(assess(bundle, Mode.AUTOMATED))), application_id
        assert got["count"] == 1, application_id
    assert all(latest[i]["proposal"] == "manual_review" for i in DUPLICATES)


def test_the_report_names_the_other_application_or_the_decision(one_runner):
    bases = {b["application_id"]: " ".join(b["report_text"].split()) for case in one_runner["after_run"]["cases"]
             for b in case["decision_bases"]}
    assert "Ansökan gäller en månad som redan har ett beslut eller en annan ansökan" in bases[FIRST]
    assert SECOND in bases[FIRST] and FIRST in bases[SECOND]
    assert "Tidigare beslut" in bases[ALREADY_DECIDED] and "2026-12" in bases[ALREADY_DECIDED]


def test_no_duplicate_is_decided_paid_or_told_of_a_decision(one_runner):
    data = one_runner["after_run"]
    decided, paid = writes_per_application(data, "decisions"), writes_per_application(data, "payments")
    assert set(decided) == set(paid) == set(STANDARD)  # the standard ones are decided once each
    for application_id in DUPLICATES:
        notices = one_runner["messages"][application_id]
        assert notices and not any(text.startswith(DECIDED_NOTICE) for text in notices), application_id
    assert all(one_runner["messages"][i][0].startswith(DECIDED_NOTICE) for i in STANDARD)


def test_a_rerun_of_an_application_the_bot_decided_is_not_flagged_by_its_own_decision(one_runner):
    assert one_runner["rerun"].code == 0, one_runner["rerun"].output[-3000:]
    (item,) = one_runner["rerun_summary"]["per_item"]
    assert item["application_id"] == "ANS-2026-000004" and "DUPLICATE_PERIOD" not in item["findings"]
    assert item["findings"] == one_runner["after_run"]["latest_decision_basis"]["ANS-2026-000004"]["findings"]
    assert writes_per_application(one_runner["after_rerun"], "decisions") == {i: 1 for i in STANDARD}
    assert writes_per_application(one_runner["after_rerun"], "payments") == {i: 1 for i in STANDARD}


def test_two_runners_flag_both_applications_whichever_comes_first(tmp_path, example_world_path):
    world_path = duplicate_world(load_world(example_world_path), tmp_path / "world.json", second_first=True)
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, tmp_path, "automated")
        assert run_bot(env, "produce").code == 0
        runners = [start_runner(env, f"runner-{n}") for n in (1, 2)]
        outputs = [runner.communicate(timeout=900)[0] for runner in runners]
        data = export(sims)
    finally:
        sims.stop()
    for runner, output in zip(runners, outputs, strict=True):
        assert runner.returncode == 0, output[-3000:]
    order = [line.split()[1] for output in outputs for line in output.splitlines()
             if line.startswith("[") and " DONE " in line]
    assert sorted(order) == sorted(a["application_id"] for a in load_world(world_path)["applications"])
    latest = data["latest_decision_basis"]
    assert {i for i, basis in latest.items() if "DUPLICATE_PERIOD" in basis["findings"]} == DUPLICATES
    assert set(writes_per_application(data, "decisions")) == set(STANDARD)
    assert set(writes_per_application(data, "payments")) == set(STANDARD)
