"""Benchmark the bot end to end against the HTTP floor: `python -m bistand bench` (README, Performance).

    .venv/bin/python tools/benchmark.py [--world devdata/worlds/demo.json] [--json OUT]
                                        [--browser headless-shell|chromium] [--read fetch|render]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bistand.bench.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
