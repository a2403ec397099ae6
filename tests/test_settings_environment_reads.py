"""The environment is read in bistand/settings/ only: every other module is handed the Settings.

A ratchet: the files the run core still has to convert are listed with what they read; a new
reader anywhere else fails, and so does a listed file that no longer reads (take it off the list).
"""

from __future__ import annotations

import ast

from bistand.settings import ROOT

PACKAGE = ROOT / "bistand"
STILL_READING = {
    # writes, not reads: pyautogui, pyperclip and the client process take the display from DISPLAY
    "bistand/desktop/display.py": "sets DISPLAY and XAUTHORITY for the private Xvfb and restores them",
    # copies, not reads: a child process needs PATH, HOME, the browser's and Control Room's variables
    "bistand/run/suite.py": "copies the environment, without BISTAND_*, for a Robot Framework process or a runner "
                            "(its settings go as one file: BISTAND_SETTINGS)",
    "bistand/bench/harness.py": "copies the environment for a measured runner, a child command "
                                "(`python -m bistand run`, `work --watch`) that loads the settings itself",
}


def readers() -> set[str]:
    """Files under bistand/ outside bistand/settings/ that touch os.environ or call os.getenv."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("bistand/settings/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            attribute = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os"
            imported = isinstance(node, ast.ImportFrom) and node.module == "os" \
                and any(alias.name in ("environ", "getenv") for alias in node.names)
            if attribute or imported:
                found.add(relative)
                break
    return found


def test_no_module_outside_the_settings_reads_the_environment_unless_listed() -> None:
    assert sorted(readers() - set(STILL_READING)) == []


def test_a_listed_module_still_reads_it() -> None:
    assert sorted(set(STILL_READING) - readers()) == [], "take the converted file off STILL_READING"
