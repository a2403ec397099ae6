"""The case-management desktop client, driven like a person at a Citrix desktop: keys and clipboard.

One client per run, logged in once. For each application: open the case with the search dialog
(Ctrl+F), look for the application in the window's own Beslutsunderlag list, open the dialog
(Ctrl+B), type the short fields in their fixed tab order, paste the report from the clipboard,
save (Ctrl+S) and confirm the save from the status bar. Nothing typed is logged.

The clipboard is a shared place (other programs on the desktop, a Citrix session's clipboard
sync): every step that may put something on it (`_clipboard_step`) empties it when it ends,
whatever the outcome. A password goes through the clipboard only when it cannot be typed (a
character outside TYPABLE), and the clipboard is emptied as soon as the login has an outcome
(Tk reads the selection while it handles Ctrl+V, before the Enter that follows it).
"""

from __future__ import annotations

import contextlib
import io
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageFilter, ImageGrab

from bistand.core.errors import ApplicationError
from bistand.core.models import Proposal
from bistand.desktop.display import XDisplay, die_with_parent
from bistand.desktop.screen import NOT_RESPONDING_SECONDS, CaseView, Screen, ScreenReader, wait_until
from bistand.pages.casemgmt import DecisionBasisForm
from bistand.settings import DesktopSettings
from bistand.settings.vault import Credentials

PROPOSAL_LABELS = {Proposal.APPROVE: "Bevilja", Proposal.REJECT: "Avslå",
                   Proposal.MANUAL_REVIEW: "Manuell handläggning"}
"""The drop-down's entries; the first letter selects one, as in a Windows drop-down."""
SAVED_STATUS = "Beslutsunderlag sparat"
START_TIMEOUT = 30.0
BLUR_RADIUS = 9
"""As the web screenshots' text blur (bistand.pages.base.BLUR_ALL_TEXT, 9 px): nothing stays legible."""
TYPABLE = set(string.ascii_letters + string.digits + " -_.,:@/+=()")


def client_command(server_url: str, state_file: Path) -> list[str]:
    """How the client is started (on a Citrix estate: the published application's launcher)."""
    return [sys.executable, "-m", "simulators.casemgmt_desktop", "--server", server_url,
            "--state-file", str(state_file)]


def blur(image: Image.Image) -> Image.Image:
    """A screenshot with every text unreadable: it may show personal data."""
    return image.convert("RGB").filter(ImageFilter.GaussianBlur(BLUR_RADIUS))


