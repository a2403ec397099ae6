"""Screenshots of the caseworker's HTML report for the documentation.

`python tools/screenshots_report.py [--out-dir docs/screenshots]`

Assesses ANS-2026-000001 (approve) and ANS-2026-000009 (manual review) of the example world
offline and saves each HTML report as Chromium shows it. The world is synthetic; no real person
appears.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bistand.browser import BrowserSession  # noqa: E402
from bistand.core.engine import assess  # noqa: E402
from bistand.core.world_bundles import bundles_from_world  # noqa: E402
from bistand.report.html import render_html  # noqa: E402
from bistand.report.pdf import render_png  # noqa: E402
from tests.simulator_process import EXAMPLE_WORLD  # noqa: E402

SHOTS = {"ANS-2026-000001": "report-approve.png", "ANS-2026-000009": "report-manual.png"}
ASSESSED_AT = datetime(2026, 11, 23, 7, 42, tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, default=EXAMPLE_WORLD)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    bundles = bundles_from_world(json.loads(args.world.read_text(encoding="utf-8")))
    with BrowserSession(headless=True) as session:
        for application_id, file_name in SHOTS.items():
            bundle = bundles[application_id]
            html = render_html(bundle, assess(bundle, now=ASSESSED_AT))
            path = render_png(html, args.out_dir / file_name, session, width=880)
            print(f"{application_id}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
