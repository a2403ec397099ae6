"""The client's accessible widget state, published for assistive tools and RPA.

Tk on X11 exposes no accessibility tree (no AT-SPI), so the client publishes what a screen
reader would get from UI Automation on Windows: the open windows, the active one, the focused
field, the status bar, the visible decision-basis list and the basis dialog's field values (the
report only as its length). Written atomically as JSON to the file named by `--state-file`,
after every change and as a heartbeat every HEARTBEAT_MS (a stale heartbeat = not responding).
Nothing personal is in it: no names, no personnummer, no report text.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

HEARTBEAT_MS = 200


class StatePublisher:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.sequence = 0

    def publish(self, state: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.sequence += 1
        state = {**state, "pid": os.getpid(), "sequence": self.sequence, "heartbeat": time.time()}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.path)
