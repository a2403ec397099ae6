"""What the client's window shows, read through its accessible widget state, and waits on it.

Tk on X11 has no accessibility tree (AT-SPI), so the client publishes one: the open windows, the
active one, the focused field, the status bar, the decision-basis list and the basis dialog's
values (simulators/casemgmt_desktop/state.py). Reading that is what a UI Automation bot does on
Windows; it is exact where image matching would depend on fonts and colours, and it costs
milliseconds. Every wait here is on such a condition, with a timeout; none is a fixed sleep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_delay, wait_fixed

from bistand.core.errors import ApplicationError

POLL_SECONDS = 0.01
"""How often a wait looks at the screen again (the client redraws far less often)."""
NOT_RESPONDING_SECONDS = 3.0
"""The client's heartbeat is 0.2 s; this long without one and it is hung ("Svarar inte")."""
UNEXPECTED_WINDOWS = {"message"}


class BasisRow(BaseModel):
    """One row of the case window's Beslutsunderlag list."""

    nr: str
    application_id: str
    period: str
    proposal: str
    amount: str
    client: str


class BasisFormView(BaseModel):
    ansokan: str
    period: str
    forslag: str
    belopp: str
    noteringar: str
    underlag_chars: int


class CaseView(BaseModel):
    case_number: str
    decision_bases: list[BasisRow]


class Screen(BaseModel):
    """One reading of the client's window state."""

    pid: int
    heartbeat: float
    active: str
    focus: str
    status: str
    user: str = ""
    dialog_error: str = ""
    title: str = ""
    windows: list[dict[str, str]] = []
    case: CaseView | None = None
    basis_form: BasisFormView | None = None


def parse_screen(raw: dict[str, Any]) -> Screen:
    """The pure parser of the client's published state (values as strings, as shown)."""
    if raw.get("case"):
        raw = {**raw, "case": {**raw["case"], "decision_bases": [
            {k: str(v) for k, v in row.items()} for row in raw["case"].get("decision_bases", [])]}}
    return Screen.model_validate(raw)


class ScreenReader:
    def __init__(self, state_file: Path, timeout: float = 10.0) -> None:
        self.state_file = state_file
        self.timeout = timeout

    def read(self) -> Screen | None:
        try:
            return parse_screen(json.loads(self.state_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def wait(self, condition: Callable[[Screen], bool], what: str, timeout: float | None = None,
             allow: frozenset[str] = frozenset()) -> Screen:
        """The first screen on which `condition` holds.

        Fails at once on an unexpected dialog (unless its window name is in `allow`), after
        NOT_RESPONDING_SECONDS without a heartbeat, or after the timeout; always an
        ApplicationError whose message names the step, never a value from the screen.
        """
        limit = self.timeout if timeout is None else timeout

        def check() -> Screen | None:
            screen = self.read()
            if screen is None:
                return None
            if condition(screen):
                return screen
            if screen.active in UNEXPECTED_WINDOWS - allow:
                raise ApplicationError("UNEXPECTED_DIALOG", f"desktop client: a dialog appeared while {what}")
            if time.time() - screen.heartbeat > NOT_RESPONDING_SECONDS:
                raise ApplicationError("CLIENT_NOT_RESPONDING", f"desktop client froze while {what}")
            return None

        return poll(check, what, limit)


def poll(check: Callable[[], Any], what: str, timeout: float) -> Any:
    """The first truthy result of `check`, asked every POLL_SECONDS (tenacity, the project's one
    retry library); an exception from `check` ends the wait at once; none within `timeout`: TIMEOUT."""

    def timed_out(_state: RetryCallState) -> None:
        raise ApplicationError("TIMEOUT", f"desktop client: {what} took more than {timeout:.0f} s")

    return Retrying(
        retry=retry_if_result(lambda result: not result), wait=wait_fixed(POLL_SECONDS),
        stop=stop_after_delay(timeout), retry_error_callback=timed_out,
    )(check)


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    """A wait on something other than the window (the clipboard), with the same timeout rule."""
    poll(condition, what, timeout)
