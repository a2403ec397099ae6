"""Decision records: one sealed record per report, verified, explained and re-assessed from the record alone.

The records here are written the way the bot writes them (bistand.records.writer, through the
offline `report` command's `assess_world`) for every application of the example world; the bot's
own run is checked end to end in test_records_e2e.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml

from bistand.cli.report import assess_world
from bistand.core.documents import read_attachment
from bistand.core.frames import read_frame
from bistand.core.models import CostType, Mode
from bistand.core.norm import DEFAULT_NORM_DIR
from bistand.core.world_bundles import bundles_from_world, outcome_of
from bistand.records.chain import RecordChain, file_form, seal_hash
from bistand.records.cli import explain_main, records_main
from bistand.records.explain import explain_record, latest_decisions, reassess
from bistand.records.record import SCHEMA_FILE, assessment_of
from bistand.records.schema import schema_text
from tests.bot_harness import load_world

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def world(example_world_path):
    return load_world(example_world_path)


@pytest.fixture(scope="module")
def written(world, tmp_path_factory):
    """Every application of the example world assessed, reported and recorded (no PDFs)."""
    out = tmp_path_factory.mktemp("records-world")
    outcomes = assess_world(world, out, Mode.SUPPORT, pdf=False)
    return out, outcomes


def copy_of(written, tmp_path) -> RecordChain:
    """A private copy of the written reports and records, for a test that tampers with them."""
    out, _ = written
    shutil.copytree(out, tmp_path / "out")
    return RecordChain(tmp_path / "out" / "records")


def records_of(chain: RecordChain) -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in chain.record_paths()]


# --- what is written ---------------------------------------------------------------------------------


def test_every_application_of_the_example_world_has_one_record_valid_against_the_published_schema(written, world):
    out, _ = written
    chain = RecordChain(out / "records")
    records = records_of(chain)
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for record in records:
        errors = sorted(validator.iter_errors(record), key=str)
        assert not errors, f"{record.get('application_id')}: {errors[0].message}"
    assert sorted(r["application_id"] for r in records) == sorted(a["application_id"] for a in world["applications"])


def test_a_record_that_breaks_the_schema_is_rejected_by_it(written):
    """The schema is not a rubber stamp: a record without its norm table's hash does not pass."""
    out, _ = written
    record = records_of(RecordChain(out / "records"))[0]
    del record["norm_table"]["sha256"]
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, schema)


def test_the_shipped_schema_is_the_one_the_models_give():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), \
        "resources/schemas/decision-record.schema.json is out of date: python -m bistand records schema --write"


def test_a_record_holds_the_rules_the_norm_table_and_the_outcome_as_decided(written, world):
    out, outcomes = written
    record = next(r for r in records_of(RecordChain(out / "records")) if r["application_id"] == "ANS-2026-000001")
    rules_sha = hashlib.sha256((ROOT / "resources" / "rules" / "RULES.md").read_bytes()).hexdigest()
    norm_sha = hashlib.sha256((DEFAULT_NORM_DIR / "2026.yaml").read_bytes()).hexdigest()
    assert record["rules"]["rules_sha256"] == rules_sha
    assert record["norm_table"]["year"] == 2026 and record["norm_table"]["sha256"] == norm_sha
    assert record["norm_table"]["status"] == "derived"  # the example's 2026 table has derived figures
    assert record["decided"]["mode"] == "support" and record["decided"]["runner"]
    assert outcome_of(assessment_of(record)) == outcomes["ANS-2026-000001"]
    assert record["inputs"]["application"]["members"][0]["personnummer"].endswith(("5526",))  # in full


