"""`python -m bistand run | produce | work | queue | replay | demo`: the bot runner's entry points.

Who puts a run together, read from the imports: `run` produces (bistand.run.work.produce: the
producer suite over the QueueAdapter, bistand.run.adapter), then works the queue until no item is
due (bistand.run.work.work: the consumer suite, rotated every `rotate_run_items`); `work --watch N`
keeps one warm consumer run (bistand.run.watch, bistand.run.watch_adapter); `replay` runs the
consumer over a stored work-items.json with rpaframework's FileAdapter; `demo` starts the
simulators around a run (bistand.run.demo). The verdict (bistand.run.verdict) is the last line
printed and the exit code:

"""

from __future__ import annotations

import argparse
from pathlib import Path

from bistand.bot.config import ROOT
from bistand.run import commands, queue_commands
from bistand.run.demo import demo
from bistand.run.exit_codes import ExitCode, exit_code_lines
from bistand.run.suite import base_env
from bistand.run.watch import add_watch_options, watch

__doc__ += "\n".join(exit_code_lines())


def main(command: str, argv: list[str]) -> int:
    if command == "queue":
        return queue_commands.main(argv, base_env(None))
    parser = argparse.ArgumentParser(prog=f"python -m bistand {command}")
    parser.add_argument("--mode", choices=["support", "automated"], default=None)
    if command in ("run", "work"):
        parser.add_argument("--items", type=int, default=0, help="process at most N items (0: all)")
        add_watch_options(parser)
    if command == "work":
        parser.add_argument("--until-empty", action="store_true",
                            help="stop when no item is due (default: keep polling for new items until SIGTERM)")
    if command == "replay":
        parser.add_argument("work_items", type=Path, help="a work-items.json (devdata/work-items-in/<name>/)")
    if command == "demo":
        parser.add_argument("--world", type=Path, default=ROOT / "devdata" / "worlds" / "demo.json")
        parser.add_argument("--base-port", type=int, default=8400)
        parser.add_argument("--runners", type=int, default=1, help="runners working the queue at once")
    args = parser.parse_args(argv)
    if command in ("run", "produce", "work", "replay") and commands.credentials_refused(base_env(args.mode)):
        return ExitCode.USAGE
    if command in ("run", "work") and args.watch is not None:  # watch mode: bistand.run.watch
        env = base_env(args.mode)
        if commands.configuration_refused(env):
            return ExitCode.CONFIG
        return watch(env, args.watch, args.rotate_items, args.rotate_minutes, args.health_port,
                     args.health_stale_seconds)
    if command == "run":
        return commands.run(args.mode, args.items)
    if command == "produce":
        return commands.produce(args.mode)
    if command == "work":
        return commands.work(args.mode, args.until_empty, args.items)
    if command == "replay":
        return commands.replay(args.work_items, args.mode)
    return demo(args.world, args.mode, args.base_port, args.runners)
