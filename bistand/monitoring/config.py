"""Deprecated: the alerts' settings are `Settings.alerts` and `Settings.metrics` (bistand.settings).

Secrets (the SMTP password, the webhook's bearer token, the metrics scrape token) still come
from the environment only in practice: the YAML keys exist but docs/configuration.md says not to
use them. Thin wrappers for callers outside the packages converted so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bistand.settings import DEFAULT_YAML, AlertSettings, load
from bistand.settings.model import (
    DAYS,
    ItemsParkedRule,
    NoRunnerRule,
    OfficeHours,
    OldestPendingRule,
    ProducerFailedRule,
    Rules,
    SmtpSettings,
    SystemDownRule,
    WatcherSilentRule,
    WatchLatencyRule,
    WebhookSettings,
)

__all__ = ["DAYS", "AlertSettings", "ItemsParkedRule", "NoRunnerRule", "OfficeHours", "OldestPendingRule",
           "ProducerFailedRule", "Rules", "SmtpSettings", "SystemDownRule", "WatchLatencyRule", "WatcherSilentRule",
           "WebhookSettings", "load_alert_settings", "metrics_token"]


def load_alert_settings(environ: Mapping[str, str] | None = None, path: Path = DEFAULT_YAML) -> AlertSettings:
    """Deprecated: `bistand.settings.load(environ, path).alerts`."""
    return load(environ, path).alerts


def metrics_token(environ: Mapping[str, str] | None = None, path: Path = DEFAULT_YAML) -> str:
    """Deprecated: `settings.metrics.token` ('' turns /metrics off)."""
    return load(environ, path).metrics.token.get_secret_value()
