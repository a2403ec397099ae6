"""`python -m simulators`: refuses a bad world with one clear message, starts all systems, stops cleanly."""

from __future__ import annotations

import json
import subprocess
import sys

from simulators.registry import SYSTEMS
from tests.simulator_process import ROOT, Simulators, free_base_port


def start(world_path, state_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simulators", "--world", str(world_path), "--state-dir", str(state_dir),
         "--base-port", str(free_base_port())],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


def test_a_world_breaking_the_schema_is_refused_naming_the_json_path(tmp_path, example_world_path):
    world = json.loads(example_world_path.read_text(encoding="utf-8"))
    world["applications"][3]["period"] = "2026-13"
    (tmp_path / "bad.json").write_text(json.dumps(world), encoding="utf-8")
    result = start(tmp_path / "bad.json", tmp_path / "state")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: world is invalid at $.applications[3].period: '2026-13' does not match "
        "'^[0-9]{4}-(0[1-9]|1[0-2])$'"
    ]
    assert "ready" not in result.stdout
    assert not (tmp_path / "state").exists()


def test_a_personnummer_with_a_bad_check_digit_is_refused(tmp_path, example_world_path):
    world = json.loads(example_world_path.read_text(encoding="utf-8"))
    member = world["households"][0]["members"][0]
    member["personnummer"] = member["personnummer"][:-1] + str((int(member["personnummer"][-1]) + 1) % 10)
    (tmp_path / "bad.json").write_text(json.dumps(world), encoding="utf-8")
    result = start(tmp_path / "bad.json", tmp_path / "state")
    assert result.returncode == 2
    assert "$.households[0].members[0].personnummer: personnummer has a bad check digit" in result.stderr


def test_every_system_is_listed_with_its_url_then_ready_and_sigterm_stops_cleanly(tmp_path, example_world_path):
    sims = Simulators(world=example_world_path, state_dir=tmp_path / "state", base_port=free_base_port())
    sims.start(reset=True)
    code = sims.stop()
    assert code == 0, "\n".join(sims.output)
    for system in SYSTEMS:
        assert any(line.startswith(system.key) and sims.urls[system.key] in line for line in sims.output), system.key
    assert sims.output.index("ready") < sims.output.index("stopped")
    assert sorted(p.name for p in (tmp_path / "state" / "frames").glob("*.xlsx"))[:2] == [
        "EB-2026-0001.xlsx", "EB-2026-0002.xlsx"
    ]
