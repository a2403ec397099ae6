"""The bot's own record of every application it has queued, so no work is done twice.

Control Room keeps the work-item queue in production; a bot runner (or a developer) running
locally needs the same guarantees across crashes: the producer queues an application once, a
crashed run's unfinished items are queued again on the next run, and DONE/BUSINESS items are
never redone. A JSON file, written atomically (write + rename) after every change.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

ItemState = Literal["queued", "done", "business", "application"]


class LedgerEntry(BaseModel):
    application_id: str
    case_number: str
    period: str
    state: ItemState = "queued"
    attempts: int = 0
    code: str = ""
    queued_at: datetime
    finished_at: datetime | None = None


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.entries: dict[str, LedgerEntry] = {}
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.entries = {k: LedgerEntry.model_validate(v) for k, v in raw.items()}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        data = {k: v.model_dump(mode="json") for k, v in self.entries.items()}
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)

    def queue(self, application_id: str, case_number: str, period: str) -> bool:
        """Record a new application; False when it is already known (no second work item)."""
        with self._lock:
            if application_id in self.entries:
                return False
            self.entries[application_id] = LedgerEntry(
                application_id=application_id, case_number=case_number, period=period,
                queued_at=datetime.now(UTC),
            )
            self._save()
            return True

    def unfinished(self) -> list[LedgerEntry]:
        """Queued or failed on a system error: to be (re)processed."""
        return [e for e in self.entries.values() if e.state in ("queued", "application")]

    def finish(self, application_id: str, state: ItemState, code: str = "") -> None:
        with self._lock:
            entry = self.entries.get(application_id)
            if entry is None:
                return
            self.entries[application_id] = entry.model_copy(update={
                "state": state, "code": code, "attempts": entry.attempts + 1,
                "finished_at": datetime.now(UTC),
            })
            self._save()

    def state_of(self, application_id: str) -> ItemState | None:
        entry = self.entries.get(application_id)
        return entry.state if entry else None
