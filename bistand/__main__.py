"""`python -m bistand <command>`: report | run | produce | work | queue | replay | demo | norm | bench | dashboard
| records | explain.

See README."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        print("  report  assess a world file offline and write reports + outcomes.json")
        print("  run     produce, then work until no item is due (one runner)")
        print("  produce queue every new application of the e-service inbox")
        print("  work    one runner on the work queue [--until-empty] [--items N]")
        print("          --watch N: answer at once, polling the inbox and the queue every N s (docs/operations.md)")
        print("  queue   status [--json] | retry ID|--all-parked | skip ID --reason TEXT")
        print("  replay  process the work items of one stored work-items.json")
        print("  demo    simulators up, run on the demo world, print paths, simulators down")
        print("  norm    show | add | verify the riksnorm tables (next year's norm)")
        print("  bench   seconds, memory and CPU per application against the HTTP floor (README, Performance)")
        print("  dashboard  the team lead's dashboard over the queue [--port 8480] [--host 127.0.0.1] [--demo]")
        print("  records verify [--since DATE] | purge [--older-than N] | schema: the sealed decision records")
        print("  explain ANS-… | --all [--since DATE] [--json]: how a decision was reached; the same today?")
        return 0
    command, rest = argv[0], argv[1:]
    if command == "report":
        from bistand.cli.report import main as report_main

        return report_main(rest)
    if command == "norm":
        from bistand.cli.norm import main as norm_main

        return norm_main(rest)
    if command == "bench":
        from bistand.bench.cli import main as bench_main

        return bench_main(rest)
    if command == "dashboard":
        from bistand.dashboard.cli import main as dashboard_main

        return dashboard_main(rest)
    if command == "records":
        from bistand.records.cli import records_main

        return records_main(rest)
    if command == "explain":
        from bistand.records.cli import explain_main

        return explain_main(rest)
    if command in {"run", "produce", "work", "queue", "replay", "demo"}:
        from bistand.run.cli import main as runner_main

        return runner_main(command, rest)
    print(f"unknown command: {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
