"""Shared by the desktop tests: one Xvfb for the test session, the client started on it, waits."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bistand.desktop.display import XDisplay
from bistand.desktop.screen import Screen, ScreenReader

_DISPLAYS: list[XDisplay] = []


def shared_display() -> XDisplay:
    """One private Xvfb for this test process: pyautogui binds to one DISPLAY for good, and
    every test module that imports the fixture below gets its own fixture instance."""
    if not _DISPLAYS:
        os.environ.pop("DISPLAY", None)
        _DISPLAYS.append(XDisplay(headless=True).start())
        atexit.register(_DISPLAYS[0].stop)
    return _DISPLAYS[0]


@pytest.fixture(scope="session")
def x_display():
    return shared_display()


def gui():
    import pyautogui

    pyautogui.PAUSE = 0
    pyautogui.FAILSAFE = False
    return pyautogui


class RunningClient:
    """The desktop client as a subprocess with its state file; `wait` reads the screen."""

    def __init__(self, server_url: str, state_file: Path, env: dict[str, str] | None = None) -> None:
        state_file.unlink(missing_ok=True)
        self.state_file = state_file
        self.reader = ScreenReader(state_file, timeout=15)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulators.casemgmt_desktop", "--server", server_url,
             "--state-file", str(state_file)], env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def wait(self, condition: Callable[[Screen], bool], what: str = "condition", timeout: float = 15) -> Screen:
        return self.reader.wait(condition, what, timeout=timeout, allow=frozenset({"message"}))

    def raw(self) -> dict:
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
