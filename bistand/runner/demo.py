"""`python -m bistand demo`: the README's main command.

Starts the simulators on the demo world with a fresh state (as a separate process: the bot
never imports them), points the bot at them, runs producer + consumer in support mode, prints
where the reports, logs and run summary are, and stops the simulators.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bistand.bot.config import ROOT, SYSTEMS, load_settings
from bistand.runner import cli


def _ports_free(base: int) -> bool:
    for port in range(base, base + len(SYSTEMS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _pick_base_port(preferred: int) -> int:
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


def demo(world: Path, mode: str | None, base_port: int) -> int:
    # Its own state: `make simulators` may be serving state/demo (the bot's default frames) meanwhile.
    state = ROOT / "state" / "demo-run"
    shutil.rmtree(state / "bot", ignore_errors=True)
    base = _pick_base_port(base_port)
    print(f"Starting the simulated systems on ports {base}-{base + len(SYSTEMS) - 1} ({world.name})", flush=True)
    sims = start_simulators(world, state, base)
    os.environ["BISTAND_FRAMES_DIR"] = str(state / "frames")
    os.environ["BISTAND_STATE_DIR"] = str(state / "bot")
    for index, system in enumerate(SYSTEMS):
        os.environ[f"BISTAND_URL_{system.upper()}"] = f"http://127.0.0.1:{base + index}"
    try:
        print(f"Running the bot ({mode or 'support'} mode)", flush=True)
        code = cli.run(mode or "support", 0)
    finally:
        sims.send_signal(signal.SIGTERM)
        try:
            sims.wait(timeout=20)
        except subprocess.TimeoutExpired:
            sims.kill()
        print("Simulators stopped", flush=True)
    cli._verdict_last(load_settings(), code)  # the verdict stays the last line
    return code
