"""Credentials from RPA.Robocorp.Vault: Control Room's vault in production, FileSecrets locally.

Locally `RPA_SECRET_MANAGER=RPA.Robocorp.Vault.FileSecrets` and
`RPA_SECRET_FILE=devdata/vault.json` (set by robot.yaml's devdata/env-*.json and by the runner).
Secrets are wrapped in SecretStr at once so they never print.
"""

from __future__ import annotations

import os

from bistand.bot.config import ROOT
from bistand.core.errors import ApplicationError
from bistand.pages.base import Credentials


def ensure_local_vault_defaults() -> None:
    """Use the dev vault when no secret manager is configured (local runs only)."""
    if not os.environ.get("RPA_SECRET_MANAGER") and not os.environ.get("RC_API_SECRET_HOST"):
        os.environ["RPA_SECRET_MANAGER"] = "RPA.Robocorp.Vault.FileSecrets"  # noqa: S105 - a class name
        os.environ.setdefault("RPA_SECRET_FILE", str(ROOT / "devdata" / "vault.json"))


def credentials(system: str) -> Credentials:
    ensure_local_vault_defaults()
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
