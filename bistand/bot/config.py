"""Deprecated: the bot's settings are `bistand.settings` now (one Settings for every part of a run).

Kept for the callers that are converted after the run core moves to bistand/run/: `load_settings`
is a thin wrapper over `bistand.settings.load`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bistand.settings import DEFAULT_YAML, ROOT, SYSTEMS, Settings, default_in_flight, load

DEFAULTS = DEFAULT_YAML

__all__ = ["DEFAULTS", "ROOT", "SYSTEMS", "Settings", "configuration_problems", "default_in_flight", "load_settings"]


def load_settings(path: Path = DEFAULT_YAML, environ: Mapping[str, str] | None = None) -> Settings:
    """Deprecated: `bistand.settings.load(environ, path)`."""
    return load(environ, path)


def configuration_problems(settings: Settings) -> list[str]:
    """Deprecated: `settings.configuration_problems()`."""
    return settings.configuration_problems()
