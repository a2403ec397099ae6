"""Screenshot of the case-management simulator: a case page with a pasted decision basis.

`python tools/screenshots_casemgmt.py [--out docs/screenshots/casemgmt-case.png]`

Starts the simulators on free ports with the example world in a temporary state dir, writes a
decision basis through the page object (as the bot does) and saves the case page with the
report unfolded. The world is synthetic; no real person appears.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bistand.browser import BrowserSession  # noqa: E402
from bistand.core.models import Proposal  # noqa: E402
from bistand.pages.base import Credentials  # noqa: E402
from bistand.pages.casemgmt import CaseManagementPage, DecisionBasisForm  # noqa: E402
from simulators.common.accounts import accounts  # noqa: E402
from tests.simulator_process import EXAMPLE_WORLD, Simulators, free_base_port  # noqa: E402

CASE = "EB-2026-0004"
APPLICATION = "ANS-2026-000004"

SAMPLE_REPORT = """BESLUTSUNDERLAG – ekonomiskt bistånd (försörjningsstöd)
Ärende EB-2026-0004 · Ansökan ANS-2026-000004 · Period 2026-12
Förslag: Bevilja 12 220 kr

Riksnorm
  Ensamstående vuxen                         3 530 kr
  Gemensamma kostnader, 1 person             1 330 kr

Skäliga kostnader utanför riksnormen
  Hyra               yrkat 8 200 kr   tak 6 700 kr   godkänt 6 700 kr   (kapad kostnad)
  Hushållsel         yrkat   300 kr                  godkänt   300 kr

Inkomster
  Inga inkomster yrkade eller registrerade.

Noteringar
  COST_CAPPED (ej blockerande): Hyran 8 200 kr är högre än referensramens 6 700 kr; 6 700 kr räknas.

Källor: e-tjänsten 2026-11-24 08:02, Försäkringskassan, Arbetsförmedlingen, Skatteverket,
referensram EB-2026-0004.xlsx. Underlaget är förberett av roboten; beslut fattas av handläggare.
"""


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
                    await casemgmt.write_decision_basis(CASE, DecisionBasisForm(
                        application_id=APPLICATION, period="2026-12", proposal=Proposal.APPROVE, amount=12220,
                        findings=["COST_CAPPED"], report_text=SAMPLE_REPORT,
                    ))
                    page = await casemgmt.open(f"/arende/{CASE}", "ärendet")
                    await page.get_by_text("Visa beslutsunderlag nr 1").click()
                    await page.get_by_text("BESLUTSUNDERLAG – ekonomiskt bistånd").wait_for()
                    await page.screenshot(path=str(out), full_page=True)
                    await page.close()

                session.run(shoot())
        finally:
            sims.stop()
    print(f"saved {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
