"""The queue's settings: the `queue:` block of resources/config.yaml, `BISTAND_` overrides."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from bistand.bot.config import DEFAULTS


class QueueSettings(BaseModel):
    url: str = ""
    lease_seconds: float = Field(60, gt=0)
    retry_delays_seconds: list[float] = [30, 120, 600, 3600]
    max_failures: int = Field(5, ge=1)
    max_claims: int = Field(3, ge=1)
    """Claims without a release (each runner died holding the item) before it is parked."""
    poll_seconds: float = Field(10, gt=0)


_ENV = {
    "url": "BISTAND_QUEUE_URL",
    "lease_seconds": "BISTAND_LEASE_SECONDS",
    "retry_delays_seconds": "BISTAND_RETRY_DELAYS",
    "max_failures": "BISTAND_MAX_FAILURES",
    "max_claims": "BISTAND_MAX_CLAIMS",
    "poll_seconds": "BISTAND_QUEUE_POLL_SECONDS",
}


def load_queue_settings(environ: dict[str, str] | None = None, path: Path = DEFAULTS) -> QueueSettings:
    """Defaults from config.yaml; the URL defaults to `sqlite:///<state_dir>/queue.db`."""
    env = os.environ if environ is None else environ
    raw = dict((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("queue") or {})
    for key, name in _ENV.items():
        if env.get(name):
            raw[key] = env[name]
    if isinstance(raw.get("retry_delays_seconds"), str):
        raw["retry_delays_seconds"] = [float(v) for v in raw["retry_delays_seconds"].split(",") if v.strip()]
    if not raw.get("url"):
        from bistand.bot.config import load_settings

        raw["url"] = f"sqlite:///{load_settings(environ=dict(env)).state_dir / 'queue.db'}"
    return QueueSettings.model_validate(raw)


def runner_id(environ: dict[str, str] | None = None) -> str:
    """Who holds a lease: `BISTAND_RUNNER_ID`, or host name and process id."""
    env = os.environ if environ is None else environ
    return env.get("BISTAND_RUNNER_ID") or f"{socket.gethostname()}-{os.getpid()}"
