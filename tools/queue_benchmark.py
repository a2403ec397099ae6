"""Throughput of several runners on one queue: applications per hour per runner count.

    .venv/bin/python tools/benchmark.py --runners 1,2 --queue postgres [--world devdata/worlds/demo.json]
    .venv/bin/python tools/queue_benchmark.py --runners 1,2 --queue sqlite

For each runner count: simulators on a fresh copy of the world, a fresh queue (a new database in
the project's PostgreSQL cluster from tools/postgres.sh, or a new SQLite file), `produce` once,
then that many `python -m bistand work --until-empty` processes at once. The clock runs from the
runners' start to the last runner's exit; applications per hour = items done / that time. Every
application must end with exactly one decision basis, or the figures are not printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.bot_harness import bot_env, export, run_bot  # noqa: E402
from tests.queue_fixtures import postgres_url  # noqa: E402
from tests.simulator_process import Simulators, free_base_port  # noqa: E402


def fresh_queue_url(kind: str, work: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{work / 'queue.db'}"
    import psycopg

    server = postgres_url()
    name = f"bistand_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


def measure(world: Path, mode: str, runners: int, queue: str) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"bistand-bench-{runners}r-"))
    sims = Simulators(world=world, state_dir=work / "sims", base_port=free_base_port()).start(reset=True)
    try:
        env = bot_env(sims, work, mode, BISTAND_QUEUE_URL=fresh_queue_url(queue, work))
        produced = run_bot(env, "produce")
        if produced.code != 0:
            raise SystemExit(f"produce failed:\n{produced.output[-3000:]}")
        started = time.perf_counter()
        processes = [
            subprocess.Popen([sys.executable, "-m", "bistand", "work", "--until-empty"], cwd=ROOT,
                             env={**env, "BISTAND_RUNNER_ID": f"bench-runner-{n}"},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for n in range(1, runners + 1)
        ]
        outputs = [p.communicate()[0] for p in processes]
        seconds = time.perf_counter() - started
        latest = export(sims)["latest_decision_basis"]
        status = json.loads(run_bot(env, "queue", "status", "--json").stdout)
    finally:
        sims.stop()
    for process, output in zip(processes, outputs, strict=True):
        if process.returncode not in (0, 6):
            raise SystemExit(f"a runner failed (exit {process.returncode}):\n{output[-3000:]}")
    if any(entry["count"] != 1 for entry in latest.values()):
        raise SystemExit("an application has more than one decision basis")
    done = status["counts"]["done"] + status["counts"]["failed_business"]
    return {"runners": runners, "items": done, "seconds": seconds, "per_hour": done / seconds * 3600,
            "bases": len(latest), "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, default=ROOT / "devdata" / "worlds" / "demo.json")
    parser.add_argument("--mode", default="support", choices=["support", "automated"])
    parser.add_argument("--runners", default="1,2", help="runner counts, e.g. 1,2,3")
    parser.add_argument("--queue", default="postgres", choices=["postgres", "sqlite"])
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.runners.split(",") if c.strip()]
    results = [measure(args.world.resolve(), args.mode, count, args.queue) for count in counts]
    print(f"world {args.world.name}, {args.mode} mode, queue {args.queue}, {os.cpu_count()} cores")
    print("runners  items  seconds  applications/hour  per runner/hour")
    for r in results:
        print(f"{r['runners']:>7}  {r['items']:>5}  {r['seconds']:>7.1f}  {r['per_hour']:>17.0f}  "
              f"{r['per_hour'] / r['runners']:>15.0f}")
    base = results[0]
    for r in results[1:]:
        print(f"ratio {r['runners']} runners / {base['runners']}: {r['per_hour'] / base['per_hour']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
