"""Every setting of a run, declared once: type, default, description, YAML key and variable names.

The YAML key of a setting is its path in the model (`queue.lease_seconds`). Its environment
variables are the names in its `validation_alias` (kept from before this model, such as
`BISTAND_LEASE_SECONDS`) and the name the nesting gives (`BISTAND_` + the path joined by `_`,
`BISTAND_QUEUE_LEASE_SECONDS`); `bistand.settings.sources` reads them, docs/configuration.md lists
them (`python -m bistand.settings --markdown`).
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from tenacity import RetryCallState, wait_exponential_jitter

from bistand.core.models import Mode
from bistand.core.norm import DEFAULT_NORM_DIR
from bistand.settings.sources import merged

ROOT = Path(__file__).resolve().parent.parent.parent
"""The checkout: resources/, devdata/ and the task suites are read from here."""
DEFAULT_YAML = ROOT / "resources" / "config.yaml"
SYSTEMS = ("eservice", "fk", "af", "csn", "skv", "pm", "akassa", "casemgmt")
DEFAULT_GUIDELINE = "Socialnämndens riktlinjer för ekonomiskt bistånd"
DEV_VAULT = ROOT / "devdata" / "vault.json"
FILE_SECRETS = "RPA.Robocorp.Vault.FileSecrets"
DEFAULT_URLS = {system: f"http://127.0.0.1:{8400 + index}" for index, system in enumerate(SYSTEMS)}
"""The simulators' default ports (python -m simulators)."""
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _comma_list(value: Any) -> Any:
    """`30,120,600` in the environment; a list in YAML and JSON."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _space_list(value: Any) -> Any:
    """Command-line switches in one variable, split like a shell would without quoting."""
    return value.split() if isinstance(value, str) else value


CommaList = BeforeValidator(_comma_list)


def env(*names: str) -> AliasChoices:
    """The environment variables a setting keeps besides the one its path gives."""
    return AliasChoices(*names)


class Section(BaseModel):
    """A block of settings: its YAML keys are the field names; unknown keys are an error (typos)."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)


# -- the work queue ------------------------------------------------------------------------------


class QueueSettings(Section):
    url: str = Field("", validation_alias=env("BISTAND_QUEUE_URL"), description=(
        "The work queue: `sqlite:///PATH` (one machine) or `postgresql://…` (several runners); "
        "empty: `sqlite:///<state_dir>/queue.db`."))
    lease_seconds: float = Field(60, gt=0, validation_alias=env("BISTAND_LEASE_SECONDS"), description=(
        "A runner's hold on its item; a dead runner's item is free again after this."))
    retry_delays_seconds: Annotated[list[float], CommaList] = Field(
        [30, 120, 600, 3600], validation_alias=env("BISTAND_RETRY_DELAYS"), description=(
            "Waits before each new try of an item after a system error (comma-separated in the environment)."))
    max_failures: int = Field(5, ge=1, validation_alias=env("BISTAND_MAX_FAILURES"), description=(
        "System failures before an item is parked (behöver åtgärd)."))
    max_claims: int = Field(3, ge=1, validation_alias=env("BISTAND_MAX_CLAIMS"), description=(
        "Claims without a release (its runner died each time) before an item is parked."))
    settle_seconds: float | None = Field(None, ge=0, validation_alias=env("BISTAND_SETTLE_SECONDS"), description=(
        "A runner that takes over an item whose holder never released it waits this long after the claim "
        "before it looks for that holder's writes and writes itself: a write sent before the holder's lease "
        "ran out has this long to land. Empty: a third of the lease, at most 20 s."))
    poll_seconds: float = Field(10, gt=0, description=(
        "How often `work` (without --until-empty) looks for new items."))
    role: Literal["producer", "consumer"] = Field("consumer", description=(
        "Set by the runner for the Robot Framework process: which side of the queue the work-item "
        "adapter serves."))
    until_empty: bool = Field(True, description=(
        "Set by the runner: the consumer stops when no item is due (`work --until-empty`, `run`)."))

    @property
    def takeover_settle_seconds(self) -> float:
        """`settle_seconds`, or its default: a third of the lease, at most 20 s."""
        return self.settle_seconds if self.settle_seconds is not None else min(20.0, self.lease_seconds / 3)


