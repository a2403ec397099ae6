"""Deprecated: the queue's settings are `Settings.queue` (bistand.settings) now.

Thin wrappers for the callers that are converted after the run core moves to bistand/run/.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bistand.settings import DEFAULT_YAML, QueueSettings, load

__all__ = ["QueueSettings", "load_queue_settings", "runner_id"]


def load_queue_settings(environ: Mapping[str, str] | None = None, path: Path = DEFAULT_YAML) -> QueueSettings:
    """Deprecated: `bistand.settings.load(environ, path).queue`."""
    return load(environ, path).queue


def runner_id(environ: Mapping[str, str] | None = None) -> str:
    """Deprecated: `Settings.runner_id` (`BISTAND_RUNNER_ID`, or host name and process id)."""
    return load(environ).runner_id
