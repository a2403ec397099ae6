"""Deprecated: the vault lives in `bistand.settings.vault` now (below every package that needs it).

Re-exported here for the callers converted after the run core moves to bistand/run/.
"""

from __future__ import annotations

from bistand.settings import Settings, load
from bistand.settings.vault import (
    DEMO_FLAG,
    DEV_VAULT,
    FILE_SECRETS,
    HOW_TO_CONFIGURE,
    Credentials,
    is_demo,
    use_demo_vault,
    vault_file,
    vault_problem,
)
from bistand.settings.vault import credentials as _credentials

__all__ = ["DEMO_FLAG", "DEV_VAULT", "FILE_SECRETS", "HOW_TO_CONFIGURE", "Credentials", "credentials", "is_demo",
           "use_demo_vault", "vault_file", "vault_problem"]


def credentials(system: str, settings: Settings | None = None) -> Credentials:
    """Deprecated: `bistand.settings.vault.credentials(system, settings)`."""
    return _credentials(system, settings if settings is not None else load())
