"""Start `python -m simulators` as a real process on free ports and wait for `ready`."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from simulators.registry import SYSTEMS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_WORLD = ROOT.parent / "shared" / "contracts" / "world-example.json"
if not EXAMPLE_WORLD.exists():
    EXAMPLE_WORLD = ROOT / "devdata" / "worlds" / "example.json"


PORT_BLOCKS = (20000, 32000)
"""Simulators' ports come from below Linux's ephemeral range (32768-60999), so no client socket of
a browser, a database connection or another test takes one between the probe and the bind; each
pytest-xdist worker draws from its own share of the block, so the two workers never pick alike."""


def free_base_port(count: int = len(SYSTEMS)) -> int:
    """A base port with `count` consecutive free ports on loopback, in this test worker's share."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    low, high = PORT_BLOCKS
    share = (high - low) // workers
    start = low + share * (int(worker) % workers if worker.isdigit() else 0)
    draw = random.Random()  # noqa: S311 - spreads tests over the share, nothing secret
    for _attempt in range(200):
        base = draw.randrange(start, start + share - count)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port range")


@dataclass
class Simulators:
    world: Path
    state_dir: Path
    base_port: int
    faults: bool = False
    """Start with `--faults`: /_sim/faults answers (tests of retries)."""
    host: str = "127.0.0.1"
    """The address the systems listen on (and their URLs name)."""
    launcher: tuple[str, ...] = ()
    """A command the simulators run under, e.g. `("ip", "netns", "exec", NAME)` (another host)."""
    process: subprocess.Popen | None = None
    output: list[str] = field(default_factory=list)

    @property
    def urls(self) -> dict[str, str]:
        return {s.key: f"http://{self.host}:{self.base_port + i}" for i, s in enumerate(SYSTEMS)}

    @property
    def frames_dir(self) -> Path:
        return self.state_dir / "frames"

    def start(self, reset: bool = False, timeout: float = 60, env: dict | None = None) -> Simulators:
        cmd = [
            *self.launcher, sys.executable, "-m", "simulators", "--world", str(self.world),
            "--state-dir", str(self.state_dir), "--base-port", str(self.base_port), "--host", self.host,
        ]
        if reset:
            cmd.append("--reset")
        if self.faults:
            cmd.append("--faults")
        self.output = []
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})},
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.process and self.process.stdout
            for line in self.process.stdout:
                self.output.append(line.rstrip())
                if line.strip() == "ready":
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.is_set():
            if self.process.poll() is not None:
                time.sleep(0.2)
                raise RuntimeError("simulators exited:\n" + "\n".join(self.output))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("simulators not ready in time:\n" + "\n".join(self.output))
            ready.wait(0.05)
        return self

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:  # the launcher gives its systems 10 s in all; the rest is for a machine under load
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None
