"""The alerts' settings: the `alerts:` block of resources/config.yaml, `BISTAND_ALERT_*` overrides.

Loaded once per process like the queue's settings (bistand.queue.config) and passed to the
evaluator. Secrets (the SMTP password, the webhook's bearer token, the metrics scrape token) come
from the environment only, never from the YAML.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator

from bistand.bot.config import DEFAULTS

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SystemDownRule(BaseModel):
    enabled: bool = True
    error_rate: float = Field(0.5, gt=0, le=1)
    """Share of failed requests over the window that makes a system down."""
    window_minutes: float = Field(3, gt=0)
    min_requests: int = Field(3, ge=1)
    stopped_run_minutes: float = Field(30, gt=0)
    """A run stopped on the system (exit 3) within this many minutes also makes it down."""


class ItemsParkedRule(BaseModel):
    enabled: bool = True
    threshold: int = Field(1, ge=1)


class ProducerFailedRule(BaseModel):
    enabled: bool = True
    window_minutes: float = Field(60, gt=0)


class OfficeHours(BaseModel):
    hours: str = "07-18"
    """Local hours (Europe/Stockholm) when a runner must be alive, `HH-HH`."""
    days: list[str] = ["mon", "tue", "wed", "thu", "fri"]

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", value.strip())
        if not match or not (0 <= int(match[1]) < int(match[2]) <= 24):
            raise ValueError("hours as HH-HH, e.g. 07-18")
        return value.strip()

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        if any(d not in DAYS for d in days):
            raise ValueError(f"days among {', '.join(DAYS)}")
        return days

    def covers(self, hour: int, weekday: int) -> bool:
        start, end = (int(part) for part in self.hours.split("-"))
        return DAYS[weekday] in self.days and start <= hour < end


class NoRunnerRule(OfficeHours):
    enabled: bool = True
    min_alive: int = Field(1, ge=1)


class WatcherSilentRule(OfficeHours):
    enabled: bool = True


class OldestPendingRule(BaseModel):
    enabled: bool = True
    minutes: float = Field(30, gt=0)


class WatchLatencyRule(BaseModel):
    enabled: bool = True
    target_seconds: float = Field(60, gt=0)
    """From queued to finished, the median of the watchers' items over the window."""
    window_minutes: float = Field(15, gt=0)
    min_items: int = Field(3, ge=1)


class Rules(BaseModel):
    system_down: SystemDownRule = SystemDownRule()
    items_parked: ItemsParkedRule = ItemsParkedRule()
    producer_failed: ProducerFailedRule = ProducerFailedRule()
    no_runner: NoRunnerRule = NoRunnerRule()
    watcher_silent: WatcherSilentRule = WatcherSilentRule()
    oldest_pending: OldestPendingRule = OldestPendingRule()
    watch_latency: WatchLatencyRule = WatchLatencyRule()


class SmtpSettings(BaseModel):
    host: str = ""
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    username: str = ""
    password: SecretStr = SecretStr("")
    sender: str = "bistand@localhost"
    to: list[str] = []
    timeout_seconds: float = Field(15, gt=0)


class WebhookSettings(BaseModel):
    url: str = ""
    token: SecretStr = SecretStr("")
    """Sent as `Authorization: Bearer …` when set."""
    timeout_seconds: float = Field(10, gt=0)


class AlertSettings(BaseModel):
    enabled: bool = True
    evaluate_every_seconds: float = Field(20, gt=0)
    repeat_minutes: float = Field(60, gt=0)
    """An open incident is sent again after this long (once, not every evaluation)."""
    dashboard_url: str = ""
    """The dashboard's address as operators reach it (links in the alerts); '' for none."""
    smtp: SmtpSettings = SmtpSettings()
    webhook: WebhookSettings = WebhookSettings()
    rules: Rules = Rules()

    @property
    def can_send(self) -> bool:
        return bool((self.smtp.host and self.smtp.to) or self.webhook.url)


_ENV = {
    ("enabled",): "BISTAND_ALERTS",
    ("evaluate_every_seconds",): "BISTAND_ALERT_EVERY_SECONDS",
    ("repeat_minutes",): "BISTAND_ALERT_REPEAT_MINUTES",
    ("dashboard_url",): "BISTAND_DASHBOARD_URL",
    ("smtp", "host"): "BISTAND_ALERT_SMTP_HOST",
    ("smtp", "port"): "BISTAND_ALERT_SMTP_PORT",
    ("smtp", "starttls"): "BISTAND_ALERT_SMTP_STARTTLS",
    ("smtp", "ssl"): "BISTAND_ALERT_SMTP_SSL",
    ("smtp", "username"): "BISTAND_ALERT_SMTP_USER",
    ("smtp", "password"): "BISTAND_ALERT_SMTP_PASSWORD",
    ("smtp", "sender"): "BISTAND_ALERT_SMTP_FROM",
    ("smtp", "to"): "BISTAND_ALERT_SMTP_TO",
    ("webhook", "url"): "BISTAND_ALERT_WEBHOOK_URL",
    ("webhook", "token"): "BISTAND_ALERT_WEBHOOK_TOKEN",
}


def load_alert_settings(environ: dict[str, str] | None = None, path: Path = DEFAULTS) -> AlertSettings:
    """Defaults from config.yaml's `alerts:`; `BISTAND_ALERT_*` (and `BISTAND_ALERT_RULE_<RULE>_<FIELD>`,
    e.g. BISTAND_ALERT_RULE_OLDEST_PENDING_MINUTES=10) override."""
    env = os.environ if environ is None else environ
    raw = dict((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("alerts") or {})
    for keys, name in _ENV.items():
        if env.get(name):
            target = raw
            for key in keys[:-1]:
                target = target.setdefault(key, {}) if isinstance(target.get(key), dict) or key not in target \
                    else target[key]
            value: object = env[name]
            if keys == ("smtp", "to"):
                value = [part.strip() for part in env[name].split(",") if part.strip()]
            target[keys[-1]] = value
    rules = raw.setdefault("rules", {}) if isinstance(raw.get("rules", {}), dict) else {}
    for name in Rules.model_fields:
        prefix = f"BISTAND_ALERT_RULE_{name.upper()}_"
        for variable, value in env.items():
            if variable.startswith(prefix) and value:
                rule = rules.setdefault(name, {}) or {}
                rules[name] = rule
                rule[variable.removeprefix(prefix).lower()] = value.split(",") if variable.endswith("_DAYS") else value
    return AlertSettings.model_validate(raw)


def metrics_token(environ: dict[str, str] | None = None, path: Path = DEFAULTS) -> str:
    """The bearer token /metrics asks for: `BISTAND_METRICS_TOKEN`, else config.yaml's `metrics.token`
    ('' turns /metrics off)."""
    env = os.environ if environ is None else environ
    if env.get("BISTAND_METRICS_TOKEN"):
        return env["BISTAND_METRICS_TOKEN"]
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("metrics") or {}
    return str(raw.get("token") or "")
