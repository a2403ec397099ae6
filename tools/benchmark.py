"""Benchmark the bot end to end against the HTTP floor: `python -m bistand bench` (README, Performance).

    .venv/bin/python tools/benchmark.py [--world devdata/worlds/demo.json] [--json OUT]
                                        [--browser headless-shell|chromium] [--read fetch|render]
    .venv/bin/python tools/benchmark.py --runners 1,2 --queue postgres   (tools/queue_benchmark.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bistand.bench.cli import main  # noqa: E402

if __name__ == "__main__":
    if "--runners" in sys.argv or "--queue" in sys.argv:  # several runners on one queue
        from tools.queue_benchmark import main as queue_benchmark

        raise SystemExit(queue_benchmark(sys.argv[1:]))
    raise SystemExit(main())
