"""Credentials from RPA.Robocorp.Vault: Control Room's vault in production, a vault file elsewhere.

No default credentials outside the demo: the committed `devdata/vault.json` is the demo's vault
(`make run`, `python -m bistand demo`, `dashboard --demo`, robot.yaml's devdata env files, all of
which set `BISTAND_DEMO=1`). Any other start must name its vault: Control Room
(`RC_API_SECRET_HOST`, set by the worker) or `RPA_SECRET_MANAGER=RPA.Robocorp.Vault.FileSecrets`
with `RPA_SECRET_FILE` pointing at a vault file of the installation (`Settings.vault`).
`problem` says what is missing; the runner and the dashboard stop with exit code 2 on it
(docs/operations.md). Secrets are wrapped in SecretStr at once so they never print.

Everything here takes the Settings (`Settings.vault`, `Settings.demo`); a child process gets them
from its runner (bistand.run.suite).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from bistand.core.errors import ApplicationError
from bistand.settings.model import DEV_VAULT, FILE_SECRETS, ROOT, Settings, VaultSettings

HOW_TO_CONFIGURE = ("set RPA_SECRET_MANAGER=RPA.Robocorp.Vault.FileSecrets and RPA_SECRET_FILE=<the "
                    "installation's vault file>, or run under Control Room (RC_API_SECRET_HOST); the committed "
                    "devdata/vault.json is for the demo only (make run, --demo). See docs/operations.md")


class Credentials(BaseModel):
    """A system's login, from the vault. Secrets never print."""

    model_config = ConfigDict(frozen=True)
    username: str
    password: SecretStr
    totp_secret: SecretStr | None = None


def file_of(vault: VaultSettings) -> Path | None:
    """The vault file when the vault is FileSecrets (relative paths from the checkout, as robot runs)."""
    if vault.manager != FILE_SECRETS:
        return None
    path = Path(vault.file or "secrets.json")
    return path if path.is_absolute() else ROOT / path


def problem(vault: VaultSettings, demo: bool) -> str | None:
    """Why this start may not use its vault configuration; None when it may."""
    if not vault.manager:
        return None if vault.control_room_host else f"no vault configured: {HOW_TO_CONFIGURE}"
    path = file_of(vault)
    if path is None:  # another adapter (Control Room's RobocorpVault or a custom one): its own business
        return None
    if not vault.file:
        return f"RPA_SECRET_FILE is not set: {HOW_TO_CONFIGURE}"
    if not demo and path.resolve() == DEV_VAULT.resolve():
        return f"the demo's vault (devdata/vault.json) outside the demo: {HOW_TO_CONFIGURE}"
    if not path.is_file():
        return f"the vault file RPA_SECRET_FILE={path} does not exist: {HOW_TO_CONFIGURE}"
    return None


def read_secret(settings: Settings, name: str, purpose: str = "") -> dict:
    """One secret of the configured vault (`dashboard`, or a system's login); ApplicationError
    when the vault is not configured or does not hold it."""
    purpose = purpose or f"the secret {name}"
    reason = problem(settings.vault, settings.demo)
    if reason:
        raise ApplicationError("VAULT", f"no {purpose}: {reason}")
    from RPA.Robocorp.Vault import FileSecrets, RobocorpVault, Vault  # noqa: PLC0415 - rpaframework: heavy, on first use

    path = file_of(settings.vault)
    try:
        if path is not None:  # the file named in the settings
            return dict(FileSecrets(str(path)).get_secret(name))
        return dict(Vault(default_adapter=settings.vault.manager or RobocorpVault).get_secret(name))
    except Exception as exc:  # noqa: BLE001 - any vault trouble is a system error
        raise ApplicationError("VAULT", f"no {purpose} in the vault") from exc


def credentials(system: str, settings: Settings) -> Credentials:
    secret = read_secret(settings, system, f"credentials for {system}")
    return Credentials(username=secret["username"], password=secret["password"],
                       totp_secret=secret.get("totp_secret") if "totp_secret" in secret else None)
