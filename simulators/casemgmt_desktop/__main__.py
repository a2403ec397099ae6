"""`python -m simulators.casemgmt_desktop --server URL [--state-file PATH]`: the thick client."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simulators.casemgmt_desktop.faults import Faults
from simulators.casemgmt_desktop.server import Server
from simulators.casemgmt_desktop.state import StatePublisher


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.casemgmt_desktop",
        description="Verksamhetssystem IFO: the case-management system's desktop client (Tkinter).",
    )
    parser.add_argument("--server", required=True, help="the case-management server, e.g. http://127.0.0.1:8008")
    parser.add_argument("--state-file", type=Path, default=None,
                        help="where the client publishes its accessible widget state (JSON); off when not given")
    args = parser.parse_args(argv)
    import tkinter  # noqa: PLC0415 - a clear message when there is no display

    from simulators.casemgmt_desktop.app import DesktopClient  # noqa: PLC0415

    try:
        client = DesktopClient(Server(args.server), StatePublisher(args.state_file), Faults())
    except tkinter.TclError as exc:
        print(f"Cannot open the client window: {exc} (is DISPLAY set? see tools/ensure-xvfb.sh)", file=sys.stderr)
        return 2
    client.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
