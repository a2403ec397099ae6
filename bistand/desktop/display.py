"""An X display for the desktop client: the developer's own, or a private Xvfb for the run.

A small wrapper around Debian's Xvfb rather than a library: `-displayfd` lets Xvfb pick a free
display number, and the server is tied to the bot's life (PR_SET_PDEATHSIG), so a killed run
never leaves a display behind.
"""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bistand.core.errors import ApplicationError

SCREEN = "1280x1024x24"
START_TIMEOUT = 15.0


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _read_line(fd: int, timeout: float) -> str:
    """Xvfb writes the display number and a newline; closing the pipe early would kill it."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(fd, 32) if ready else b""
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


def _ensure_xauthority(scratch: Path) -> None:
    """python-xlib insists on an Xauthority file; Xvfb without -auth needs none, so an empty one."""
    if os.environ.get("XAUTHORITY") or (Path.home() / ".Xauthority").exists():
        return
    empty = scratch / "Xauthority"
    empty.touch()
    os.environ["XAUTHORITY"] = str(empty)


class XDisplay:
    """`start()` sets DISPLAY for this process (pyautogui, the clipboard, the client); `stop()` undoes it."""

    def __init__(self, headless: bool = True) -> None:
        self.headless = headless
        self.process: subprocess.Popen | None = None
        self.scratch = Path(tempfile.mkdtemp(prefix="bistand-x-"))
        self._previous = os.environ.get("DISPLAY")

    @property
    def own(self) -> bool:
        return self.process is not None

    def start(self) -> XDisplay:
        """A private Xvfb unless a developer asked to watch (`BISTAND_HEADLESS=false` with a DISPLAY)."""
        _ensure_xauthority(self.scratch)
        if not self.headless and os.environ.get("DISPLAY"):
            return self
        if shutil.which("Xvfb") is None:
            raise ApplicationError("NO_DISPLAY", "Xvfb is not installed (run tools/ensure-xvfb.sh)")
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp"],
                pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only
            )
            os.close(write_end)
            number = _read_line(read_end, START_TIMEOUT)
        finally:
            os.close(read_end)
        if not number.isdigit():
            self.stop()
            raise ApplicationError("NO_DISPLAY", "Xvfb did not start")
        os.environ["DISPLAY"] = f":{number}"
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None
            if self._previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = self._previous
        shutil.rmtree(self.scratch, ignore_errors=True)
