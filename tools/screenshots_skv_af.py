"""Screenshots of the Skatteverket and Arbetsförmedlingen simulators for the docs.

    .venv/bin/python tools/screenshots_skv_af.py [--world WORLD.json] [--out docs/screenshots]

Starts the simulators on free ports with a throw-away state dir, logs in as the robot (with the
TOTP step at Skatteverket) and saves `skv.png` (folkbokföring with the same-address list) and
`af.png` (an inskrivningsstatus). The example world is synthetic: no real person is shown.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKV_PERSON = "19881008-5822"
AF_PERSON = "19700215-5526"


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from bistand.browser import BrowserSession
    from bistand.pages.af import ArbetsformedlingenPage
    from bistand.pages.base import Credentials
    from bistand.pages.skv import SkatteverketPage
    from simulators.common.accounts import SKV_TOTP_SECRET, accounts
    from tests.simulator_process import EXAMPLE_WORLD, Simulators, free_base_port

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default=str(EXAMPLE_WORLD))
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    async def shoot(session: BrowserSession, sims: Simulators) -> None:
        targets = [
            (SkatteverketPage, "skv", Credentials(username="robot", password=accounts("skv")["robot"],
                                                  totp_secret=SKV_TOTP_SECRET), f"/folkbokforing?pnr={SKV_PERSON}"),
            (ArbetsformedlingenPage, "af", Credentials(username="robot", password=accounts("af")["robot"]),
             f"/inskrivning?pnr={AF_PERSON}"),
        ]
        for page_class, system, credentials, path in targets:
            portal = page_class(await session.context(system, viewport={"width": 1100, "height": 760}),
                                sims.urls[system], credentials)
            page = await portal.open(path)
            try:
                await page.get_by_role("heading", level=1).first.wait_for()
                await page.screenshot(path=str(out / f"{system}.png"), full_page=True)
            finally:
                await page.close()

    with tempfile.TemporaryDirectory() as state_dir:
        sims = Simulators(world=Path(args.world), state_dir=Path(state_dir), base_port=free_base_port())
        sims.start(reset=True)
        try:
            with BrowserSession(headless=True) as session:
                session.run(shoot(session, sims))
        finally:
            sims.stop()
    print(f"saved {out / 'skv.png'} and {out / 'af.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
