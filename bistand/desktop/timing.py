"""Seconds per application of the desktop write-back, for the benchmark (bistand.bench calls this).

`python -m bistand.desktop.timing --server URL --world WORLD.json [--count N]` writes a decision
basis (a report of typical length, pasted) for the first N applications of a freshly started
case-management simulator through the desktop client, and prints the client's start-up and login
time and the seconds per application: open the case by the search dialog, read the basis list,
fill and paste, save and see the status bar. That is the whole desktop step, so it bounds what
the desktop write-back adds to an application (the web write it replaces is not subtracted).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from pydantic import SecretStr

from bistand.core.models import Proposal
from bistand.desktop.client import DesktopCaseManagement
from bistand.pages.casemgmt import DecisionBasisForm
from bistand.settings.vault import Credentials

SAMPLE_REPORT = ("Beslutsunderlag – ekonomiskt bistånd\n\nNorm enligt riksnormen, skäliga kostnader enligt "
                 "ramen, inkomster från Försäkringskassan och arbetsgivardeklarationer.\n") * 25


def time_write_back(server_url: str, credentials: Credentials, applications: list[dict], *,
                    headless: bool = True, report: str = SAMPLE_REPORT) -> dict[str, float]:
    """{'startup_seconds', 'seconds_per_application', 'max_seconds', 'applications'} for `applications`
    (dicts with application_id, case_number, period) that have no decision basis yet."""
    client = DesktopCaseManagement(server_url, credentials, headless=headless)
    started = time.perf_counter()
    client.start()
    startup = time.perf_counter() - started
    seconds = []
    try:
        for application in applications:
            form = DecisionBasisForm(application_id=application["application_id"], period=application["period"],
                                     proposal=Proposal.MANUAL_REVIEW, amount=0, findings=[], report_text=report)
            began = time.perf_counter()
            client.write_decision_basis(application["case_number"], form)
            seconds.append(time.perf_counter() - began)
    finally:
        client.close()
    return {"startup_seconds": round(startup, 3), "seconds_per_application": round(statistics.mean(seconds), 3),
            "max_seconds": round(max(seconds), 3), "applications": len(seconds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bistand.desktop.timing", description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="case-management simulator URL (fresh state)")
    parser.add_argument("--world", type=Path, required=True, help="the world the simulator was started with")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--user", default="robot")
    parser.add_argument("--password", default="vs-robot-2026", help="the simulator's robot password")
    args = parser.parse_args(argv)
    world = json.loads(args.world.read_text(encoding="utf-8"))
    applications = world["applications"][: args.count]
    credentials = Credentials(username=args.user, password=SecretStr(args.password))
    print(json.dumps(time_write_back(args.server, credentials, applications)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
