"""Settings from resources/config.yaml, overridden by environment variables.

Also what the runner checks before it starts the robot (`configuration_problems`), and the
back-off between tries of an item (`Settings.backoff_before_retry`, tenacity's exponential
wait with jitter): long enough by default to ride out a portal restart of tens of seconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field
from tenacity import RetryCallState, wait_exponential_jitter

from bistand.core.models import Mode
from bistand.core.norm import DEFAULT_NORM_DIR
from bistand.report.labels import DEFAULT_GUIDELINE

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULTS = ROOT / "resources" / "config.yaml"
SYSTEMS = ("eservice", "fk", "af", "csn", "skv", "pm", "akassa", "casemgmt")


class Settings(BaseModel):
    mode: Mode = Mode.SUPPORT
    urls: dict[str, str]
    frames_dir: Path
    norm_dir: Path = DEFAULT_NORM_DIR
    output_dir: Path
    state_dir: Path
    attempts_per_item: int = Field(6, ge=1)
    backoff_seconds: float = Field(2.0, ge=0)
    """The first wait between tries; each further wait doubles, up to `backoff_max_seconds`."""
    backoff_max_seconds: float = Field(30.0, ge=0)
    backoff_jitter_seconds: float = Field(1.0, ge=0)
    """Up to this much is added at random to each wait, so retries of many items spread out."""
    read_tries: int = Field(3, ge=1, le=10)
    """Tries of one request in all before it fails the application's try: a page read on a timeout,
    a dropped connection or HTTP 502/503/504; a write only after checking it did not land."""
    max_consecutive_system_errors: int = Field(5, ge=1)
    page_timeout_ms: int = Field(15000, ge=1000)
    headless: bool = True
    guideline: str = DEFAULT_GUIDELINE
    """The municipality's guideline the report's footer names beside the rules' version."""
    read: dict[str, Literal["fetch", "render"]] = {}
    """Read strategy per system (README, Performance); a system not named reads by `fetch`."""

    def read_strategy(self, system: str) -> Literal["fetch", "render"]:
        return self.read.get(system, "fetch")
    casemgmt_client: Literal["web", "desktop"] = "web"
    in_flight: int = Field(default_factory=lambda: default_in_flight(), ge=1, le=16)
    """Applications one runner works on at a time: while the suite finishes one, the next ones are
    already being read, assessed and written (bistand.bot.prepare). 1: one at a time."""

    recycle_contexts_items: int = Field(25, ge=0)
    """A long run renews its browser contexts (logins kept) after this many items (0: never), and
    when the browser's memory passes `recycle_contexts_mib` (bistand.bot.recycle)."""
    recycle_contexts_mib: int = Field(0, ge=0)
    """PSS in MiB of the Robot Framework process, the Playwright driver and Chromium together above
    which the contexts are renewed between items (0: no limit)."""
    rotate_run_items: int = Field(500, ge=0)
    """A batch run (`run`, `work`) starts a new Robot Framework run, its log a part of the same run
    folder, after this many items (0: one Robot Framework run for everything)."""

    records_retention_days: int = Field(1825, ge=1)
    """How long decision records (and their reports) are kept: `python -m bistand records purge`
    removes older ones (docs/records.md; five years, as socialtjänstlagen's gallring of case files)."""

    @property
    def reports_dir(self) -> Path:
        return self.output_dir / "reports"

    @property
    def records_dir(self) -> Path:
        """The sealed decision records, one chain per output folder (docs/records.md)."""
        return self.output_dir / "records"

    def _wait(self, jitter: bool):
        return wait_exponential_jitter(multiplier=self.backoff_seconds, max=self.backoff_max_seconds, exp_base=2,
                                       jitter=self.backoff_jitter_seconds if jitter else 0)

    def backoff_before_retry(self, attempt: int, jitter: bool = True) -> float:
        """Seconds to wait after try `attempt` (1-based) failed on a system error."""
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        return self._wait(jitter)(state)

    def backoff_schedule(self) -> list[float]:
        """The waits between all tries of one item, without jitter (the least the bot waits)."""
        return [self.backoff_before_retry(attempt, jitter=False) for attempt in range(1, self.attempts_per_item)]


def default_in_flight() -> int:
    """One application in flight per two cores: one application already keeps about one and a half
    cores busy (its renderer, the browser, the Playwright driver and Python work side by side), so
    a second one on two cores only queues behind it (measured in README, Performance)."""
    return max(1, min((os.cpu_count() or 1) // 2, 4))


_ENV = {
    "mode": "BISTAND_MODE",
    "frames_dir": "BISTAND_FRAMES_DIR",
    "norm_dir": "BISTAND_NORM_DIR",
    "output_dir": "BISTAND_OUTPUT_DIR",
    "state_dir": "BISTAND_STATE_DIR",
    "attempts_per_item": "BISTAND_ATTEMPTS",
    "backoff_seconds": "BISTAND_BACKOFF",
    "backoff_max_seconds": "BISTAND_BACKOFF_MAX",
    "backoff_jitter_seconds": "BISTAND_BACKOFF_JITTER",
    "max_consecutive_system_errors": "BISTAND_MAX_CONSECUTIVE_ERRORS",
    "read_tries": "BISTAND_READ_TRIES",
    "page_timeout_ms": "BISTAND_PAGE_TIMEOUT_MS",
    "headless": "BISTAND_HEADLESS",
    "guideline": "BISTAND_GUIDELINE",
    "casemgmt_client": "BISTAND_CASEMGMT_CLIENT",
    "in_flight": "BISTAND_IN_FLIGHT",
    "records_retention_days": "BISTAND_RECORDS_RETENTION_DAYS",
    "recycle_contexts_items": "BISTAND_RECYCLE_ITEMS",
    "recycle_contexts_mib": "BISTAND_RECYCLE_MIB",
    "rotate_run_items": "BISTAND_ROTATE_ITEMS",
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
    read = {system: raw.get("read_strategy", "fetch") for system in SYSTEMS} | dict(raw.get("read") or {})
    for system in SYSTEMS:
        value = env.get(f"BISTAND_READ_{system.upper()}") or env.get("BISTAND_READ_STRATEGY")
        if value:
            read[system] = value
    raw["read"] = read
    for key in ("frames_dir", "output_dir", "state_dir", "norm_dir"):
        if key not in raw:
            continue
        value = Path(raw[key])
        # The norm tables are the project's resources: a relative norm_dir is read from the project.
        base = ROOT if key == "norm_dir" else Path.cwd()
        raw[key] = value if value.is_absolute() else (base / value)
    return Settings.model_validate(raw)


def configuration_problems(settings: Settings) -> list[str]:
    """What makes a run pointless before it starts, as lines that say how to fix it.

    The runner checks this before starting the robot: a frames folder that does not exist
    would otherwise fail every application with FRAME_MISSING.
    """
    problems = []
    if not settings.frames_dir.is_dir():
        problems.append(
            f"the reference-frame folder {settings.frames_dir} does not exist. Start the simulators "
            f"(`make simulators` writes state/demo/frames) or set BISTAND_FRAMES_DIR (frames_dir in "
            f"resources/config.yaml) to the file share with the <case_number>.xlsx workbooks."
        )
    return problems
