"""Log-in accounts of the simulated systems (synthetic; the bot reads its own from the vault).

Each system has a `robot` service account (used by the bot) and a `demo` account for a person
clicking through. Skatteverket asks for a TOTP code as a second factor (e-legitimation stand-in).
Override any password with the environment variable SIM_PASSWORD_<SYSTEM> (e.g. SIM_PASSWORD_FK).
"""

from __future__ import annotations

import os

ROBOT_USER = "robot"
DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - synthetic demo account of a local simulator

_ROBOT_PASSWORDS = {
    "eservice": "etjanst-robot-2026",
    "fk": "fk-robot-2026",
    "af": "af-robot-2026",
    "csn": "csn-robot-2026",
    "skv": "skv-robot-2026",
    "pm": "pm-robot-2026",
    "akassa": "akassa-robot-2026",
    "casemgmt": "vs-robot-2026",
}

# Base32 secret shared with the bot's vault: the stand-in for the robot's e-legitimation.
SKV_TOTP_SECRET = os.environ.get("SIM_SKV_TOTP_SECRET", "KZXW6YTBNRSXG5DJNZTSA2LTEBZWSYLU")


def accounts(system: str) -> dict[str, str]:
    robot = os.environ.get(f"SIM_PASSWORD_{system.upper()}", _ROBOT_PASSWORDS[system])
    return {ROBOT_USER: robot, DEMO_USER: DEMO_PASSWORD}


def needs_totp(system: str) -> bool:
    return system == "skv"
