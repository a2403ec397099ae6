"""Screenshot of the case-management desktop client with a pasted report, taken under Xvfb.

`python tools/screenshot_desktop.py [--out docs/screenshots/casemgmt-desktop.png]`

Starts the simulators on free ports with the example world in a temporary state dir, a private
Xvfb and the client; the bot's driver saves one decision basis (so the case window lists it),
then opens the case again and fills a new one, pasting the engine's report of the application,
and the screen is saved before saving. The world is synthetic; no real person appears.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import ImageGrab  # noqa: E402

from bistand.core.models import Proposal  # noqa: E402
from bistand.desktop.client import DesktopCaseManagement  # noqa: E402
from bistand.pages.base import Credentials  # noqa: E402
from bistand.pages.casemgmt import DecisionBasisForm  # noqa: E402
from simulators.common.accounts import accounts  # noqa: E402
from tests.simulator_process import EXAMPLE_WORLD, Simulators, free_base_port  # noqa: E402
from tools.screenshots_casemgmt import APPLICATION, CASE, real_report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "casemgmt-desktop.png"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.environ.pop("DISPLAY", None)
    credentials = Credentials(username="robot", password=accounts("casemgmt")["robot"])
    text, amount, findings = real_report()
    form = DecisionBasisForm(application_id=APPLICATION, period="2026-12", proposal=Proposal.APPROVE,
                             amount=amount, findings=findings, report_text=text)
    with tempfile.TemporaryDirectory() as state_dir:
        sims = Simulators(world=EXAMPLE_WORLD, state_dir=Path(state_dir), base_port=free_base_port()).start(reset=True)
        client = DesktopCaseManagement(sims.urls["casemgmt"], credentials, headless=True)
        try:
            client.start()
            client.write_decision_basis(CASE, form)
            client.open_case(CASE)
            client.fill_decision_basis(form)
            filled = time.time()  # Tk redraws when idle: wait for two heartbeats after the paste
            client.screen.wait(lambda s: s.heartbeat > filled + 0.4, "redrawing")
            ImageGrab.grab(xdisplay=os.environ["DISPLAY"]).crop((0, 0, 1180, 800)).save(out)
        finally:
            client.close()
            sims.stop()
    print(f"saved {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
