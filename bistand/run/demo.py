"""`python -m bistand demo`: the README's main command (`make run`).

Starts the simulators on the demo world with a fresh state (as a separate process: the bot
never imports them), points the bot at them, queues the inbox, works the queue with one or
more runners, prints where the reports, logs and run summaries are, and stops the simulators.

One demo at a time per checkout: a second `make run` while one is live refuses (exit 4) before
it touches state/demo-run, so it can never reset a live run's simulators, queue or output.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bistand.bot.lock import RunLock, RunLocked
from bistand.report.plural import plural
from bistand.run import commands
from bistand.run.exit_codes import ExitCode
from bistand.run.folders import new_run_dir
from bistand.run.suite import child_env, forget_settings
from bistand.run.verdict import verdict_of
from bistand.run.work import produce, queue_for
from bistand.settings import ROOT, SYSTEMS, Settings, load_or_exit

SEVERITY = [ExitCode.OK, ExitCode.SYSTEM_FAILURES, ExitCode.PARKED, ExitCode.STOPPED]


def _ports_free(base: int) -> bool:
    for port in range(base, base + len(SYSTEMS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def pick_base_port(preferred: int) -> int:
    for base in (preferred, *range(preferred + 100, preferred + 2000, 100)):
        if _ports_free(base):
            return base
    raise SystemExit("no free ports for the simulators")


def start_simulators(world: Path, state_dir: Path, base_port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators", "--world", str(world), "--state-dir", str(state_dir),
         "--base-port", str(base_port), "--reset"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    ready = threading.Event()
    lines: list[str] = []

    def pump() -> None:
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.strip() == "ready":
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 60
    while not ready.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("simulators did not start:\n" + "\n".join(lines[-20:]))
    for line in lines:
        if line.strip() and line.strip() != "ready":
            print(f"  {line}")
    return process


def demo(world: Path, mode: str | None, base_port: int, runners: int = 1) -> int:
    try:
        lock = RunLock(ROOT / "state" / "demo.lock").acquire()
    except RunLocked as exc:
        print(f"Not started: another `make run` is active on this checkout (pid {exc.holder}, "
              f"lock {ROOT / 'state' / 'demo.lock'}); its simulators, queue and output were left alone", flush=True)
        return ExitCode.LOCKED
    try:
        return _demo(world, mode, base_port, max(1, runners))
    finally:
        lock.release()


def _demo(world: Path, mode: str | None, base_port: int, runners: int) -> int:
    # Its own state: `make simulators` may be serving state/demo (the bot's default frames) meanwhile.
    state = ROOT / "state" / "demo-run"
    shutil.rmtree(state / "bot", ignore_errors=True)
    base = pick_base_port(base_port)
    print(f"Starting the simulated systems on ports {base}-{base + len(SYSTEMS) - 1} ({world.name})", flush=True)
    settings = load_or_exit(  # the demo's world over the operator's settings; only the demo uses devdata/vault.json
        mode=mode or "support", frames_dir=state / "frames", state_dir=state / "bot", demo=True,
        urls={system: f"http://127.0.0.1:{base + index}" for index, system in enumerate(SYSTEMS)})
    sims = start_simulators(world, state, base)
    store = queue_for(settings)
    store.clear()  # the world was reseeded: the queue starts empty too
    print(f"Work queue: {store.url.split('@')[-1]}", flush=True)
    store.close()
    try:
        print(f"Running the bot ({mode or 'support'} mode, {plural(runners, 'runner')})", flush=True)
        if runners == 1:
            code = commands.run(settings, 0)
            run_dirs = [(settings.output_dir / "latest").resolve()]
        else:
            code, run_dirs = _several_runners(settings, state, runners), []
    finally:
        sims.send_signal(signal.SIGTERM)
        try:
            sims.wait(timeout=20)
        except subprocess.TimeoutExpired:
            sims.kill()
        print("Simulators stopped", flush=True)
    # the verdict stays the last line
    if code == ExitCode.PRODUCER:
        print("Stopped: the producer could not queue the inbox", flush=True)
    elif runners == 1:
        verdict_of(run_dirs[0])
    else:
        print(_several_verdict(code), flush=True)
    return code


def _several_runners(settings: Settings, state: Path, runners: int) -> int:
    """Queues the inbox once, then starts `runners` processes of `work --until-empty`, each handed
    the demo's settings with its own runner id as one file (BISTAND_SETTINGS, bistand.run.suite)."""
    code = produce(settings, new_run_dir(settings, "demo-producer"))
    if code != ExitCode.OK:
        return code
    started = time.perf_counter()
    processes, envs = [], []
    for number in range(1, runners + 1):
        runner = f"demo-runner-{number}"
        envs.append(child_env(settings.updated(runner_id=runner), state / runner))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "bistand", "work", "--until-empty"], cwd=ROOT, env=envs[-1],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    pumps = [threading.Thread(target=_prefix, args=(f"runner {n}", p), daemon=True)
             for n, p in enumerate(processes, start=1)]
    for pump in pumps:
        pump.start()
    codes = [p.wait() for p in processes]
    for env in envs:
        forget_settings(env)
    for pump in pumps:
        pump.join(timeout=10)
    print(f"Total run time {time.perf_counter() - started:.1f} s with {runners} runners", flush=True)
    worst = max(codes, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY))
    return worst


def _prefix(name: str, process: subprocess.Popen) -> None:
    for line in process.stdout:
        print(f"[{name}] {line.rstrip()}", flush=True)


def _several_verdict(code: int) -> str:
    return {
        ExitCode.OK: "OK: every runner finished; the queue has nothing due",
        ExitCode.SYSTEM_FAILURES: "Some items failed on a system error; the queue retries them later",
        ExitCode.PARKED: "Some items were parked (behöver åtgärd): see `python -m bistand queue status`",
        ExitCode.STOPPED: "A runner stopped after too many consecutive failures of the same system",
    }.get(code, f"A runner ended with exit code {code}")
