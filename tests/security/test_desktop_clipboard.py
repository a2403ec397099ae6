"""Nothing secret or personal stays on the clipboard after a desktop step, whatever its outcome.

The desktop client is driven with a recording keyboard and a clipboard of its own (no X display):
before issue 16 a password with a character that cannot be typed (`!`, `#`, `å`) was pasted at
login and left on the clipboard, and the report stayed there when saving failed."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest

from bistand.core.errors import ApplicationError
from bistand.core.models import Proposal
from bistand.desktop.client import DesktopCaseManagement
from bistand.pages.base import Credentials
from bistand.pages.casemgmt import DecisionBasisForm

REPORT = "Beslutsunderlag för Anna Andersson 19850312-1234: 12 345 kr\n" * 3


class Clipboard(types.ModuleType):
    """pyperclip as the client uses it, over a string."""

    def __init__(self) -> None:
        super().__init__("pyperclip")
        self.content = ""
        self.ever: list[str] = []

    def set_clipboard(self, _name: str) -> None:
        return None

    def copy(self, text: str) -> None:
        self.content = text
        self.ever.append(text)

    def paste(self) -> str:
        return self.content


class Keyboard:
    """pyautogui's keys; Ctrl+V types what the clipboard holds into the recorded text."""

    def __init__(self, clipboard: Clipboard) -> None:
        self.clipboard = clipboard
        self.typed: list[str] = []

    def write(self, text: str) -> None:
        self.typed.append(text)

    def press(self, key: str) -> None:
        self.typed.append(f"<{key}>")

    def hotkey(self, *keys: str) -> None:
        self.typed.append(self.clipboard.content if keys == ("ctrl", "v") else "<" + "+".join(keys) + ">")


class Screen:
    """The client's screen: each wait answers with the next state, or fails as a timeout would."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)

    def wait(self, predicate, what, **_kwargs):
        answer = self.answers.pop(0) if self.answers else None
        if answer is None or isinstance(answer, Exception):
            raise answer or ApplicationError("DESKTOP_TIMEOUT", f"timed out: {what}")
        return answer


@pytest.fixture
def clipboard(monkeypatch) -> Clipboard:
    board = Clipboard()
    monkeypatch.setitem(sys.modules, "pyperclip", board)
    return board


def client_with(password: str, clipboard: Clipboard, *answers) -> DesktopCaseManagement:
    client = DesktopCaseManagement("http://127.0.0.1:1", Credentials(username="robot", password=password))
    client._gui = Keyboard(clipboard)
    client.screen = Screen(*answers)
    return client


@pytest.mark.parametrize("password", ["lösenord", "hemligt!", "nr#1", "Å-lösen"])
@pytest.mark.parametrize("outcome", ["main", "refused", "timeout"])
def test_a_password_that_cannot_be_typed_is_pasted_and_never_left_on_the_clipboard(clipboard, password, outcome):
    answer = {"main": SimpleNamespace(active="main", dialog_error=""),
              "refused": SimpleNamespace(active="login", dialog_error="Fel användarnamn eller lösenord."),
              "timeout": None}[outcome]
    client = client_with(password, clipboard, answer)
    if outcome == "main":
        client._login()
    else:
        with pytest.raises(ApplicationError):
            client._login()
    assert password in client._gui.typed  # it reached the field
    assert clipboard.content == ""


def test_a_typable_password_never_goes_through_the_clipboard(clipboard):
    client = client_with("robot-pw_2026", clipboard, SimpleNamespace(active="main", dialog_error=""))
    client._login()
    assert "robot-pw_2026" in client._gui.typed
    assert "robot-pw_2026" not in clipboard.ever


@pytest.mark.parametrize("save", ["timeout", "refused", "saved"])
def test_the_report_leaves_the_clipboard_however_the_save_ends(clipboard, monkeypatch, save):
    form = DecisionBasisForm(application_id="ANS-2026-000005", period="2026-12", proposal=Proposal.APPROVE,
                             amount=12345, findings=["RENT_CAPPED"], report_text=REPORT)
    filled = SimpleNamespace(focus="underlag", basis_form=SimpleNamespace(underlag_chars=len(REPORT)))
    saved = {"timeout": None,
             "refused": SimpleNamespace(active="basis", dialog_error="Fel"),
             "saved": SimpleNamespace(active="main", dialog_error="")}[save]
    client = client_with("x", clipboard, SimpleNamespace(active="basis", focus="ansokan"), filled, filled, saved)
    monkeypatch.setattr(client, "open_case", lambda _case: SimpleNamespace(decision_bases=[]))
    if save == "saved":
        assert client.write_decision_basis("EB-2026-0005", form) is True
    else:
        with pytest.raises(ApplicationError):
            client.write_decision_basis("EB-2026-0005", form)
    assert REPORT in client._gui.typed  # pasted into the dialog
    assert clipboard.content == ""