# -- alerts --------------------------------------------------------------------------------------


class SystemDownRule(Section):
    enabled: bool = Field(True, description="Alert when a system is down.")
    error_rate: float = Field(0.5, gt=0, le=1, description=(
        "Share of failed requests over the window that makes a system down."))
    window_minutes: float = Field(3, gt=0, description="The window the error rate is taken over.")
    min_requests: int = Field(3, ge=1, description="Requests in the window before the rate counts.")
    stopped_run_minutes: float = Field(30, gt=0, description=(
        "A run stopped on the system (exit 3) within this many minutes also makes it down."))


class ItemsParkedRule(Section):
    enabled: bool = Field(True, description="Alert when items are parked.")
    threshold: int = Field(1, ge=1, description="Parked items that open the incident.")


class ProducerFailedRule(Section):
    enabled: bool = Field(True, description="Alert when the producer failed.")
    window_minutes: float = Field(60, gt=0, description="How far back a failed producer run counts.")


class OfficeHours(Section):
    hours: str = Field("07-18", description="Local hours (Europe/Stockholm) when the rule applies, `HH-HH`.")
    days: Annotated[list[str], CommaList] = Field(
        ["mon", "tue", "wed", "thu", "fri"], description="Days the rule applies (comma-separated in the environment).")

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
    enabled: bool = Field(True, description="Alert when too few runners are alive in office hours.")
    min_alive: int = Field(1, ge=1, description="Runners that must be alive.")


class WatcherSilentRule(OfficeHours):
    enabled: bool = Field(True, description="Alert when a watcher stops beating.")
    hours: str = Field("00-24", description="Local hours (Europe/Stockholm) when the rule applies, `HH-HH`.")
    days: Annotated[list[str], CommaList] = Field(
        list(DAYS), description="Days the rule applies (comma-separated in the environment).")


class OldestPendingRule(Section):
    enabled: bool = Field(True, description="Alert when the oldest pending item waits too long.")
    minutes: float = Field(30, gt=0, description="How long the oldest pending item may wait.")


class WatchLatencyRule(Section):
    enabled: bool = Field(True, description="Alert when watch mode answers too slowly.")
    target_seconds: float = Field(60, gt=0, description=(
        "From queued to finished, the median of the watchers' items over the window."))
    window_minutes: float = Field(15, gt=0, description="The window the median is taken over.")
    min_items: int = Field(3, ge=1, description="Items in the window before the median counts.")


class Rules(Section):
    system_down: SystemDownRule = SystemDownRule()
    items_parked: ItemsParkedRule = ItemsParkedRule()
    producer_failed: ProducerFailedRule = ProducerFailedRule()
    no_runner: NoRunnerRule = NoRunnerRule()
    watcher_silent: WatcherSilentRule = WatcherSilentRule()
    oldest_pending: OldestPendingRule = OldestPendingRule()
    watch_latency: WatchLatencyRule = WatchLatencyRule()


class SmtpSettings(Section):
    host: str = Field("", description="SMTP server; nothing is sent by e-mail while host or to is empty.")
    port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    starttls: bool = Field(False, description="STARTTLS after connecting.")
    ssl: bool = Field(False, description="Implicit TLS (port 465).")
    username: str = Field("", validation_alias=env("BISTAND_ALERT_SMTP_USER"), description="SMTP login.")
    password: SecretStr = Field(SecretStr(""), description="SMTP password (environment only, never in the YAML).")
    sender: str = Field("bistand@localhost", validation_alias=env("BISTAND_ALERT_SMTP_FROM"),
                        description="From address.")
    to: Annotated[list[str], CommaList] = Field([], description="Recipients (comma-separated in the environment).")
    timeout_seconds: float = Field(15, gt=0, description="Longest wait for the SMTP server.")


