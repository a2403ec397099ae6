"""Settings from resources/config.yaml, overridden by environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from bistand.core.models import Mode

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULTS = ROOT / "resources" / "config.yaml"
SYSTEMS = ("eservice", "fk", "af", "csn", "skv", "pm", "akassa", "casemgmt")


class Settings(BaseModel):
    mode: Mode = Mode.SUPPORT
    urls: dict[str, str]
    frames_dir: Path
    output_dir: Path
    state_dir: Path
    attempts_per_item: int = Field(3, ge=1)
    backoff_seconds: float = Field(0.5, ge=0)
    max_consecutive_system_errors: int = Field(5, ge=1)
    page_timeout_ms: int = Field(15000, ge=1000)
    headless: bool = True
    casemgmt_client: Literal["web", "desktop"] = "web"

    @property
    def reports_dir(self) -> Path:
        return self.output_dir / "reports"


_ENV = {
    "mode": "BISTAND_MODE",
    "frames_dir": "BISTAND_FRAMES_DIR",
    "output_dir": "BISTAND_OUTPUT_DIR",
    "state_dir": "BISTAND_STATE_DIR",
    "attempts_per_item": "BISTAND_ATTEMPTS",
    "backoff_seconds": "BISTAND_BACKOFF",
    "max_consecutive_system_errors": "BISTAND_MAX_CONSECUTIVE_ERRORS",
    "page_timeout_ms": "BISTAND_PAGE_TIMEOUT_MS",
    "headless": "BISTAND_HEADLESS",
    "casemgmt_client": "BISTAND_CASEMGMT_CLIENT",
}


def load_settings(path: Path = DEFAULTS, environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, name in _ENV.items():
        if env.get(name):
            raw[key] = env[name]
    urls = dict(raw.get("urls", {}))
    for system in SYSTEMS:
        value = env.get(f"BISTAND_URL_{system.upper()}")
        if value:
            urls[system] = value
    raw["urls"] = urls
    for key in ("frames_dir", "output_dir", "state_dir"):
        value = Path(raw[key])
        raw[key] = value if value.is_absolute() else (Path.cwd() / value)
    return Settings.model_validate(raw)
