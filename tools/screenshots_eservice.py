"""Screenshots of the e-service inbox and one application for the docs (synthetic data only).

    .venv/bin/python tools/screenshots_eservice.py [--world W] [--out docs/screenshots]

Starts the simulators on free ports with a fresh state dir, logs in as the demo caseworker in
headless Chromium, and writes eservice-inbox.png and eservice-detail.png.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bistand.browser import chromium_executable, launch_args  # noqa: E402
from simulators.common.accounts import DEMO_PASSWORD, DEMO_USER  # noqa: E402
from tests.simulator_process import EXAMPLE_WORLD, Simulators, free_base_port  # noqa: E402

DETAIL_APPLICATION = "ANS-2026-000018"
"""The one with the script and formula in its message: shows that it is displayed as text."""


async def capture(base_url: str, out: Path) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_executable(), args=launch_args())
        page = await browser.new_page(viewport={"width": 1200, "height": 900}, locale="sv-SE")
        await page.goto(f"{base_url}/login?next=/inbox")
        await page.get_by_label("Användarnamn").fill(DEMO_USER)
        await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Logga in").click()
        await page.get_by_role("table", name="Ansökningar").wait_for()
        await page.screenshot(path=str(out / "eservice-inbox.png"), full_page=True)
        await page.get_by_role("link", name=DETAIL_APPLICATION).click()
        await page.get_by_role("table", name="Bilagor").wait_for()
        await page.screenshot(path=str(out / "eservice-detail.png"), full_page=True)
        await browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default=str(EXAMPLE_WORLD))
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as state:
        sims = Simulators(world=Path(args.world), state_dir=Path(state), base_port=free_base_port()).start(reset=True)
        try:
            asyncio.run(capture(sims.urls["eservice"], out))
        finally:
            sims.stop()
    print(f"wrote {out / 'eservice-inbox.png'} and {out / 'eservice-detail.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
