"""`python -m bistand work --watch N`: one runner as a 24/7 service that answers at once.

Älmhult's model: an applicant files a re-application in the e-service and gets the decision
notice there within a minute. The watcher keeps one Robot Framework consumer run alive (one
browser, every system logged in once); that run's work-item adapter
(bistand.run.watch_adapter) queues what is new in the inbox every N seconds and claims from
the queue, so no producer run and no browser start is paid per poll.

Runs are rotated so that no output.xml grows for ever: a new run, with its own evidence folder
under output/runs/, after `--rotate-items` items (default 100) or `--rotate-minutes` minutes
(default 60). A run that ends badly (the browser could not start, too many system errors in a
row, the queue database away) is followed by a pause that grows from N seconds up to five
minutes; items wait in the queue meanwhile and are retried on the queue's schedule.

SIGTERM (or Ctrl-C): the item in hand is finished, the run writes its summary, and the watcher
exits 0. Exit codes: 0 stopped on request, 2 usage, 7 configuration error before start; a crash
of the watcher itself exits 1 (systemd's Restart=on-failure then starts it again; the item it
held returns to the queue when its lease runs out). See docs/operations.md, "Watch mode".
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bistand.monitoring.presence import RunnerPresence
from bistand.run.exit_codes import ExitCode
from bistand.run.folders import new_run_dir
from bistand.run.health_endpoint import HealthEndpoint
from bistand.run.suite import child_env, forget_settings
from bistand.run.verdict import stopped_reason, verdict_of
from bistand.settings import ROOT, Settings

ADAPTER = "bistand.run.watch_adapter.WatchAdapter"
MAX_PAUSE_SECONDS = 300.0
PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """In the consumer run (Linux): SIGTERM when the watcher dies, so no orphan run goes on alone."""
    with contextlib.suppress(OSError):  # not glibc Linux: the run still ends at its next rotation
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Watcher:
    """The loop of consumer runs; `stop()` (SIGTERM) ends it after the item in hand."""

    def __init__(self, settings: Settings, seconds: float, rotate_items: int, rotate_minutes: float,
                 presence: RunnerPresence | None = None, stale_seconds: float = 900) -> None:
        self.settings = settings
        self.seconds = seconds
        self.rotate_items = rotate_items
        self.rotate_minutes = rotate_minutes
        self.stopping = threading.Event()
        self.process: subprocess.Popen | None = None
        self.runs = 0
        self.presence = presence
        self.stale_seconds = stale_seconds
        self.last_run_healthy = True
        self.last_run_code = 0
        self.alive_file: Path | None = None
        self.run_started = time.monotonic()
        """Touched by the run's adapter whenever it looks for work or releases an item (its progress)."""

    def health(self) -> tuple[bool, dict[str, object]]:
        """Whether the watcher's run works: the last run did not end badly (no back-off under way)
        and the run in hand has shown progress within `stale_seconds`."""
        detail: dict[str, object] = {"runs": self.runs, "last_run_code": self.last_run_code}
        if not self.last_run_healthy and self.process is None:
            return False, {**detail, "reason": "the last run ended badly; the next one waits (back-off)"}
        if self.process is not None and self.alive_file is not None:
            try:
                quiet = time.time() - self.alive_file.stat().st_mtime
            except OSError:
                quiet = time.monotonic() - self.run_started
            detail["seconds_since_progress"] = round(quiet, 1)
            if quiet > self.stale_seconds:
                return False, {**detail, "reason": f"no progress for {quiet:.0f} s"}
        return True, detail

    def stop(self, *_args) -> None:
        self.stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the run finishes its item, then ends

    def run_settings(self, run_dir: Path) -> Settings:
        """What one watch run is handed: its folder, the consumer's side of the queue, the poll
        interval, the rotation and the file it touches on progress."""
        return self.settings.updated(
            run={"dir": str(run_dir), "total_items": 0, "items_before": 0},
            queue={"role": "consumer", "until_empty": True},
            watch={"seconds": self.seconds, "rotate_minutes": self.rotate_minutes,
                   "alive_file": str(run_dir / "alive")})

    def consumer_run(self, run_dir: Path) -> int:
        """One Robot Framework consumer run; returns its exit code."""
        cmd = [
            sys.executable, "-m", "robot", "--outputdir", str(run_dir), "--report", "NONE",
            "--console", "quiet", "--loglevel", "INFO", "--logtitle", "bistand watch",
            "--pythonpath", str(ROOT), "--pythonpath", str(ROOT / "keywords"),
            "--listener", "bistand.bot.masking.MaskingListener",
            "--variable", f"ITEMS_LIMIT:{self.rotate_items}", str(ROOT / "tasks" / "consumer.robot"),
        ]
        self.alive_file = run_dir / "alive"
        self.run_started = time.monotonic()
        env = child_env(self.run_settings(run_dir), run_dir, ADAPTER)
        try:
            self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=_end_with_parent)
            if self.stopping.is_set():  # SIGTERM came while the run was starting
                self.process.send_signal(signal.SIGTERM)
            return self.process.wait()
        finally:
            self.process = None
            forget_settings(env)

    def loop(self) -> int:
        pause = 0.0
        while not self.stopping.is_set():
            run_dir = new_run_dir(self.settings, self.settings.runner_id)
            self.runs += 1
            print(f"Watch run {self.runs}: {run_dir}", flush=True)
            started = time.monotonic()
            code = self.consumer_run(run_dir)
            verdict = verdict_of(run_dir)
            if self.stopping.is_set():
                break
            healthy = code == 0 and verdict != ExitCode.STOPPED
            self.last_run_healthy, self.last_run_code = healthy, verdict or code
            if self.presence is not None:  # the run's verdict (exit 3 names the system) for Robotar and alerts
                self.presence.run_ended(verdict or code, stopped_reason(run_dir))
            if healthy or time.monotonic() - started > MAX_PAUSE_SECONDS:
                pause = 0.0  # a long run that ended badly starts the back-off afresh
            if not healthy:
                pause = min(max(2 * pause, self.seconds), MAX_PAUSE_SECONDS)
                print(f"Watch run ended badly (robot exit {code}): next run in {pause:.0f} s; "
                      f"see {run_dir / 'log.html'}", flush=True)
                self.stopping.wait(pause)
        print("Watch stopped: the item in hand was finished; unfinished items stay in the queue", flush=True)
        return ExitCode.OK


