"""`python -m bistand bench --world FILE [--json OUT] [--browser headless-shell|chromium] [--read fetch|render]`

Starts the simulators on a fresh copy of the world, runs the bot once (producer and consumer, support
mode), and in the same run measures the floor: the same reads and writes over plain HTTP on another
fresh copy of the world. Prints the figures and writes them to OUT as JSON.

An application the bot parks or fails (bad data, a period without norm table, a system error) is
an outcome like the others: it is reported beside them and left out of the times, and the rest is
measured. Only a run that did not finish (stopped, refused its configuration, crashed) has no figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bistand.bench.harness import Simulators, bot_env, percentile
from bistand.bench.processes import MEMORY_GROUPS, Sampler, children_cpu
from bistand.run.exit_codes import ExitCode
from bistand.settings import ROOT

MEASURED = ("DONE", "BUSINESS")
"""Outcomes whose seconds are the bot's work on the application; a parked or failed try is not."""


def outcomes_from_export(url: str) -> dict[str, dict]:
    """Proposal, amount and findings per application as the case-management system holds them."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
        client.post("/login", data={"username": "demo", "password": "demo", "next": "/"})
        latest = client.get("/api/export").json()["latest_decision_basis"]
    return {app_id: {"proposal": got["proposal"], "amount": got["amount"], "findings": sorted(got["findings"])}
            for app_id, got in sorted(latest.items())}


def run_bot(world: Path, work: Path, browser: str, read: str) -> dict:
    sims = Simulators(world, work / "sims")
    try:
        env = bot_env(sims.urls, sims.state_dir / "frames", work, browser, read)
        sims_cpu_before = sims.cpu()
        cpu_before = children_cpu()
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "bistand", "run"], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sampler = Sampler(process.pid).start()
        output = "".join(mark_progress(process.stdout, sampler))
        process.wait()
        seconds = time.perf_counter() - started
        sampler.stop()
        total_cpu = children_cpu() - cpu_before
        sims_cpu = sims.cpu() - sims_cpu_before
        outcomes = outcomes_from_export(sims.urls["casemgmt"])
    finally:
        sims.stop()
    summary_path = work / "output" / "latest" / "run-summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else None
    if summary is None or not run_finished(process.returncode, summary):
        print(output[-4000:])
        raise SystemExit(f"the bot run failed with exit code {process.returncode}")
    browser_line = next((line for line in output.splitlines() if line.startswith("Browser:")), "Browser: ?")
    return {"summary": summary, "seconds": seconds, "cpu_total": total_cpu, "sampler": sampler,
            "sims_cpu": sims_cpu, "outcomes": outcomes, "browser": browser_line.removeprefix("Browser: ")}


def run_finished(code: int, summary: dict) -> bool:
    """The run went through every item: OK, or items parked (exit 6) or failed on a system error
    (exit 1) as its summary says; not a stop, a refused configuration or a crash."""
    outcomes = summary.get("outcomes", {})
    if summary.get("stopped_reason"):
        return False
    return (code == ExitCode.OK or (code == ExitCode.PARKED and bool(outcomes.get("PARKED")))
            or (code == ExitCode.SYSTEM_FAILURES and bool(outcomes.get("APPLICATION"))))


def item_outcomes(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """(the items measured, the items parked or failed on a system error: id, outcome and code)."""
    measured = [item for item in items if item["outcome"] in MEASURED]
    others = [{"application_id": item["application_id"], "outcome": item["outcome"], "code": item.get("code", "")}
              for item in items if item["outcome"] not in MEASURED]
    return measured, others


PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] ")
"""The consumer's progress line: `[done/total] ANS-... DONE ...`."""


