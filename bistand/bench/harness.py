"""What both benchmarks (bistand.bench.cli, bistand.bench.watch) share: the simulated estate as a
separate process on free ports, the bot's environment pointed at it, and the nearest-rank percentile."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bistand.bench.processes import tree_cpu
from bistand.run.demo import pick_base_port
from bistand.settings import ROOT, SYSTEMS


class Simulators:
    """`python -m simulators` as a separate process (the bot never imports the simulators)."""

    def __init__(self, world: Path, state_dir: Path) -> None:
        self.base_port = pick_base_port(8400 + (os.getpid() % 40) * 20)
        self.state_dir = state_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulators", "--world", str(world), "--state-dir", str(state_dir),
             "--base-port", str(self.base_port), "--reset"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            for line in self.process.stdout:
                self.lines.append(line.rstrip())
                if line.strip() == "ready":
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 120
        while not ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("simulators did not start:\n" + "\n".join(self.lines[-20:]))

    @property
    def urls(self) -> dict[str, str]:
        """Each system's URL as the simulators printed it."""
        found = {}
        for line in self.lines:
            parts = line.split()
            if parts and parts[0] in SYSTEMS and parts[-1].startswith("http"):
                found[parts[0]] = parts[-1]
        return found

    def cpu(self) -> float:
        return sum(tree_cpu(self.process.pid).values())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value at least `share` of the values are at or below."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def bot_env(urls: dict[str, str], frames_dir: Path, work: Path, browser: str, read: str) -> dict[str, str]:
    """The environment of a measured runner (`python -m bistand run`, `work --watch`): a copy of
    this process's with the simulated world's settings; that command loads them (a demo: the
    demo's vault, devdata/vault.json)."""
    env = dict(os.environ)
    env.update({f"BISTAND_URL_{system.upper()}": url for system, url in urls.items()})
    env.update({
        "BISTAND_FRAMES_DIR": str(frames_dir), "BISTAND_STATE_DIR": str(work / "bot-state"),
        "BISTAND_OUTPUT_DIR": str(work / "output"), "BISTAND_MODE": "support",
        "BISTAND_BROWSER": browser, "BISTAND_READ_STRATEGY": read, "BISTAND_DEMO": "1",
    })
    return env
