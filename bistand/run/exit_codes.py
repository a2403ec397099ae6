"""The exit codes of `python -m bistand …`: one enum, used by every command (the bench too).

Each code carries its meaning as its docstring (`ExitCode.PARKED.__doc__`) and what an operator
does about it (`ExitCode.PARKED.action`). The run commands' `--help` and docs/operations.md show
the same table (`exit_code_lines()`, `exit_code_table()`); tests/test_exit_codes.py checks that the
documents still say what the enum says.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a run's exit code says; its last line says why (the verdict, bistand.run.verdict)."""

    action: str

    def __new__(cls, value: int, meaning: str, action: str) -> ExitCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.__doc__ = meaning
        member.action = action
        return member

    OK = (0, "every item DONE, or failed as BUSINESS (bad data a retry cannot fix, e.g. `NO_CASE`; a "
             "caseworker must look), or nothing to do",
          "nothing")
    SYSTEM_FAILURES = (1, "at least one item failed on a system error after its retries (APPLICATION); the "
                          "queue tries it again after its delay",
                       "alert if it repeats")
    USAGE = (2, "usage or configuration error; or `queue retry` or `queue skip` refused by the state table "
                "(the reason is printed)",
             "fix the call or the configuration; see the item's state in `queue status`")
    STOPPED = (3, "the run stopped after too many consecutive failures of the same system "
                  "(`BISTAND_MAX_CONSECUTIVE_ERRORS`, default 5): a portal is probably down",
               "alert; the items stay in the queue")
    LOCKED = (4, "another `make run` (the demo) is active on this checkout; this one did nothing and left the "
                 "live run's state alone",
              "expected")
    PRODUCER = (5, "the producer failed (the e-service inbox could not be read)",
                "alert")
    PARKED = (6, "some items were parked (*behöver åtgärd*: out of tries, a configuration gap such as a "
                 "missing norm table, or a write the case-management system holds twice); the other items "
                 "were processed",
              "`python -m bistand queue status`, fix, `queue retry`")
    CONFIG = (7, "configuration error found before start (the frames folder does not exist); nothing was done",
              "fix the configuration; the message names the folder")


def exit_code_lines() -> list[str]:
    """`  0  every item …`: the table for the run commands' `--help` and module docstring."""
    return [f"  {code.value}  {code.__doc__}" for code in ExitCode]


def exit_code_table() -> str:
    """The Markdown table docs/operations.md carries under "Exit codes" (checked by a test)."""
    rows = ["| exit code | meaning | what to do |", "|---|---|---|"]
    rows += [f"| {code.value} | {code.__doc__} | {code.action} |" for code in ExitCode]
    return "\n".join(rows)
