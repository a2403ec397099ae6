"""Screenshot of the case-management simulator: a case page with a pasted decision basis.

`python tools/screenshots_casemgmt.py [--out docs/screenshots/casemgmt-case.png]`

Starts the simulators on free ports with the example world in a temporary state dir, writes a
decision basis through the page object (as the bot does: the engine's report of the
application, rendered by bistand.report.text) and saves the case page with the
report unfolded. The world is synthetic; no real person appears.
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
from bistand.core.engine import assess  # noqa: E402
from bistand.core.models import Mode, Proposal  # noqa: E402
from bistand.core.world_bundles import bundles_from_world  # noqa: E402
from bistand.pages.base import Credentials  # noqa: E402
from bistand.pages.casemgmt import CaseManagementPage, DecisionBasisForm  # noqa: E402
from bistand.report.text import render_text  # noqa: E402
from simulators.common.accounts import accounts  # noqa: E402
from tests.simulator_process import EXAMPLE_WORLD, Simulators, free_base_port  # noqa: E402

CASE = "EB-2026-0004"
APPLICATION = "ANS-2026-000004"

def real_report() -> tuple[str, int, list[str]]:
    """The report the bot pastes for the application: the engine and renderer on the world's data."""
    world = json.loads(Path(EXAMPLE_WORLD).read_text(encoding="utf-8"))
    bundle = bundles_from_world(world)[APPLICATION]
    assessment = assess(bundle, Mode.SUPPORT)
    return render_text(bundle, assessment), assessment.amount, assessment.finding_codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "casemgmt-case.png"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    credentials = Credentials(username="robot", password=accounts("casemgmt")["robot"])
    with tempfile.TemporaryDirectory() as state_dir:
        sims = Simulators(world=EXAMPLE_WORLD, state_dir=Path(state_dir), base_port=free_base_port()).start(reset=True)
        try:
            with BrowserSession(headless=True) as session:

                async def shoot() -> None:
                    context = await session.context("casemgmt", viewport={"width": 1280, "height": 900})
                    casemgmt = CaseManagementPage(context, sims.urls["casemgmt"], credentials)
                    text, amount, findings = real_report()
                    await casemgmt.write_decision_basis(CASE, DecisionBasisForm(
                        application_id=APPLICATION, period="2026-12", proposal=Proposal.APPROVE, amount=amount,
                        findings=findings, report_text=text,
                    ))
                    page = await casemgmt.open(f"/arende/{CASE}", "ärendet")
                    await page.get_by_role("heading", name="Beslutsunderlag nr 1", exact=False).wait_for()
                    await page.screenshot(path=str(out), full_page=True)
                    await page.close()

                session.run(shoot())
        finally:
            sims.stop()
    print(f"saved {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
