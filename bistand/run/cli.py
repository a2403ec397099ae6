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

from bistand.run import commands, queue_commands
from bistand.run.demo import demo
from bistand.run.exit_codes import ExitCode, exit_code_lines
from bistand.run.watch import add_watch_options, watch
from bistand.settings import ROOT, Settings, load_or_exit

__doc__ += "\n".join(exit_code_lines())
EXIT_CODES = "exit codes:\n" + "\n".join(exit_code_lines())


def register(commands: argparse._SubParsersAction) -> None:
    """`run`, `produce`, `work`, `queue …`, `replay` and `demo` in `python -m bistand`'s command tree;
    each `--help` ends with the exit codes."""

    def command(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--mode", choices=["support", "automated"], default=None)
        parser.set_defaults(handler=handler)
        return parser

    run = command("run", "produce, then work until no item is due (one runner)", run_command)
    run.add_argument("--items", type=int, default=0, help="process at most N items (0: all)")
    add_watch_options(run)
    command("produce", "queue every new application of the e-service inbox", produce_command)
    work = command("work", "one runner on the work queue [--until-empty] [--items N]; --watch N: answer at "
                           "once, polling the inbox and the queue every N s (docs/operations.md)", work_command)
    work.add_argument("--items", type=int, default=0, help="process at most N items (0: all)")
    add_watch_options(work)
    work.add_argument("--until-empty", action="store_true",
                      help="stop when no item is due (default: keep polling for new items until SIGTERM)")
    queue_commands.register(commands)
    replay = command("replay", "process the work items of one stored work-items.json", replay_command)
    replay.add_argument("work_items", type=Path, help="a work-items.json (devdata/work-items-in/<name>/)")
    demo_parser = command("demo", "simulators up, run on the demo world, print paths, simulators down", demo_command)
    demo_parser.add_argument("--world", type=Path, default=ROOT / "devdata" / "worlds" / "demo.json")
    demo_parser.add_argument("--base-port", type=int, default=8400)
    demo_parser.add_argument("--runners", type=int, default=1, help="runners working the queue at once")


def _settings(args: argparse.Namespace) -> Settings:
    """The command's settings, loaded once: YAML, the environment, then its flags (`--mode`); a bad
    value stops it with a line naming the variable (exit code 2)."""
    return load_or_exit(mode=args.mode)


def _watch(settings: Settings, args: argparse.Namespace) -> int:
    """`run|work --watch N`: one warm consumer run until SIGTERM (bistand.run.watch)."""
    if commands.configuration_refused(settings):
        return ExitCode.CONFIG
    return watch(settings, args.watch, args.rotate_items, args.rotate_minutes, args.health_port,
                 args.health_stale_seconds)


def run_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if commands.credentials_refused(settings):  # no default credentials outside the demo
        return ExitCode.USAGE
    return _watch(settings, args) if args.watch is not None else commands.run(settings, args.items)


def produce_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    return ExitCode.USAGE if commands.credentials_refused(settings) else commands.produce(settings)


def work_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if commands.credentials_refused(settings):
        return ExitCode.USAGE
    if args.watch is not None:
        return _watch(settings, args)
    return commands.work(settings, args.until_empty, args.items)


def replay_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    return ExitCode.USAGE if commands.credentials_refused(settings) else commands.replay(settings, args.work_items)


def demo_command(args: argparse.Namespace) -> int:
    """The demo loads its settings itself, once it knows the simulators' ports (bistand.run.demo)."""
    return demo(args.world, args.mode, args.base_port, args.runners)