class WebhookSettings(Section):
    url: str = Field("", description="JSON POST of each alert (httpx); empty: no webhook.")
    token: SecretStr = Field(SecretStr(""), description=(
        "Sent as `Authorization: Bearer …` when set (environment only)."))
    timeout_seconds: float = Field(10, gt=0, description="Longest wait for the webhook.")


class AlertSettings(Section):
    enabled: bool = Field(True, validation_alias=env("BISTAND_ALERTS"), description=(
        "Runners and the dashboard evaluate the alert rules (one alert per incident, whoever evaluates)."))
    evaluate_every_seconds: float = Field(20, gt=0, validation_alias=env("BISTAND_ALERT_EVERY_SECONDS"),
                                          description="How often the rules are evaluated.")
    repeat_minutes: float = Field(60, gt=0, description=(
        "An open incident is sent again after this long (once, not every evaluation)."))
    dashboard_url: str = Field("", validation_alias=env("BISTAND_DASHBOARD_URL"), description=(
        "The dashboard's address as operators reach it (links in the alerts); empty for none."))
    smtp: SmtpSettings = SmtpSettings()
    webhook: WebhookSettings = WebhookSettings()
    rules: Rules = Field(Rules(), json_schema_extra={"env_prefix": "BISTAND_ALERT_RULE_"})

    @property
    def can_send(self) -> bool:
        return bool((self.smtp.host and self.smtp.to) or self.webhook.url)


class MetricsSettings(Section):
    token: SecretStr = Field(SecretStr(""), description=(
        "/metrics answers only with `Authorization: Bearer <token>`; empty: /metrics is off."))


# -- the browser, the desktop client, watch mode, the dashboard, the vault ----------------------


class BrowserSettings(Section):
    kind: Literal["headless-shell", "chromium"] = Field("headless-shell", validation_alias=env("BISTAND_BROWSER"),
                                                        description=(
        "`headless-shell` (Debian's chromium-headless-shell for headless runs, when installed) or `chromium` "
        "(full Chromium: headed runs, debugging)."))
    chromium: str = Field("", validation_alias=env("BISTAND_CHROMIUM"), description=(
        "Path of the full Chromium; empty: /usr/bin/chromium or the first on PATH."))
    headless_shell: str = Field("", validation_alias=env("BISTAND_HEADLESS_SHELL"), description=(
        "Path of the headless shell; empty: Debian's."))
    process_per_site: bool = Field(False, validation_alias=env("BISTAND_PROCESS_PER_SITE"), description=(
        "Low-memory mode: one renderer per site (slower)."))
    extra_args: Annotated[list[str], BeforeValidator(_space_list)] = Field(
        [], validation_alias=env("BISTAND_CHROMIUM_EXTRA_ARGS"),
        description="More Chromium switches (space-separated in the environment).")
    context_per: Literal["system", "host"] = Field("system", validation_alias=env("BISTAND_CONTEXT_PER"),
                                                   description=(
        "One browser context per system, or one per host (systems on one host share its login cookies)."))
    ci: str = Field("", validation_alias=env("CI"), description=(
        "Set by CI services (any value): Chromium keeps --no-sandbox there even when not root."))


class DesktopSettings(Section):
    display: str = Field("", validation_alias=env("DISPLAY"), description=(
        "The X display a headed desktop client is shown on (`headless: false`); empty or headless: a "
        "private Xvfb."))
    xauthority: str = Field("", validation_alias=env("XAUTHORITY"), description=(
        "The X authority file of `display`, restored when the private Xvfb stops."))


class WatchSettings(Section):
    seconds: float = Field(0, ge=0, description=(
        "Watch mode: seconds between polls of the inbox and the queue (`work --watch N` sets it); "
        "0: the queue's poll_seconds."))
    rotate_minutes: float = Field(60, gt=0, description="Watch mode starts a new run (and log) after this long.")
    alive_file: str = Field("", description=(
        "Set by the watcher: the file the Robot Framework process touches on every poll."))


