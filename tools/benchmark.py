"""Benchmark the bot end to end: seconds per application and peak memory of a run.

    .venv/bin/python tools/benchmark.py [--world devdata/worlds/demo.json] [--mode support]
    .venv/bin/python tools/benchmark.py --runners 1,2 --queue postgres   (tools/queue_benchmark.py)

Starts the simulators on free ports with a fresh state, runs `python -m bistand run` once,
samples the memory of the bot's whole process tree (runner, Robot Framework, Playwright driver,
Chromium) every 250 ms as the sum of PSS (proportional set size: shared pages split between the
processes that share them, so Chromium's processes are not counted many times over), and
prints the figures. The simulators are not counted: they stand in for the agencies' servers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.bot_harness import bot_env  # noqa: E402
from tests.simulator_process import Simulators, free_base_port  # noqa: E402


def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def cpu_seconds(pid: int) -> tuple[str, float]:
    """(process kind, user+system CPU seconds so far) from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "", 0.0
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if "chromium" in cmdline:
        kind = "chromium " + (cmdline.split("--type=")[1].split()[0] if "--type=" in cmdline else "browser")
    elif "playwright/driver" in cmdline:
        kind = "playwright driver (node)"
    elif "robot" in cmdline:
        kind = "robot framework (python)"
    else:
        kind = "runner (python)"
    return kind, ticks / os.sysconf("SC_CLK_TCK")


def main() -> int:
    if "--runners" in sys.argv or "--queue" in sys.argv:  # several runners on one queue
        from tools.queue_benchmark import main as queue_benchmark

        return queue_benchmark(sys.argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, default=ROOT / "devdata" / "worlds" / "demo.json")
    parser.add_argument("--mode", default="support", choices=["support", "automated"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bistand-bench-"))
    sims = Simulators(world=args.world.resolve(), state_dir=work / "sims", base_port=free_base_port())
    started = time.perf_counter()
    sims.start(reset=True)
    sim_start = time.perf_counter() - started
    try:
        env = bot_env(sims, work, args.mode)
        peak = {"kib": 0, "processes": 0}
        cpu: dict[int, tuple[str, float]] = {}
        process = subprocess.Popen([sys.executable, "-m", "bistand", "run"], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                pids = tree(process.pid)
                for pid in pids:
                    kind, seconds = cpu_seconds(pid)
                    if kind:
                        cpu[pid] = (kind, seconds)
                total = sum(pss_kib(p) for p in pids)
                if total > peak["kib"]:
                    peak.update(kib=total, processes=len(pids))
                done.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        run_started = time.perf_counter()
        output = process.communicate()[0]
        run_seconds = time.perf_counter() - run_started
        done.set()
        sampler.join()
    finally:
        sims.stop()
    summary_path = work / "output" / "latest" / "run-summary.json"
    if process.returncode != 0 or not summary_path.exists():
        print(output[-4000:])
        print(f"run failed with exit code {process.returncode}")
        return 1
    summary = json.loads(summary_path.read_text())
    seconds = sorted(item["seconds"] for item in summary["per_item"])
    print(f"world:                    {args.world.name} ({summary['items']} applications, {args.mode} mode)")
    print(f"machine:                  {os.cpu_count()} cores, load before run {os.getloadavg()[0]:.1f}")
    print(f"simulators start:         {sim_start:.2f} s")
    print(f"total run (prod.+cons.):  {run_seconds:.1f} s")
    print(f"per application:          median {summary['median_seconds']:.2f} s, p95 {summary['p95_seconds']:.2f} s, "
          f"min {seconds[0]:.2f} s, max {seconds[-1]:.2f} s")
    print(f"throughput:               {summary['items'] / run_seconds * 60:.1f} applications per minute")
    print(f"peak memory (PSS, tree):  {peak['kib'] / 1024:.0f} MiB over {peak['processes']} processes")
    by_kind: dict[str, float] = {}
    for kind, seconds in cpu.values():
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    print(f"bot CPU seconds:          {sum(by_kind.values()):.1f} in all, per application "
          f"{sum(by_kind.values()) / max(summary['items'], 1):.2f}")
    for kind, seconds in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<34} {seconds:7.1f} s")
    print(f"outcomes:                 {summary['outcomes']}  proposals: {summary['proposals']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