def mark_progress(lines, sampler: Sampler):
    """Passes the bot's output on; samples its memory when the first application is done, at half
    of them and at the last (`start`, `middle`, `end`), so growth over the run shows."""
    marked: set[str] = set()
    for line in lines:
        match = PROGRESS.match(line)
        if match:
            done, total = int(match.group(1)), int(match.group(2))
            for label, due in (("start", done >= 1), ("middle", 2 * done >= total), ("end", done >= total)):
                if due and label not in marked:
                    marked.add(label)
                    sampler.mark(label)
        yield line


def run_floor_on_fresh_world(world: Path, work: Path) -> tuple:
    # deferred: the floor loads the bot's casework and Playwright, which `python -m bistand`
    # building its command tree must not pay for
    from bistand.bench.floor import floor_settings, run_floor

    sims = Simulators(world, work / "floor-sims")
    try:
        sims_cpu_before = sims.cpu()
        settings = floor_settings(sims.urls, sims.state_dir / "frames", work)
        floor = asyncio.run(run_floor(settings))
        return floor, sims.cpu() - sims_cpu_before
    finally:
        sims.stop()


def floor_figures(floor, sims_cpu: float, median: float, outcomes: dict) -> dict:
    """The floor's figures, None each when the floor could not be measured."""
    if floor is None:
        return dict.fromkeys(("floor_median_s", "floor_cpu_s_per_app", "floor_simulators_cpu_s_per_app",
                              "ratio_to_floor", "floor_outcomes_equal"))
    runs = max(len(floor.seconds), 1)
    return {
        "floor_median_s": round(floor.median_s, 4),
        "floor_cpu_s_per_app": round(floor.cpu_seconds / runs, 4),
        "floor_simulators_cpu_s_per_app": round(sims_cpu / runs, 4),
        "ratio_to_floor": round(median / floor.median_s, 1) if floor.median_s else None,
        "floor_outcomes_equal": floor.outcomes == outcomes,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--world", type=Path, default=ROOT / "devdata" / "worlds" / "demo.json")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here as JSON")
    parser.add_argument("--browser", choices=["headless-shell", "chromium"], default="headless-shell")
    parser.add_argument("--read", choices=["fetch", "render"], default="fetch")
    parser.add_argument("--watch-latency", type=int, metavar="N", default=None,
                        help="instead: N citizens file re-applications while a watcher runs (bistand/bench/watch.py)")


