"""The benchmark's floor and its accounting."""

from __future__ import annotations

import asyncio
import json

import pytest

from bistand.bench.cli import main as bench_main
from bistand.bench.cli import mark_progress
from bistand.bench.floor import floor_settings, run_floor
from bistand.bench.harness import percentile
from bistand.bench.processes import MEMORY_GROUPS, Sampler, kind_of, memory_group
from tests.simulator_process import Simulators, free_base_port


def test_the_http_floor_reaches_the_worlds_expected_outcomes(tmp_path, example_world_path):
    """Same parsers, same reads and form posts over httpx: the outcomes are the world's contract."""
    world = json.loads(example_world_path.read_text(encoding="utf-8"))
    sims = Simulators(world=example_world_path, state_dir=tmp_path / "sims", base_port=free_base_port())
    sims.start(reset=True)
    try:
        floor = asyncio.run(run_floor(floor_settings(sims.urls, sims.frames_dir, tmp_path)))
    finally:
        sims.stop()
    expected = {app_id: {"proposal": e["proposal"], "amount": e["amount"], "findings": sorted(e.get("findings", []))}
                for app_id, e in world["expected"].items()}
    assert floor.outcomes == expected
    assert len(floor.seconds) == len(expected) and floor.median_s > 0


def test_p95_of_twenty_is_the_nineteenth():
    assert percentile([float(n) for n in range(1, 21)], 0.95) == 19.0
    assert percentile([], 0.95) == 0.0


def test_processes_are_named_by_kind():
    assert kind_of("/usr/lib/chromium/chromium-headless-shell --type=renderer --x") == "headless-shell renderer"
    assert kind_of("/usr/bin/chromium --headless") == "chromium browser"
    assert kind_of("/x/playwright/driver/node cli.js run-driver") == "playwright driver (node)"


def test_cpu_that_exited_between_samples_is_counted_once():
    sampler = Sampler(pid=0)
    sampler.last_cpu = {1: ("chromium renderer", 2.0), 2: ("runner (python)", 1.0)}
    assert sampler.cpu_by_kind(reaped=3.5) == {"chromium renderer": 2.0, "runner (python)": 1.0,
                                               "exited between samples": 0.5}
    assert sum(sampler.cpu_by_kind(reaped=1.0).values()) == 3.0


@pytest.mark.e2e
@pytest.mark.browser
def test_a_period_without_norm_table_is_an_outcome_beside_the_others_and_the_rest_is_measured(
        tmp_path, example_world_path):
    """Issue 15 §4: the bench used to stop with "the bot run failed with exit code 6"."""
    world = json.loads(example_world_path.read_text(encoding="utf-8"))
    kept = ["ANS-2026-000001", "ANS-2026-000002", "ANS-2026-000003"]
    bad = kept[0]
    world["applications"] = [dict(a, period="2031-01") if a["application_id"] == bad else a
                             for a in world["applications"] if a["application_id"] in kept]
    world["expected"] = {k: v for k, v in world["expected"].items() if k in kept and k != bad}
    world_path = tmp_path / "world.json"
    world_path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "bench.json"
    assert bench_main(["--world", str(world_path), "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["not_measured"] == [{"application_id": bad, "outcome": "PARKED", "code": "NORM_TABLE_MISSING"}]
    assert result["item_outcomes"] == {"DONE": 2, "PARKED": 1}
    assert result["applications"] == 2 and result["median_s"] > 0
    expected = {app_id: {"proposal": e["proposal"], "amount": e["amount"], "findings": sorted(e.get("findings", []))}
                for app_id, e in world["expected"].items()}
    assert result["outcomes"] == expected and result["floor_outcomes_equal"]
    assert result["floor_not_finished"] == {bad: "NORM_TABLE_MISSING"}


def test_memory_is_grouped_into_the_kinds_the_benchmark_reports():
    assert memory_group("headless-shell renderer") == "renderer"
    assert memory_group("headless-shell browser") == "browser" and memory_group("chromium zygote") == "browser"
    assert memory_group("playwright driver (node)") == "driver (node)"
    assert memory_group("robot framework (python)") == "robot framework"
    assert memory_group("runner (python)") == "runner"


def test_the_memory_is_sampled_at_the_first_the_middle_and_the_last_application():
    class Marks:
        def __init__(self):
            self.labels: list[str] = []

        def mark(self, label):
            self.labels.append(label)

    marks = Marks()
    lines = ["Browser: x\n"] + [f"[{n}/5] ANS-{n} DONE        elapsed 1 s\n" for n in range(1, 6)]
    assert list(mark_progress(lines, marks)) == lines
    assert marks.labels == ["start", "middle", "end"]


def test_a_sample_of_this_process_tree_has_its_memory_by_kind():
    import os

    sampler = Sampler(pid=os.getpid())
    sample = sampler.mark("start")
    assert sample.total_kib > 0 and set(sample.by_group) <= set(MEMORY_GROUPS)
    assert sampler.peak_kib >= sample.total_kib and sampler.marks == [sample]
