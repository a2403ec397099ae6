"""`python -m simulators --world WORLD.json [--state-dir DIR] [--base-port 8400] [--host 127.0.0.1] [--faults]`

Validates the world, seeds every system (SQLite under the state dir, reference-frame workbooks
under `<state-dir>/frames/`), serves all of them from one process on consecutive ports, prints
one line per system and `ready`, and stops cleanly on SIGINT/SIGTERM.

The default state dir, state/demo, is the one the bot reads its frames from by default
(`frames_dir: state/demo/frames` in resources/config.yaml) and the one `python -m bistand demo`
uses. `--faults` turns on `/_sim/faults` for tests of retries (simulators.common.faults).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from pathlib import Path

import uvicorn

from simulators.common.web import SystemContext
from simulators.registry import SYSTEMS, factory, urls
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


def build_apps(world: dict, state_dir: Path, reset: bool, system_urls: dict[str, str], faults: bool = False):
    """Seed every system and return (system, app) pairs; also writes the frame workbooks."""
    state_dir.mkdir(parents=True, exist_ok=True)
    from simulators.frames import write_frames

    write_frames(world, state_dir / "frames", reset=reset)
    apps = []
    for system in SYSTEMS:
        ctx = SystemContext(
            name=system.key, world=world, state_dir=state_dir, reset=reset, urls=system_urls, faults=faults,
        )
        apps.append((system, factory(system)(ctx)))
    return apps


async def serve(apps, host: str, base_port: int, log_level: str) -> None:
    servers = []
    for system, app in apps:
        index = SYSTEMS.index(system)
        config = uvicorn.Config(
            app, host=host, port=base_port + index, log_level=log_level, access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # one handler for all, below
        servers.append(server)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            for t in tasks:
                if t.done() and t.exception():
                    raise t.exception()
            raise SystemExit("a simulator failed to start (is the port in use?)")
        await asyncio.sleep(0.02)
    print("ready", flush=True)
    await stop.wait()
    for s in servers:
        s.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks)
    print("stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    try:
        world = load_world(args.world)
    except WorldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    system_urls = urls(args.host, args.base_port)
    apps = build_apps(world, Path(args.state_dir), args.reset, system_urls, faults=args.faults)
    for system, _app in apps:
        print(f"{system.key:<9} {system.title:<42} {system_urls[system.key]}", flush=True)
    print(f"frames    Referensramar (filresurs){'':<17} {Path(args.state_dir, 'frames').resolve()}")
    if args.faults:
        print("faults    /_sim/faults enabled on every system (loopback only)", flush=True)
    print(f"seeded in {time.perf_counter() - started:.2f} s", flush=True)
    try:
        asyncio.run(serve(apps, args.host, args.base_port, args.log_level))
    except SystemExit as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
