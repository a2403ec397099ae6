"""Screenshots of the four payment portals' result pages for the docs (docs/screenshots/<key>.png).

Starts the simulators on free ports with the demo world (it has payments in every register),
logs in with the demo account and searches the first person of each register.
Usage: .venv/bin/python tools/screenshots_payment_portals.py [--world devdata/worlds/demo.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bistand.browser import BrowserSession  # noqa: E402
from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER  # noqa: E402
from tests.simulator_process import Simulators, free_base_port  # noqa: E402

PORTALS = ("fk", "csn", "pm", "akassa")


async def shoot(session: BrowserSession, system: str, url: str, pnr: str, target: Path) -> None:
    context = await session.context(system, viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    await page.goto(f"{url}/login")
    await page.get_by_label("Användarnamn").fill(DEMO_USER)
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await page.get_by_label("Personnummer", exact=True).wait_for()
    await page.get_by_label("Personnummer", exact=True).fill(pnr)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sök", exact=True).click()
    await page.screenshot(path=str(target), full_page=False)
    await page.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default=str(ROOT / "devdata" / "worlds" / "demo.json"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    world = json.loads(Path(args.world).read_text(encoding="utf-8"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sims = Simulators(world=Path(args.world), state_dir=Path(tempfile.mkdtemp(prefix="shots-")),
                      base_port=free_base_port()).start(reset=True, timeout=180)
    try:
        with BrowserSession(headless=True) as session:
            for system in PORTALS:
                rows = world["registers"][system]
                if not rows:
                    print(f"{system}: no payments in this world, skipped")
                    continue
                target = out / f"{system}.png"
                session.run(shoot(session, system, sims.urls[system], rows[0]["personnummer"], target))
                print(f"{system}: {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    finally:
        sims.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