class RunHandoff(Section):
    """What the runner tells the Robot Framework process about the run it is part of."""

    dir: str = Field("", description="Set by the runner: this run's folder (logs, failures); empty: output_dir.")
    total_items: int = Field(0, ge=0, validation_alias=env("BISTAND_TOTAL_ITEMS"), description=(
        "Set by the runner: items in the run (progress lines)."))
    items_before: int = Field(0, ge=0, validation_alias=env("BISTAND_ITEMS_BEFORE"), description=(
        "Set by the runner: items done in earlier parts of a rotated run."))


class DashboardSettings(Section):
    users_file: str = Field("", validation_alias=env("BISTAND_DASHBOARD_USERS"), description=(
        "A JSON or YAML file `{name: scrypt$…}` of the dashboard's users; empty: the vault's `dashboard` secret."))
    behind_https_proxy: bool = Field(False, description=(
        "The dashboard is served behind an HTTPS reverse proxy (instead of --tls-cert/--tls-key)."))
    proxy_ips: str = Field("127.0.0.1", description="Addresses of the reverse proxy whose forwarded headers count.")


class VaultSettings(Section):
    """Where credentials come from (bistand.settings.vault): Control Room's vault or a vault file."""

    manager: str = Field("", validation_alias=env("RPA_SECRET_MANAGER"), description=(
        f"The vault adapter, e.g. `{FILE_SECRETS}`; empty: Control Room's when RC_API_SECRET_HOST is set."))
    file: str = Field("", validation_alias=env("RPA_SECRET_FILE"), description=(
        "The vault file (FileSecrets); relative: from the checkout."))
    control_room_host: str = Field("", validation_alias=env("RC_API_SECRET_HOST"), description=(
        "Control Room's vault (set by the worker)."))


