"""An X display for the desktop client: the developer's own, or a private Xvfb for the run.

A small wrapper around Debian's Xvfb rather than a library: `-displayfd` lets Xvfb pick a free
display number, a fresh cookie (`-auth`) keeps other local processes off a screen that shows
personal data, and the server is tied to the bot's life (PR_SET_PDEATHSIG), so a killed run
never leaves a display behind.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from bistand.core.errors import ApplicationError

SCREEN = "1280x1024x24"
START_TIMEOUT = 15.0
FAMILY_LOCAL = 256


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


def _write_xauthority(path: Path, displays: range = range(100)) -> None:
    """A fresh MIT-MAGIC-COOKIE for the private display: it shows personal data, so only this
    run's processes may connect. One entry per possible display number, since Xvfb picks it."""

    def field(value: bytes) -> bytes:
        return struct.pack(">H", len(value)) + value

    cookie, host = secrets.token_bytes(16), socket.gethostname().encode()
    entries = (struct.pack(">H", FAMILY_LOCAL) + field(host) + field(str(n).encode())
               + field(b"MIT-MAGIC-COOKIE-1") + field(cookie) for n in displays)
    path.write_bytes(b"".join(entries))
    path.chmod(0o600)


class XDisplay:
    """`start()` sets DISPLAY for this process (pyautogui, the clipboard, the client); `stop()` undoes it.

    `display` and `xauthority` are the developer's own (settings `desktop.display`, `desktop.xauthority`:
    DISPLAY and XAUTHORITY when the run started); `name` is the display in use."""

    def __init__(self, headless: bool = True, display: str = "", xauthority: str = "") -> None:
        self.headless = headless
        self.process: subprocess.Popen | None = None
        self.scratch = Path(tempfile.mkdtemp(prefix="bistand-x-"))
        self._previous = {"DISPLAY": display or None, "XAUTHORITY": xauthority or None}
        self.name = display

    @property
    def own(self) -> bool:
        return self.process is not None

    def start(self) -> XDisplay:
        """A private Xvfb unless a developer asked to watch (`BISTAND_HEADLESS=false` with a DISPLAY)."""
        if not self.headless and self._previous["DISPLAY"]:
            return self
        if shutil.which("Xvfb") is None:
            raise ApplicationError("NO_DISPLAY", "Xvfb is not installed (run tools/ensure-xvfb.sh)")
        authority = self.scratch / "Xauthority"
        _write_xauthority(authority)
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp",
                 "-auth", str(authority)],
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
        self.name = f":{number}"
        os.environ["DISPLAY"] = self.name  # written for pyautogui, pyperclip and the client process
        os.environ["XAUTHORITY"] = str(authority)
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
            self.name = self._previous["DISPLAY"] or ""
            for name, value in self._previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        shutil.rmtree(self.scratch, ignore_errors=True)