def test_records_and_reports_are_owner_only_and_the_record_holds_the_reports_hashes(written):
    out, _ = written
    chain = RecordChain(out / "records")
    for path in chain.record_paths():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        record = json.loads(path.read_text(encoding="utf-8"))
        for kind, meta in record["report"]["files"].items():
            report = (chain.directory / meta["path"]).resolve()
            assert report.suffix == f".{kind}"
            assert stat.S_IMODE(report.stat().st_mode) == 0o600, report.name
            assert hashlib.sha256(report.read_bytes()).hexdigest() == meta["sha256"]
    assert stat.S_IMODE(chain.directory.stat().st_mode) == 0o700


def test_the_record_file_is_one_line_of_compact_json_and_the_seal_hashes_its_canonical_form(written):
    out, _ = written
    path = RecordChain(out / "records").record_paths()[0]
    record = json.loads(path.read_bytes())
    assert path.read_bytes() == file_form(record) and path.read_bytes().count(b"\n") == 1
    unsealed = {**record, "seal": {k: v for k, v in record["seal"].items() if k != "sha256"}}
    expected = hashlib.sha256(json.dumps(unsealed, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hexdigest()
    assert record["seal"]["sha256"] == expected


def test_attachments_and_frames_carry_the_sha256_of_the_bytes_read(tmp_path):
    data = b"%PDF-1.4 not really a pdf"
    assert read_attachment("hyra.pdf", CostType.HYRA, data).sha256 == hashlib.sha256(data).hexdigest()
    workbook = ROOT / "resources" / "reference-frame-template.xlsx"
    copy = tmp_path / "EB-2026-0001.xlsx"
    shutil.copy(workbook, copy)
    assert read_frame(copy, "EB-2026-0001").sha256 == hashlib.sha256(copy.read_bytes()).hexdigest()


def one_bundle():
    return next(iter(bundles_from_world(load_world(ROOT / "devdata" / "worlds" / "example.json")).values()))


def test_no_report_is_written_when_its_record_cannot_be(tmp_path, monkeypatch):
    """The record is renamed into place first: when that fails, the staged reports are dropped too."""
    import bistand.records.chain as chain_module
    from bistand.core.engine import assess
    from bistand.records.writer import write_report_and_record

    real_replace = chain_module.os.replace

    def failing_replace(source, target):
        if str(target).endswith(".json") and "head" not in str(target):
            raise OSError("disk full")
        return real_replace(source, target)

    monkeypatch.setattr(chain_module.os, "replace", failing_replace)
    bundle = one_bundle()
    with pytest.raises(OSError, match="disk full"):
        write_report_and_record(bundle, assess(bundle), reports_dir=tmp_path / "reports",
                                records_dir=tmp_path / "records", runner="test", guideline="Riktlinjer",
                                norm_dir=DEFAULT_NORM_DIR)
    left = sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock")
    assert left == []


def test_no_report_is_written_when_the_record_cannot_be_built(tmp_path):
    """A norm table gone between the assessment and the record: neither report nor record."""
    from bistand.core.engine import assess
    from bistand.records.writer import write_report_and_record

    bundle = one_bundle()
    with pytest.raises(Exception, match="2026"):
        write_report_and_record(bundle, assess(bundle), reports_dir=tmp_path / "reports",
                                records_dir=tmp_path / "records", runner="test", guideline="Riktlinjer",
                                norm_dir=tmp_path / "no-tables")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


# --- explain ------------------------------------------------------------------------------------------


def test_explain_reproduces_every_outcome_from_the_records_alone(written, world):
    """The records are all explain reads: the world, the simulators and the reports are not consulted."""
    out, outcomes = written
    entries = latest_decisions(RecordChain(out / "records"))
    assert len(entries) == len(world["applications"])
    for entry in entries:
        result = reassess(entry, DEFAULT_NORM_DIR)
        assert result.same, (entry.path.name, result.differences, result.error)
        assert outcome_of(result.now) == outcomes[result.application_id]


def test_explain_prints_the_same_lines_as_the_report(written):
    out, _ = written
    for entry in latest_decisions(RecordChain(out / "records")):
        report = (out / f"{entry.record['application_id']}.txt").read_text(encoding="utf-8")
        assert explain_record(entry.record) == report


def test_explain_one_application_says_same_outcome_and_exits_0(written, capsys):
    out, _ = written
    code = explain_main(["ANS-2026-000001", "--dir", str(out / "records"), "--norm-dir", str(DEFAULT_NORM_DIR)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "BESLUTSUNDERLAG" in printed and "Förseglingen: intakt" in printed
    assert printed.rstrip().endswith("samma utfall")


def test_explain_of_an_application_without_a_record_exits_2(written, capsys):
    out, _ = written
    assert explain_main(["ANS-2026-999999", "--dir", str(out / "records"), "--norm-dir", str(DEFAULT_NORM_DIR)]) == 2


def test_explain_all_since_a_later_date_finds_no_records_and_exits_2(written, capsys):
    out, _ = written
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert explain_main(["--all", "--since", tomorrow, "--dir", str(out / "records"),
                         "--norm-dir", str(DEFAULT_NORM_DIR)]) == 2
    assert explain_main(["--all", "--since", "2000-01-01", "--dir", str(out / "records"),
                         "--norm-dir", str(DEFAULT_NORM_DIR)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("20 beslut omprövade: 20 samma utfall, 0 ändras")


def changed_norm_dir(tmp_path: Path, key: str, delta: int) -> Path:
    norm_dir = tmp_path / "norm"
    shutil.copytree(DEFAULT_NORM_DIR, norm_dir)
    path = norm_dir / "2026.yaml"
    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    section, name = key.split(".", 1)
    table[section][int(name) if section == "common" else name]["amount"] += delta
    path.write_text(yaml.safe_dump(table, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return norm_dir


@pytest.mark.parametrize("key", ["adults.single", "common.1"])
def test_a_changed_norm_figure_makes_explain_all_report_exactly_the_applications_it_affects(
        written, tmp_path, capsys, key):
    out, _ = written
    records = records_of(RecordChain(out / "records"))
    affected = {r["application_id"] for r in records
                if any(line["table_key"] == key and line["status"] != "not_counted"
                       for line in r["outcome"]["norm_lines"])}
    assert affected and len(affected) < len(records)  # the figure matters to some applications, not all

    code = explain_main(["--all", "--json", "--dir", str(out / "records"),
                         "--norm-dir", str(changed_norm_dir(tmp_path, key, 100))])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert set(report["changed"]) == affected
    assert report["checked"] == len(records) and report["same"] == len(records) - len(affected)
    for result in report["results"]:
        if result["application_id"] in affected:
            assert any(line.startswith("Norm ") and "→" in line for line in result["differences"])
            assert "Normtabellen för 2026 är en annan fil än vid beslutet" in result["changes_since"]


def test_explain_all_prints_no_names_or_full_personnummer(written, world, tmp_path, capsys):
    from tests.bot_harness import leaks, world_people

    out, _ = written
    explain_main(["--all", "--dir", str(out / "records"),
                  "--norm-dir", str(changed_norm_dir(tmp_path, "adults.single", 100))])
    printed = capsys.readouterr().out
    assert "ändras" in printed
    assert leaks(printed, *world_people(world)) == []


# --- verify -------------------------------------------------------------------------------------------


def verify_lines(chain: RecordChain, capsys, *extra: str) -> tuple[int, list[str]]:
    code = records_main(["verify", "--dir", str(chain.directory), *extra])
    return code, capsys.readouterr().out.splitlines()


def test_an_untouched_chain_verifies(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    code, lines = verify_lines(chain, capsys)
    assert code == 0
    assert lines[-1].startswith("Kedjan är hel: 20 filer (nr 1–20)")


def test_one_changed_byte_is_found_and_named(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    path = chain.record_paths()[6]
    data = bytearray(path.read_bytes())
    index = data.index(b'"amount":') + len(b'"amount":')
    data[index] = ord("9") if data[index] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    code, lines = verify_lines(chain, capsys)
    assert code == 1
    assert lines == [f"ändrad: nr 7 {path.name}: innehållet stämmer inte med förseglingens hash"]


def test_a_changed_record_sealed_again_is_found_by_the_next_link(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    path = chain.record_paths()[4]
    record = json.loads(path.read_bytes())
    record["outcome"]["amount"] += 1000
    record["seal"]["sha256"] = seal_hash(record)
    path.write_bytes(file_form(record))
    code, lines = verify_lines(chain, capsys)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(f"ändrad: nr 5 {path.name}: förseglades om")


def test_one_removed_record_is_found_and_named(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    chain.record_paths()[9].unlink()
    code, lines = verify_lines(chain, capsys)
    assert code == 1
    assert lines == ["borttagen: nr 10 00000010-*.json: posten saknas"]


def test_a_changed_or_removed_report_is_found_by_the_hash_sealed_with_its_record(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    reports = chain.directory.parent
    text = reports / "ANS-2026-000004.txt"
    text.write_text(text.read_text(encoding="utf-8").replace("kr", "kr ", 1), encoding="utf-8")
    (reports / "ANS-2026-000009.html").unlink()
    code, lines = verify_lines(chain, capsys)
    assert code == 1
    assert lines == ["ändrad: nr 4 ANS-2026-000004.txt: rapporten har ändrats sedan den förseglades med "
                     "00000004-ANS-2026-000004.json",
                     "borttagen: nr 9 ANS-2026-000009.html: rapporten som förseglades med "
                     "00000009-ANS-2026-000009.json saknas"]


def test_the_last_record_removed_is_found_by_the_head(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    chain.record_paths()[-1].unlink()
    code, lines = verify_lines(chain, capsys)
    assert code == 1
    assert lines == ["borttagen: nr 20 00000020-*.json: posten saknas"]


def test_a_damaged_head_is_reported_and_the_records_are_still_checked(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    (chain.directory / "head.json").write_text("{}", encoding="utf-8")
    chain.record_paths()[2].unlink()
    code, lines = verify_lines(chain, capsys)
    assert code == 1
    assert lines == ["borttagen: nr 0 head.json: kedjans huvud saknas",
                     "borttagen: nr 3 00000003-*.json: posten saknas"]


def test_one_inserted_record_is_found_and_named(written, tmp_path, capsys):
    """A forged record, properly sealed, slipped in with the number of an existing one."""
    chain = copy_of(written, tmp_path)
    template = json.loads(chain.record_paths()[2].read_bytes())
    forged = {**template, "application_id": "ANS-2026-000099",
              "seal": {**template["seal"], "sequence": 12}}
    forged["seal"]["sha256"] = seal_hash(forged)
    inserted = chain.directory / "00000012-ANS-2026-000099.json"
    inserted.write_bytes(file_form(forged))
    code, lines = verify_lines(chain, capsys)
    assert code == 1
    assert lines == [f"tillagd: nr 12 {inserted.name}: en annan post har samma sekvensnummer"]


def test_a_record_appended_after_the_head_is_found_as_inserted(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    last = json.loads(chain.record_paths()[-1].read_bytes())
    forged = {**last, "application_id": "ANS-2026-000099",
              "seal": {**last["seal"], "sequence": 21, "previous_sha256": last["seal"]["sha256"]}}
    forged["seal"]["sha256"] = seal_hash(forged)
    (chain.directory / "00000021-ANS-2026-000099.json").write_bytes(file_form(forged))
    code, lines = verify_lines(chain, capsys)
    assert code == 1
    assert lines == ["tillagd: nr 21 00000021-ANS-2026-000099.json: ligger efter kedjans huvud"]


def test_verify_since_leaves_out_problems_in_older_records(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    chain.record_paths()[3].unlink()
    future = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    code, _ = verify_lines(chain, capsys, "--since", future)
    assert code == 0
    code, lines = verify_lines(chain, capsys, "--since", "2000-01-01")
    assert code == 1 and lines[0].startswith("borttagen: nr 4")


# --- the chain under concurrency and retention --------------------------------------------------------


def test_concurrent_appends_never_fork_the_chain_or_lose_a_link(tmp_path):
    """Several writers (runners, applications in flight) append at once: one chain, every link."""
    chain = RecordChain(tmp_path / "records")
    writers, each = 6, 15

    def write(writer: int) -> None:
        own = RecordChain(tmp_path / "records")  # each writer opens the folder itself
        for index in range(each):
            own.append({"schema": "bistand-decision-record/1", "kind": "test", "writer": writer, "index": index},
                       f"w{writer}-{index}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = chain.verify()
    assert result.intact, [p.line() for p in result.problems]
    sequences = sorted(int(p.name[:8]) for p in chain.record_paths())
    assert sequences == list(range(1, writers * each + 1))


def test_purge_removes_old_records_and_their_reports_and_the_chain_still_verifies(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    now = datetime.now(UTC)
    # The first eight records as if sealed 40 days ago (sealed again: a test of purge, not of verify).
    previous = "0" * 64
    for index, path in enumerate(chain.record_paths()):
        record = json.loads(path.read_bytes())
        if index < 8:
            record["seal"]["sealed_at"] = (now - timedelta(days=40)).isoformat()
        record["seal"]["previous_sha256"] = previous
        record["seal"]["sha256"] = previous = seal_hash(record)
        path.write_bytes(file_form(record))
    head = json.loads((chain.directory / "head.json").read_text())
    (chain.directory / "head.json").write_text(json.dumps({**head, "sha256": previous}))
    old_ids = [json.loads(p.read_bytes())["application_id"] for p in chain.record_paths()[:8]]
    assert chain.verify().intact

    assert records_main(["purge", "--older-than", "30", "--dir", str(chain.directory)]) == 0
    assert "Gallrade 8 poster" in capsys.readouterr().out
    names = [p.name for p in chain.record_paths()]
    assert len(names) == 13 and names[-1] == "00000021-purge.json" and names[0].startswith("00000009-")
    assert not any((chain.directory.parent / f"{app}.txt").exists() for app in old_ids)
    assert not any((chain.directory.parent / f"{app}.html").exists() for app in old_ids)
    code, lines = verify_lines(chain, capsys)
    assert code == 0, lines
    assert lines[-1].startswith("Kedjan är hel: 13 filer (nr 9–21)")


def test_a_purged_record_put_back_is_found(written, tmp_path, capsys):
    chain = copy_of(written, tmp_path)
    kept = chain.record_paths()[0].read_bytes()
    name = chain.record_paths()[0].name
    chain.purge(0, now=datetime.now(UTC) + timedelta(days=1))  # everything is older than tomorrow
    assert [p.name for p in chain.record_paths()] == ["00000021-purge.json"]
    assert chain.verify().intact
    (chain.directory / name).write_bytes(kept)
    code, lines = verify_lines(chain, capsys)
    assert code == 1
    assert lines == [f"tillagd: nr 1 {name}: ligger före kedjans början (gallrad post?)"]


def test_records_after_a_purge_chain_on_the_purge_marker(written, tmp_path):
    chain = copy_of(written, tmp_path)
    chain.purge(0, now=datetime.now(UTC) + timedelta(days=1))
    bundle = one_bundle()
    from bistand.core.engine import assess
    from bistand.records.writer import write_report_and_record

    write_report_and_record(bundle, assess(bundle), reports_dir=chain.directory.parent, records_dir=chain.directory,
                            runner="test", guideline="Riktlinjer", norm_dir=DEFAULT_NORM_DIR)
    assert [p.name[:8] for p in chain.record_paths()] == ["00000021", "00000022"]
    assert chain.verify().intact
