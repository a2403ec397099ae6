"""`python -m simulators --world WORLD.json [--state-dir DIR] [--base-port 8400] [--host 127.0.0.1] [--faults]`

Validates the world, seeds every system (SQLite under the state dir, reference-frame workbooks
under `<state-dir>/frames/`), serves each from its own process on consecutive ports, prints
one line per system and `ready`, and stops cleanly on SIGINT/SIGTERM.

The default state dir, state/demo, is the one the bot reads its frames from by default
(`frames_dir: state/demo/frames` in resources/config.yaml) and the one `python -m bistand demo`
uses. `--faults` turns on `/_sim/faults` for tests of retries (simulators.common.faults).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import uvicorn

from simulators.common.web import SystemContext
from simulators.registry import SYSTEMS, System, factory, urls
from simulators.world import WorldError, load_world

DEFAULT_WORLD = Path(__file__).resolve().parent.parent / "devdata" / "worlds" / "demo.json"
DEFAULT_STATE_DIR = Path("state") / "demo"
"""Relative to the working directory, like the bot's frames_dir (state/demo/frames)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators", description="Serve the eight simulated systems on consecutive ports.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--world", default=str(DEFAULT_WORLD), help="world JSON file")
    parser.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR),
                        help="SQLite state, and the frames folder <state-dir>/frames the bot reads")
    parser.add_argument("--base-port", type=int, default=8400, help="port of the first system (eservice)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--reset", action="store_true", help="reseed from the world")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    parser.add_argument("--faults", action="store_true",
                        help="enable POST/GET/DELETE /_sim/faults (loopback only) for tests; never in the demo")
    return parser.parse_args(argv)


def build_app(system: System, world: dict, state_dir: Path, reset: bool, system_urls: dict[str, str],
              faults: bool = False):
    """Seed one system (its SQLite under the state dir) and return its app."""
    ctx = SystemContext(name=system.key, world=world, state_dir=state_dir, reset=reset, urls=system_urls,
                        faults=faults)
    return factory(system)(ctx)


def serve_one(system: System, world: dict, state_dir: Path, reset: bool, system_urls: dict[str, str],
              host: str, port: int, log_level: str, report: Connection, faults: bool = False) -> None:
    """One system in its own process: seed, serve, say `ready` (or why not), stop on SIGTERM/SIGINT.

    A process per system: the handlers' blocking SQLite work never stalls another system, and the
    eight systems use every core, as the agencies' separate servers would.
    """
    # The launcher's handlers came along with the fork: until uvicorn installs its own, a SIGTERM
    # must end this process, not set a copy of the launcher's stop event that nobody reads.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        app = build_app(system, world, state_dir, reset, system_urls, faults)
        server = uvicorn.Server(uvicorn.Config(
            app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off",
        ))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which prints it
        report.send(f"{system.key}: {type(exc).__name__}: {exc}")
        return

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                report.send(f"{system.key}: could not start on port {port} (is the port in use?)")
                return
            await asyncio.sleep(0.02)
        report.send("ready")
        await task

    asyncio.run(run())


def serve(world: dict, state_dir: Path, reset: bool, system_urls: dict[str, str], host: str, base_port: int,
          log_level: str, faults: bool = False) -> None:
    """Start one process per system, print `ready` when all serve, stop them all on SIGINT/SIGTERM."""
    started = time.perf_counter()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    forking = multiprocessing.get_context("fork")
    children: list[tuple[multiprocessing.Process, Connection]] = []
    try:
        for index, system in enumerate(SYSTEMS):
            receive, send = forking.Pipe(duplex=False)
            child = forking.Process(
                target=serve_one, name=f"sim-{system.key}", daemon=True,
                args=(system, world, state_dir, reset, system_urls, host, base_port + index, log_level, send, faults),
            )
            child.start()
            send.close()
            children.append((child, receive))
        for child, receive in children:
            while not receive.poll(0.05):
                if stop.is_set():
                    return
                if not child.is_alive():
                    raise SystemExit(f"{child.name} exited before it was ready")
            message = receive.recv()
            if message != "ready":
                raise SystemExit(message)
        print(f"seeded and started in {time.perf_counter() - started:.2f} s", flush=True)
        print("ready", flush=True)
        while not stop.wait(0.5):
            if any(not child.is_alive() for child, _ in children):
                raise SystemExit("a simulator process ended unexpectedly")
    finally:
        for child, _ in children:
            if child.is_alive():
                os.kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10  # one wait for all of them, well inside a caller's patience
        for child, _ in children:
            child.join(timeout=max(0.0, deadline - time.monotonic()))
            if child.is_alive():
                child.kill()
                child.join()
    print("stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        world = load_world(args.world)
    except WorldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    system_urls = urls(args.host, args.base_port)
    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    from simulators.frames import write_frames

    write_frames(world, state_dir / "frames", reset=args.reset)
    for system in SYSTEMS:
        print(f"{system.key:<9} {system.title:<42} {system_urls[system.key]}", flush=True)
    print(f"frames    Referensramar (filresurs){'':<17} {(state_dir / 'frames').resolve()}")
    if args.faults:
        print("faults    /_sim/faults enabled on every system (loopback only)", flush=True)
    try:
        serve(world, state_dir, args.reset, system_urls, args.host, args.base_port, args.log_level, args.faults)
    except SystemExit as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
