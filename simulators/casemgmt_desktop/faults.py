"""Faults for the bot's recovery tests, from the environment (never set in normal use).

SIM_DESKTOP_FAULTS: comma-separated names. `hang-after-save`: the client freezes (no events, no
heartbeat) right after a successful save. `dialog-on-open`: an unexpected modal message appears
when a case opens. With SIM_DESKTOP_FAULTS_DIR each fault fires once across client restarts (a
marker file per fault); without it, once per client process.
"""

from __future__ import annotations

import os
from pathlib import Path

HANG_SECONDS = 60


class Faults:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.names = {n.strip() for n in env.get("SIM_DESKTOP_FAULTS", "").split(",") if n.strip()}
        marker_dir = env.get("SIM_DESKTOP_FAULTS_DIR", "")
        self.marker_dir = Path(marker_dir) if marker_dir else None
        self.fired: set[str] = set()

    def due(self, name: str) -> bool:
        """True the first time a configured fault is reached (then never again)."""
        if name not in self.names or name in self.fired:
            return False
        self.fired.add(name)
        if self.marker_dir is None:
            return True
        self.marker_dir.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(self.marker_dir / f"{name}.fired", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True