def default_in_flight() -> int:
    """One application in flight per two cores: one application already keeps about one and a half
    cores busy (its renderer, the browser, the Playwright driver and Python work side by side), so
    a second one on two cores only queues behind it (measured in README, Performance)."""
    return max(1, min((os.cpu_count() or 1) // 2, 4))


def default_runner_id() -> str:
    """Who holds a lease when BISTAND_RUNNER_ID does not say: host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


ReadStrategy = Literal["fetch", "render"]


class Settings(BaseSettings):
    """Every setting of a run: resources/config.yaml, then `BISTAND_*` variables, then flags.

    Build it with `bistand.settings.load` (once per process) and pass it down; hand it to a child
    process with `to_json` / `from_json`.
    """

    model_config = SettingsConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True,
                                      validate_default=True)

    mode: Mode = Field(Mode.SUPPORT, description="`support` (a proposal for the caseworker) or `automated`.")
    urls: dict[str, str] = Field(
        DEFAULT_URLS, json_schema_extra={"env_keys": "BISTAND_URL_"}, description=(
            "Each system's address, e.g. `urls.fk`; a system not named: the simulators' default port."))
    frames_dir: Path = Field(Path("state/demo/frames"), description=(
        "The file share with the `<case_number>.xlsx` reference frames (relative: to the working folder)."))
    norm_dir: Path = Field(DEFAULT_NORM_DIR, description=(
        "One `<year>.yaml` norm table per year (python -m bistand norm; relative: to the project)."))
    output_dir: Path = Field(Path("output"), description="Reports, logs, run summaries, decision records.")
    state_dir: Path = Field(Path("state/bot"), description=(
        "The bot's state; the default queue is `<state_dir>/queue.db`."))
    attempts_per_item: int = Field(6, ge=1, validation_alias=env("BISTAND_ATTEMPTS"), description=(
        "Tries per item on a system error."))
    backoff_seconds: float = Field(2.0, ge=0, validation_alias=env("BISTAND_BACKOFF"), description=(
        "The first wait between tries; each further wait doubles, up to backoff_max_seconds."))
    backoff_max_seconds: float = Field(30.0, ge=0, validation_alias=env("BISTAND_BACKOFF_MAX"), description=(
        "The longest wait between tries (2+4+8+16+30 = 60 s rides out a portal restart)."))
    backoff_jitter_seconds: float = Field(1.0, ge=0, validation_alias=env("BISTAND_BACKOFF_JITTER"), description=(
        "Up to this much is added at random to each wait, so retries of many items spread out."))
    read_tries: int = Field(3, ge=1, le=10, description=(
        "Tries of one request in all before it fails the application's try: a page read on a timeout, a dropped "
        "connection or HTTP 502/503/504; a write only after checking it did not land."))
    max_consecutive_system_errors: int = Field(5, ge=1, validation_alias=env("BISTAND_MAX_CONSECUTIVE_ERRORS"),
                                               description="System errors in a row that stop the run.")
    page_timeout_ms: int = Field(15000, ge=1000, description="The longest wait for one page condition.")
    headless: bool = Field(True, description="The browser (and the desktop client) without a window.")
    guideline: str = Field(DEFAULT_GUIDELINE, description=(
        "The municipality's guideline the report's footer names beside the rules' version."))
    read_default: ReadStrategy = Field("fetch", validation_alias=env("read_strategy", "BISTAND_READ_STRATEGY"),
                                       description=(
        "How pages are read (README, Performance): `fetch` (the logged-in context's request API) or `render`."))
    read: dict[str, ReadStrategy] = Field({}, json_schema_extra={
        "env_keys": "BISTAND_READ_", "env_key_choices": list(SYSTEMS), "env_keys_default": "read_default"},
        description=(
        "The read strategy per system, e.g. `read.casemgmt: render`; a system not named reads by read_strategy."))
    casemgmt_client: Literal["web", "desktop"] = Field("web", description=(
        "The case-management write-back: the web GUI or the desktop client."))
    in_flight: int = Field(default_factory=default_in_flight, ge=1, le=16, description=(
        "Applications one runner works on at a time (bistand.bot.prepare); default one per two cores (1-4)."))
    recycle_contexts_items: int = Field(25, ge=0, validation_alias=env("BISTAND_RECYCLE_ITEMS"), description=(
        "A long run renews its browser contexts (logins kept) after this many items; 0: never."))
    recycle_contexts_mib: int = Field(0, ge=0, validation_alias=env("BISTAND_RECYCLE_MIB"), description=(
        "…and when Robot Framework, the driver and Chromium together pass this PSS in MiB; 0: no limit."))
    rotate_run_items: int = Field(500, ge=0, validation_alias=env("BISTAND_ROTATE_ITEMS"), description=(
        "A batch run starts a new Robot Framework run (log in part-N/) after this many items; 0: never."))
    records_retention_days: int = Field(1825, ge=1, description=(
        "How long decision records (and their reports) are kept: `python -m bistand records purge`."))
    trace: Literal["off", "retries", "always", "full"] = Field("retries", description=(
        "Playwright traces: `retries` traces the tries after a system error, `always` every try, `full` also "
        "DOM snapshots, `off` none (bistand.bot.tracing)."))
    runner_id: str = Field(default_factory=default_runner_id, description=(
        "Who holds a lease (and the runner's name on the dashboard); default: host name and process id."))
    demo: bool = Field(False, description=(
        "The demo (make run, --demo): only the demo may use the committed devdata/vault.json."))
    queue: QueueSettings = QueueSettings()
    alerts: AlertSettings = Field(AlertSettings(), json_schema_extra={"env_prefix": "BISTAND_ALERT_"})
    metrics: MetricsSettings = MetricsSettings()
    browser: BrowserSettings = BrowserSettings()
    desktop: DesktopSettings = DesktopSettings()
    watch: WatchSettings = WatchSettings()
    run: RunHandoff = RunHandoff()
    dashboard: DashboardSettings = DashboardSettings()
    vault: VaultSettings = VaultSettings()

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """`Settings(**values)` (and validating JSON) takes the values given and defaults for the rest: it
        never reads the environment or the YAML file behind its caller's back. `bistand.settings.load`
        gives the YAML file, the environment and the flags as sources, in that order."""
        return (init_settings,)

    # -- resolved once, at load ------------------------------------------------------------------

    @field_validator("frames_dir", "output_dir", "state_dir")
    @classmethod
    def _from_working_folder(cls, value: Path) -> Path:
        return value if value.is_absolute() else Path.cwd() / value

    @field_validator("norm_dir")
    @classmethod
    def _from_project(cls, value: Path) -> Path:
        """The norm tables are the project's resources: a relative norm_dir is read from the project."""
        return value if value.is_absolute() else ROOT / value

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        unknown = sorted(set(self.urls) - set(SYSTEMS)) + sorted(set(self.read) - set(SYSTEMS))
        if unknown:
            raise ValueError(f"unknown system {unknown[0]!r}: one of {', '.join(SYSTEMS)}")
        self.urls = DEFAULT_URLS | dict(self.urls)
        self.read = {system: self.read_default for system in SYSTEMS} | dict(self.read)
        if not self.queue.url:
            self.queue.url = f"sqlite:///{self.state_dir / 'queue.db'}"
        if self.demo and not self.vault.manager and not self.vault.control_room_host:
            self.vault.manager = FILE_SECRETS  # the demo, and only the demo, uses devdata/vault.json
            self.vault.file = self.vault.file or str(DEV_VAULT)
        return self

    # -- helpers ---------------------------------------------------------------------------------

    def read_strategy(self, system: str) -> ReadStrategy:
        return self.read.get(system, self.read_default)

    @property
    def reports_dir(self) -> Path:
        return self.output_dir / "reports"

    @property
    def records_dir(self) -> Path:
        """The sealed decision records, one chain per output folder (docs/records.md)."""
        return self.output_dir / "records"

    @property
    def run_dir(self) -> Path:
        """This run's folder when the runner named one, else the output folder."""
        return Path(self.run.dir) if self.run.dir else self.output_dir

    @property
    def watch_poll_seconds(self) -> float:
        return self.watch.seconds or self.queue.poll_seconds

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

    def configuration_problems(self) -> list[str]:
        """What makes a run pointless before it starts, as lines that say how to fix it.

        The runner checks this before starting the robot: a frames folder that does not exist
        would otherwise fail every application with FRAME_MISSING.
        """
        problems = []
        if not self.frames_dir.is_dir():
            problems.append(
                f"the reference-frame folder {self.frames_dir} does not exist. Start the simulators "
                f"(`make simulators` writes state/demo/frames) or set BISTAND_FRAMES_DIR (frames_dir in "
                f"resources/config.yaml) to the file share with the <case_number>.xlsx workbooks."
            )
        return problems

    # -- one value for a child process -----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Equal when every value is; which source set a value (pydantic's fields_set) is not part of it."""
        return type(other) is type(self) and self.model_dump() == other.model_dump()

    __hash__ = None  # mutable, like every pydantic model

    def to_json(self) -> str:
        """Every resolved value, secrets included (write it only to a file of mode 0600:
        `bistand.settings.write_json`); `from_json` gives back an equal Settings."""
        data = self.model_dump(mode="json", round_trip=True)
        _reveal(self, data)
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """The settings a parent process resolved; nothing is read from YAML or the environment."""
        return cls.model_validate_json(text)

    def updated(self, **values: Any) -> Settings:
        """A validated copy with some values changed, a section as a dict: what a runner hands one
        Robot Framework run (`settings.updated(run={"dir": ..., "total_items": 12})`)."""
        data = json.loads(self.to_json())
        return type(self).model_validate(merged(data, {key: value for key, value in values.items()
                                                             if value is not None}))


def _reveal(model: BaseModel, data: dict[str, Any]) -> None:
    """SecretStr values as their text, so the child gets the same secrets (model_dump masks them)."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            data[name] = value.get_secret_value()
        elif isinstance(value, BaseModel):
            _reveal(value, data[name])