def add_watch_options(parser: argparse.ArgumentParser) -> None:
    """`--watch N [--rotate-items N] [--rotate-minutes M]` for `run` and `work`."""
    parser.add_argument("--watch", type=float, metavar="SECONDS", default=None,
                        help="keep polling the inbox and the queue every SECONDS until SIGTERM (watch mode)")
    parser.add_argument("--rotate-items", type=int, default=100, metavar="N",
                        help="watch mode: a new run (own log and evidence) after N items (default 100)")
    parser.add_argument("--rotate-minutes", type=float, default=60, metavar="M",
                        help="watch mode: a new run after M minutes (default 60)")
    parser.add_argument("--health-port", type=int, default=None, metavar="PORT",
                        help="watch mode: answer GET http://127.0.0.1:PORT/health (200 working, 503 not)")
    parser.add_argument("--health-stale-seconds", type=float, default=900, metavar="S",
                        help="watch mode: /health fails when the run shows no progress for S seconds (default 900)")


def watch(settings: Settings, seconds: float, rotate_items: int = 100, rotate_minutes: float = 60,
          health_port: int | None = None, stale_seconds: float = 900) -> int:
    """Runs until SIGTERM or Ctrl-C; see the module docstring for the exit codes."""
    if seconds <= 0 or rotate_items < 0 or rotate_minutes <= 0 or stale_seconds <= 0:
        print("--watch, --rotate-items, --rotate-minutes and --health-stale-seconds must be positive", flush=True)
        return ExitCode.USAGE
    with RunnerPresence(settings, "watch") as presence:  # Robotar, the heartbeat and the alerts
        watcher = Watcher(settings, seconds, rotate_items, rotate_minutes, presence, stale_seconds)
        endpoint = HealthEndpoint(watcher.health, health_port).start() if health_port is not None else None
        previous = {sig: signal.signal(sig, watcher.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            print(f"Watching the e-service inbox and the work queue every {seconds:g} s "
                  f"(runner {settings.runner_id}); stop with SIGTERM", flush=True)
            if endpoint is not None:
                print(f"Health check: {endpoint.url}", flush=True)
            presence.exit_code = watcher.loop()
            return presence.exit_code
        finally:
            if endpoint is not None:
                endpoint.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
