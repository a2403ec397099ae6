"""The bot's decision records end to end: one real run on the example world, then the simulators stop.

Every application the bot assessed has a sealed record beside its report, valid against the
published schema and holding what the bot read from the systems (attachment and frame hashes,
when each system was read). With the simulators stopped, `records verify` finds the chain whole
and `explain --all` re-derives every outcome from the records alone.
"""

from __future__ import annotations

import hashlib
import json
import stat

import jsonschema
import pytest

from bistand.records.chain import RecordChain
from bistand.records.record import SCHEMA_FILE
from tests.bot_harness import bot_env, leaks, load_world, run_bot, world_people
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def example_world(example_world_path):
    return load_world(example_world_path)


@pytest.fixture(scope="module")
def bot_run(tmp_path_factory, example_world_path):
    """One support-mode run (two applications in flight: concurrent appends), then the simulators stop."""
    work = tmp_path_factory.mktemp("bot-records")
    sims = Simulators(world=example_world_path, state_dir=work / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, work, "support", BISTAND_IN_FLIGHT="2")
        run = run_bot(env, "run")
    finally:
        sims.stop()
    output = work / "output"
    return {"run": run, "env": env, "output": output, "frames": sims.frames_dir,
            "chain": RecordChain(output / "records")}


def records(bot_run) -> dict[str, dict]:
    return {json.loads(p.read_bytes())["application_id"]: json.loads(p.read_bytes())
            for p in bot_run["chain"].record_paths()}


def test_every_application_the_bot_assessed_has_one_record_valid_against_the_schema(bot_run, example_world):
    assert bot_run["run"].code == 0, bot_run["run"].output[-3000:]
    paths = bot_run["chain"].record_paths()
    found = records(bot_run)
    assert len(paths) == len(found) == len(example_world["applications"])
    assert set(found) == set(example_world["expected"])
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")),
                                                format_checker=jsonschema.FormatChecker())
    for application_id, record in found.items():
        errors = list(validator.iter_errors(record))
        assert not errors, f"{application_id}: {errors[0].message}"


def test_the_records_outcomes_are_the_worlds_expected_outcomes(bot_run, example_world):
    for application_id, record in records(bot_run).items():
        outcome = record["outcome"]
        expected = example_world["expected"][application_id]
        assert (outcome["proposal"], outcome["amount"], sorted({f["code"] for f in outcome["findings"]})) == (
            expected["proposal"], expected["amount"], sorted(set(expected.get("findings", [])))), application_id


def test_a_record_holds_what_the_bot_read_with_hashes_and_read_times(bot_run):
    for application_id, record in records(bot_run).items():
        inputs = record["inputs"]
        for attachment in inputs["application"]["attachments"]:
            assert len(attachment["sha256"]) == 64 and attachment["size_bytes"] > 0, application_id
        frame = inputs["frame"]
        workbook = bot_run["frames"] / f"{record['case_number']}.xlsx"
        if workbook.is_file():
            assert frame["sha256"] == hashlib.sha256(workbook.read_bytes()).hexdigest(), application_id
        systems = {source["system"] for source in inputs["sources"]}
        assert {"eservice", "fk", "af", "csn", "skv", "pm", "akassa", "frame", "casemgmt"} <= systems
        assert record["decided"]["runner"] and record["decided"]["mode"] == "support"
    assert any(r["inputs"]["application"]["attachments"] for r in records(bot_run).values())


def test_records_and_reports_are_owner_only(bot_run):
    reports = bot_run["output"] / "reports"
    for path in [*bot_run["chain"].record_paths(), *reports.glob("*.txt"), *reports.glob("*.html"),
                 *reports.glob("*.pdf")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_with_the_simulators_stopped_the_chain_verifies_and_explain_reproduces_every_outcome(bot_run):
    verify = run_bot(bot_run["env"], "records", "verify")
    assert verify.code == 0, verify.output
    assert "Kedjan är hel: 20 filer" in verify.stdout

    explained = run_bot(bot_run["env"], "explain", "--all", "--json")
    assert explained.code == 0, explained.output[-2000:]
    report = json.loads(explained.stdout)
    assert report["checked"] == 20 and report["same"] == 20 and report["changed"] == []


def test_explain_prints_the_bots_own_report_lines_and_same_outcome(bot_run, example_world):
    explained = run_bot(bot_run["env"], "explain", "ANS-2026-000001")
    assert explained.code == 0, explained.output[-2000:]
    report = (bot_run["output"] / "reports" / "ANS-2026-000001.txt").read_text(encoding="utf-8")
    assert report in explained.stdout
    assert "identisk med den rapport som förseglades med beslutet" in explained.stdout
    assert explained.stdout.rstrip().endswith("samma utfall")


def test_the_records_leave_no_personal_data_in_the_logs_or_console(bot_run, example_world):
    numbers, names = world_people(example_world)
    assert leaks(bot_run["run"].output, numbers, names) == []
    for path in bot_run["output"].rglob("*"):
        if path.name in {"output.xml", "log.html"}:
            assert leaks(path.read_text(encoding="utf-8", errors="replace"), numbers, names) == [], path