def register(commands: argparse._SubParsersAction) -> None:
    """`bench` in `python -m bistand`'s command tree."""
    parser = commands.add_parser("bench", help="seconds, memory and CPU per application against the HTTP floor "
                                               "(README, Performance)", description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(handler=bench)


def main(argv: list[str] | None = None) -> int:
    """The command on its own (tests, tools/benchmark.py): the same options as in the tree."""
    parser = argparse.ArgumentParser(prog="python -m bistand bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return bench(parser.parse_args(argv))


def bench(args: argparse.Namespace) -> int:
    # The bench starts its own simulated systems: it is a demo, with the demo's vault (devdata/vault.json);
    # its runners are told so in their environment (bistand.bench.harness.bot_env), the floor in its settings.
    if args.watch_latency is not None:
        from bistand.bench.watch import main as watch_bench  # deferred: Playwright, as above

        return watch_bench(args.world, args.watch_latency, args.json)
    world = args.world.resolve()
    work = Path(tempfile.mkdtemp(prefix="bistand-bench-"))
    load_before = os.getloadavg()[0]
    bot = run_bot(world, work, args.browser, args.read)
    try:
        floor, floor_sims_cpu = run_floor_on_fresh_world(world, work)
    except Exception as exc:  # noqa: BLE001 - the bot's own figures stand without the floor
        print(f"floor not measured: {type(exc).__name__}: {exc}"[:300], flush=True)
        floor, floor_sims_cpu = None, 0.0

    items, not_measured = item_outcomes(bot["summary"]["per_item"])
    apps = len(items)
    seconds = [item["seconds"] for item in items]
    by_kind = bot["sampler"].cpu_by_kind(bot["cpu_total"])
    cpu_total = sum(by_kind.values())
    median = statistics.median(seconds) if seconds else 0.0
    result = {
        "world": world.name,
        "browser": bot["browser"],
        "read": args.read,
        "machine": {"cores": os.cpu_count(), "load_before": round(load_before, 2)},
        "applications": apps,
        "item_outcomes": bot["summary"].get("outcomes", {}),
        "not_measured": not_measured,
        "median_s": round(median, 3),
        "p95_s": round(percentile(seconds, 0.95), 3),
        "per_hour": round(apps / bot["seconds"] * 3600) if bot["seconds"] else 0,
        "total_run_s": round(bot["seconds"], 1),
        "peak_mib": round(bot["sampler"].peak_kib / 1024),
        "peak_mib_by_kind": bot["sampler"].peak_mib_by_group(),
        "pss_mib_at": {sample.label: sample.as_mib() for sample in bot["sampler"].marks},
        "cpu_s_per_app": {kind: round(value / max(apps, 1), 3)
                          for kind, value in sorted(by_kind.items(), key=lambda kv: -kv[1])},
        "cpu_s_per_app_total": round(cpu_total / max(apps, 1), 3),
        "simulators_cpu_s_per_app": round(bot["sims_cpu"] / max(apps, 1), 3),
        "outcomes": bot["outcomes"],
        **floor_figures(floor, floor_sims_cpu, median, bot["outcomes"]),
        "floor_not_finished": dict(sorted(floor.failed.items())) if floor is not None else None,
    }
    print_result(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"written to {args.json}")
    return ExitCode.OK


def print_result(result: dict) -> None:
    print(f"world:                  {result['world']} ({result['applications']} applications measured, support mode)")
    counts = ", ".join(f"{outcome} {count}" for outcome, count in sorted(result["item_outcomes"].items()))
    print(f"outcomes of the run:    {counts or 'none'}")
    for item in result["not_measured"]:
        print(f"  not measured:         {item['application_id']} {item['outcome']} {item['code']}")
    print(f"browser / read:         {result['browser']} / {result['read']}")
    print(f"machine:                {result['machine']['cores']} cores, load before {result['machine']['load_before']}")
    print(f"per application:        median {result['median_s']:.2f} s, p95 {result['p95_s']:.2f} s")
    print(f"throughput:             {result['per_hour']} applications per hour (run {result['total_run_s']} s)")
    print(f"peak memory (PSS tree): {result['peak_mib']} MiB; each kind's own peak: "
          + ", ".join(f"{kind} {mib}" for kind, mib in result["peak_mib_by_kind"].items()))
    for label, sample in result["pss_mib_at"].items():
        kinds = ", ".join(f"{kind} {sample[kind]}" for kind in MEMORY_GROUPS if kind in sample)
        print(f"  PSS at the {label:<6} {sample['total']:5d} MiB ({kinds}) after {sample['seconds']} s")
    print(f"bot CPU per application: {result['cpu_s_per_app_total']:.2f} s")
    for kind, value in result["cpu_s_per_app"].items():
        print(f"  {kind:<34} {value:6.3f} s")
    print(f"simulators CPU per app: {result['simulators_cpu_s_per_app']:.3f} s")
    if result["floor_median_s"] is not None:
        print(f"floor (httpx):          median {result['floor_median_s']:.3f} s, client CPU "
              f"{result['floor_cpu_s_per_app']:.3f} s per application, simulators' CPU "
              f"{result['floor_simulators_cpu_s_per_app']:.3f} s")
    print(f"ratio to floor:         {result['ratio_to_floor']} x")
    print(f"outcomes:               {len(result['outcomes'])} written; floor's outcomes equal: "
          f"{result['floor_outcomes_equal']}; floor could not finish: "
          f"{', '.join(f'{k} {v}' for k, v in result['floor_not_finished'].items()) or 'none'}")


if __name__ == "__main__":
    raise SystemExit(main())