class DesktopCaseManagement:
    """The client on an X display: `start()` once per run, `write_decision_basis()` per item."""

    def __init__(self, server_url: str, credentials: Credentials, *, headless: bool = True,
                 timeout: float = 10.0, failures_dir: Path | None = None,
                 desktop: DesktopSettings | None = None) -> None:
        self.server_url = server_url
        self.credentials = credentials
        self.headless = headless
        self.desktop = desktop or DesktopSettings()
        """The developer's own X display (settings `desktop.*`), used when not headless."""
        self.timeout = timeout
        self.failures_dir = failures_dir
        self.display: XDisplay | None = None
        self.process: subprocess.Popen | None = None
        self.screen: ScreenReader | None = None
        self.failure_screenshots: list[Path] = []
        self.logins = 0
        self._gui = None

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> DesktopCaseManagement:
        """The display, the client and one login."""
        if self.display is None:
            self.display = XDisplay(self.headless, self.desktop.display, self.desktop.xauthority).start()
        import pyautogui  # noqa: PLC0415 - binds to DISPLAY at import, so only once it is set

        pyautogui.PAUSE = 0  # waits are on the screen, not after every key
        pyautogui.FAILSAFE = not self.display.own  # a developer can abort by the mouse corner
        self._gui = pyautogui
        self._launch()
        return self

    def _launch(self) -> None:
        self._stop_client()
        state_file = self.display.scratch / "client-state.json"
        state_file.unlink(missing_ok=True)
        self.screen = ScreenReader(state_file, self.timeout)
        self.process = subprocess.Popen(
            client_command(self.server_url, state_file), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only
        )
        self.screen.wait(lambda s: s.active == "login" and s.focus == "anvandarnamn",
                         "the login dialog opened", timeout=START_TIMEOUT)
        self._login()

    def _login(self) -> None:
        with self._clipboard_step():
            self._type(self.credentials.username)
            self._gui.press("tab")
            self._type(self.credentials.password.get_secret_value())
            self._gui.press("enter")
            screen = self.screen.wait(lambda s: s.active == "main" or bool(s.dialog_error), "logging in")
        if screen.active != "main":
            raise ApplicationError("LOGIN_FAILED", "casemgmt desktop client: login was refused")
        self.logins += 1

    def _stop_client(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def close(self) -> None:
        self._stop_client()
        if self.display is not None and self.display.own:
            self._release_clipboard()
        if self.display is not None:
            self.display.stop()
            self.display = None

    def ensure_ready(self) -> Screen:
        """The main window, idle: after a failure, close stray dialogs (Esc) or restart the client."""
        if self._gui is None or self.display is None:
            self.start()
        elif self.process is None or self.process.poll() is not None:
            self._launch()
        screen = self.screen.read()
        if screen is None or time.time() - screen.heartbeat > NOT_RESPONDING_SECONDS:
            self._launch()  # a frozen client cannot be talked round
            screen = self.screen.read()
        for _ in range(3):
            if screen is not None and screen.active == "main":
                return screen
            self._gui.press("escape")
            try:
                screen = self.screen.wait(lambda s: s.active == "main", "closing a dialog", timeout=2.0,
                                          allow=frozenset({"message"}))
            except ApplicationError:
                screen = self.screen.read()
        self._launch()
        return self.screen.wait(lambda s: s.active == "main", "restarting the client")

    # -- keyboard and clipboard ---------------------------------------------------------

    def _type(self, text: str) -> None:
        """Short ASCII by keystrokes; anything else (å, ä, ö, newlines) by the clipboard."""
        if text and set(text) <= TYPABLE:
            self._gui.write(text)
        elif text:
            self._paste(text)

    def _paste(self, text: str) -> None:
        import pyperclip  # noqa: PLC0415 - uses xclip on DISPLAY

        pyperclip.set_clipboard("xclip")
        pyperclip.copy(text)
        # xclip returns before the X server has seen it take the clipboard: read it back first.
        wait_until(lambda: pyperclip.paste() == text, "putting the report on the clipboard", self.timeout)
        self._gui.hotkey("ctrl", "v")

    def _release_clipboard(self) -> None:
        """xclip serves the clipboard from the background; hand it to one that leaves after a single
        read (and is silent), so stopping the display leaves no complaint on the console."""
        try:
            subprocess.run(["xclip", "-selection", "clipboard", "-loops", "1"], input=b"", timeout=5,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            subprocess.run(["xclip", "-selection", "clipboard", "-o"], timeout=5, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def _clear_clipboard(self) -> None:
        """The report holds personal data, a password is a secret: neither stays on the clipboard.
        Never raises: it runs in `finally` and must not hide the step's own error."""
        try:
            import pyperclip  # noqa: PLC0415

            pyperclip.copy("")
        except Exception:  # noqa: BLE001 - no display or no xclip: nothing can be on its clipboard either
            return

    @contextlib.contextmanager
    def _clipboard_step(self) -> Iterator[None]:
        """A step that may use the clipboard: empty it afterwards, whether the step worked or not."""
        try:
            yield
        finally:
            self._clear_clipboard()

    # -- the caseworker's steps -----------------------------------------------------------

    def open_case(self, case_number: str) -> CaseView:
        """Ärende > Sök ärende (Ctrl+F), by case number; the case window as shown."""
        self.ensure_ready()
        self._gui.hotkey("ctrl", "f")
        self.screen.wait(lambda s: s.active == "search" and s.focus == "arendenummer", "opening the search")
        with self._clipboard_step():  # a case number that could not be typed; emptied once the search answered
            self._type(case_number)
            self._gui.press("enter")
            screen = self.screen.wait(
                lambda s: (s.active == "main" and s.case is not None and s.case.case_number == case_number)
                or (s.active == "search" and bool(s.dialog_error)),
                "opening the case",
            )
        if screen.active == "search":
            self._gui.press("escape")
            raise ApplicationError("CASE_NOT_FOUND", "casemgmt desktop client: the search found no case")
        return screen.case

    def write_decision_basis(self, case_number: str, form: DecisionBasisForm) -> bool:
        """True when written now, False when the case window already lists one for the application."""
        with self._clipboard_step():  # the report leaves the clipboard however the save ends
            case = self.open_case(case_number)
            if form.application_id in {row.application_id for row in case.decision_bases}:
                return False
            self.fill_decision_basis(form)
            self._gui.hotkey("ctrl", "s")
            screen = self.screen.wait(
                lambda s: (s.active == "main" and s.status.startswith(SAVED_STATUS) and s.case is not None
                           and form.application_id in {r.application_id for r in s.case.decision_bases})
                or (s.active == "basis" and bool(s.dialog_error)),
                "saving the decision basis",
            )
        if screen.active == "basis":
            raise ApplicationError("BASIS_REFUSED", "casemgmt desktop client refused the decision basis")
        return True

    def fill_decision_basis(self, form: DecisionBasisForm) -> None:
        """Ärende > Nytt beslutsunderlag (Ctrl+B) on the open case: fields typed, report pasted, checked."""
        label = PROPOSAL_LABELS[form.proposal]
        expected = {"ansokan": form.application_id, "period": form.period, "forslag": label,
                    "belopp": str(form.amount), "noteringar": ",".join(form.findings)}
        self._gui.hotkey("ctrl", "b")
        self.screen.wait(lambda s: s.active == "basis" and s.focus == "ansokan", "opening Nytt beslutsunderlag")
        for name in ("ansokan", "period"):
            self._type(expected[name])
            self._gui.press("tab")
        self._gui.press(label[0].lower())
        self._gui.press("tab")
        for name in ("belopp", "noteringar"):
            self._type(expected[name])
            self._gui.press("tab")
        self.screen.wait(
            lambda s: s.focus == "underlag" and s.basis_form is not None
            and s.basis_form.model_dump(exclude={"underlag_chars"}) == expected,
            "filling in the decision basis",
        )
        report = form.report_text.replace("\r\n", "\n")
        self._paste(report)
        self.screen.wait(lambda s: s.basis_form is not None and s.basis_form.underlag_chars == len(report),
                         "pasting the report")

    # -- failures -----------------------------------------------------------------------

    def capture_failure(self, name: str) -> Path | None:
        """A blurred screenshot of the whole display, kept with the run's failure artifacts."""
        if self.failures_dir is None or self.display is None:
            return None
        try:
            shot = blur(ImageGrab.grab(xdisplay=self.display.name or None))
        except OSError:
            return None
        self.failures_dir.mkdir(parents=True, exist_ok=True)
        path = self.failures_dir / f"{name}-desktop-{len(self.failure_screenshots) + 1}.png"
        buffer = io.BytesIO()
        shot.save(buffer, format="PNG")
        path.write_bytes(buffer.getvalue())
        self.failure_screenshots.append(path)
        return path
