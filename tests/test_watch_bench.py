"""The watch-latency bench's own arithmetic and choices, without simulators or a browser."""

from __future__ import annotations

from bistand.bench.watch import Filing, WatchBench, figures, quiet_world, standard_applicants
from bistand.run.watch import watch
from bistand.settings import load
from tests.bot_harness import load_world


def test_citizens_come_only_from_standard_reapplications(example_world_path):
    world = load_world(example_world_path)
    chosen = standard_applicants(world)
    applications = {a["case_number"]: a for a in world["applications"]}
    households = {m["personnummer"]: h for h in world["households"] for m in h["members"]}
    assert chosen
    for personnummer in chosen:
        application = applications[households[personnummer]["case_number"]]
        expected = world["expected"][application["application_id"]]
        assert application["kind"] == "reapplication" and not application.get("declared_incomes")
        assert set(expected["findings"]) <= {"COST_CAPPED", "ASSETS_COUNTED"}


def test_the_quiet_world_keeps_households_and_empties_the_inbox(example_world_path):
    world = load_world(example_world_path)
    quiet = quiet_world(world)
    assert quiet["applications"] == [] and quiet["expected"] == {}
    assert quiet["households"] == world["households"] and quiet["registers"] == world["registers"]


def test_figures_count_only_answered_filings_and_take_the_nearest_rank_p95():
    filings = [Filing(f"ANS-{n}", latency_s=float(n), decided_by_robot=n % 2 == 0) for n in range(1, 20)]
    filings.append(Filing("ANS-never"))
    result = figures(WatchBench(filings=filings, idle_cpu_s_per_min=0.333, stop_exit_code=0, stop_s=1.04),
                     "demo.json", 20)
    assert result["watch_filed"] == 20 and result["watch_answered"] == 19
    assert result["watch_decided_by_robot"] == 9
    assert result["watch_latency_median_s"] == 10.0 and result["watch_latency_p95_s"] == 19.0
    assert result["watch_idle_cpu_s_per_min"] == 0.33 and result["watch_stop_s"] == 1.0


def test_no_answer_at_all_gives_no_latency_rather_than_a_made_up_one():
    result = figures(WatchBench(filings=[Filing("ANS-1")]), "demo.json", 1)
    assert result["watch_answered"] == 0 and result["watch_latency_median_s"] is None


def test_a_watch_interval_that_is_not_positive_is_a_usage_error(capsys):
    settings = load(environ={"BISTAND_RUNNER_ID": "t"})
    assert watch(settings, 0) == 2
    assert watch(settings, 10, rotate_minutes=0) == 2
    assert "must be positive" in capsys.readouterr().out


def test_a_measuring_window_needs_the_watcher_up_throughout():
    import subprocess
    import sys

    import pytest

    from bistand.bench.watch import stay_up

    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        stay_up(alive, 0.3)  # still running after the window: fine
        assert alive.poll() is None
    finally:
        alive.kill()
        alive.wait()
    gone = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(SystemExit, match="code 3"):
        stay_up(gone, 30)
