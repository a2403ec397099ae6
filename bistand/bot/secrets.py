"""Credentials from RPA.Robocorp.Vault: Control Room's vault in production, a vault file elsewhere.

No default credentials outside the demo: the committed `devdata/vault.json` is the demo's vault
(`make run`, `python -m bistand demo`, `dashboard --demo`, robot.yaml's devdata env files, all of
which set `BISTAND_DEMO=1`). Any other start must name its vault: Control Room
(`RC_API_SECRET_HOST`, set by the worker) or `RPA_SECRET_MANAGER=RPA.Robocorp.Vault.FileSecrets`
with `RPA_SECRET_FILE` pointing at a vault file of the installation. `vault_problem` says what is
missing; the runner and the dashboard stop with exit code 2 on it (docs/operations.md).
Secrets are wrapped in SecretStr at once so they never print.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from bistand.bot.config import ROOT
from bistand.core.errors import ApplicationError
from bistand.pages.base import Credentials

DEV_VAULT = ROOT / "devdata" / "vault.json"
FILE_SECRETS = "RPA.Robocorp.Vault.FileSecrets"
DEMO_FLAG = "BISTAND_DEMO"
HOW_TO_CONFIGURE = ("set RPA_SECRET_MANAGER=RPA.Robocorp.Vault.FileSecrets and RPA_SECRET_FILE=<the "
                    "installation's vault file>, or run under Control Room (RC_API_SECRET_HOST); the committed "
                    "devdata/vault.json is for the demo only (make run, --demo). See docs/operations.md")


def is_demo(env: Mapping[str, str]) -> bool:
    return env.get(DEMO_FLAG, "") == "1"


def use_demo_vault(env: MutableMapping[str, str]) -> None:
    """The demo's vault (devdata/vault.json) when this is the demo and no vault is named."""
    if is_demo(env) and not env.get("RPA_SECRET_MANAGER") and not env.get("RC_API_SECRET_HOST"):
        env["RPA_SECRET_MANAGER"] = FILE_SECRETS
        env.setdefault("RPA_SECRET_FILE", str(DEV_VAULT))


def vault_file(env: Mapping[str, str]) -> Path | None:
    """The vault file when the vault is FileSecrets (relative paths from the checkout, as robot runs)."""
    if env.get("RPA_SECRET_MANAGER", "") != FILE_SECRETS:
        return None
    path = Path(env.get("RPA_SECRET_FILE") or "secrets.json")
    return path if path.is_absolute() else ROOT / path


def vault_problem(env: Mapping[str, str]) -> str | None:
    """Why this start may not use its vault configuration; None when it may."""
    manager = env.get("RPA_SECRET_MANAGER", "")
    if not manager:
        return None if env.get("RC_API_SECRET_HOST") else f"no vault configured: {HOW_TO_CONFIGURE}"
    path = vault_file(env)
    if path is None:  # another adapter (Control Room's RobocorpVault or a custom one): its own business
        return None
    if not env.get("RPA_SECRET_FILE"):
        return f"RPA_SECRET_FILE is not set: {HOW_TO_CONFIGURE}"
    if not is_demo(env) and path.resolve() == DEV_VAULT.resolve():
        return f"the demo's vault (devdata/vault.json) outside the demo: {HOW_TO_CONFIGURE}"
    if not path.is_file():
        return f"the vault file RPA_SECRET_FILE={path} does not exist: {HOW_TO_CONFIGURE}"
    return None


def credentials(system: str) -> Credentials:
    use_demo_vault(os.environ)
    problem = vault_problem(os.environ)
    if problem:
        raise ApplicationError("VAULT", f"no credentials for {system}: {problem}")
    from RPA.Robocorp.Vault import Vault

    try:
        secret = Vault().get_secret(system)
    except Exception as exc:  # noqa: BLE001 - any vault trouble is a system error
        raise ApplicationError("VAULT", f"no credentials for {system} in the vault") from exc
    return Credentials(
        username=secret["username"],
        password=secret["password"],
        totp_secret=secret.get("totp_secret") if "totp_secret" in secret else None,
    )
