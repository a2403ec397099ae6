"""One Settings (bistand.settings): the YAML file, then BISTAND_* variables, then flags; errors that
name the variable and exit 2; one JSON value for the Robot Framework process; the YAML read once."""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bistand.core.models import Mode
from bistand.settings import (
    DEFAULT_YAML,
    ROOT,
    SETTINGS_VARIABLE,
    SYSTEMS,
    Settings,
    SettingsError,
    load,
    load_or_exit,
    read_json,
    write_json,
)
from bistand.settings.sources import variables


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("mode: support\nqueue:\n  lease_seconds: 11\n  max_claims: 4\nread_strategy: fetch\n"
                    "read: {casemgmt: render}\nalerts:\n  smtp: {host: mail.example, to: [a@example.se]}\n",
                    encoding="utf-8")
    return path


# -- where a value comes from --------------------------------------------------------------------


def test_the_yaml_file_gives_values_the_environment_overrides_and_a_flag_overrides_both(config: Path) -> None:
    assert load(environ={}, yaml_path=config).queue.lease_seconds == 11
    assert load(environ={"BISTAND_LEASE_SECONDS": "22"}, yaml_path=config).queue.lease_seconds == 22
    flagged = load(environ={"BISTAND_LEASE_SECONDS": "22"}, yaml_path=config, queue={"lease_seconds": 33})
    assert flagged.queue.lease_seconds == 33
    assert flagged.queue.max_claims == 4, "a flag for one key of a section leaves the section's other keys"


def test_a_flag_left_unset_by_the_command_line_does_not_hide_the_environment(config: Path) -> None:
    settings = load(environ={"BISTAND_GUIDELINE": "Egna riktlinjer"}, yaml_path=config, guideline=None,
                    mode="automated")
    assert settings.guideline == "Egna riktlinjer"
    assert settings.mode is Mode.AUTOMATED


def test_a_setting_answers_to_its_kept_name_and_to_the_name_its_path_gives(config: Path) -> None:
    assert load(environ={"BISTAND_MAX_CLAIMS": "6"}, yaml_path=config).queue.max_claims == 6
    assert load(environ={"BISTAND_QUEUE_MAX_CLAIMS": "7"}, yaml_path=config).queue.max_claims == 7
    assert load(environ={"BISTAND_MAX_CLAIMS": ""}, yaml_path=config).queue.max_claims == 4, "empty counts as unset"


@pytest.mark.parametrize(("variable", "value", "read"), [
    ("BISTAND_MODE", "automated", lambda s: s.mode is Mode.AUTOMATED),
    ("BISTAND_FRAMES_DIR", "/srv/ramar", lambda s: s.frames_dir == Path("/srv/ramar")),
    ("BISTAND_NORM_DIR", "/srv/norm", lambda s: s.norm_dir == Path("/srv/norm")),
    ("BISTAND_OUTPUT_DIR", "/srv/ut", lambda s: s.output_dir == Path("/srv/ut")),
    ("BISTAND_STATE_DIR", "/srv/state", lambda s: s.queue.url == "sqlite:////srv/state/queue.db"),
    ("BISTAND_ATTEMPTS", "3", lambda s: s.attempts_per_item == 3),
    ("BISTAND_BACKOFF", "0.5", lambda s: s.backoff_seconds == 0.5),
    ("BISTAND_BACKOFF_MAX", "9", lambda s: s.backoff_max_seconds == 9),
    ("BISTAND_BACKOFF_JITTER", "0", lambda s: s.backoff_jitter_seconds == 0),
    ("BISTAND_MAX_CONSECUTIVE_ERRORS", "2", lambda s: s.max_consecutive_system_errors == 2),
    ("BISTAND_READ_TRIES", "4", lambda s: s.read_tries == 4),
    ("BISTAND_PAGE_TIMEOUT_MS", "5000", lambda s: s.page_timeout_ms == 5000),
    ("BISTAND_HEADLESS", "false", lambda s: s.headless is False),
    ("BISTAND_GUIDELINE", "Egna", lambda s: s.guideline == "Egna"),
    ("BISTAND_CASEMGMT_CLIENT", "desktop", lambda s: s.casemgmt_client == "desktop"),
    ("BISTAND_IN_FLIGHT", "3", lambda s: s.in_flight == 3),
    ("BISTAND_RECORDS_RETENTION_DAYS", "30", lambda s: s.records_retention_days == 30),
    ("BISTAND_RECYCLE_ITEMS", "5", lambda s: s.recycle_contexts_items == 5),
    ("BISTAND_RECYCLE_MIB", "800", lambda s: s.recycle_contexts_mib == 800),
    ("BISTAND_ROTATE_ITEMS", "50", lambda s: s.rotate_run_items == 50),
    ("BISTAND_URL_FK", "http://fk.example", lambda s: s.urls["fk"] == "http://fk.example"),
    ("BISTAND_READ_PM", "render", lambda s: s.read_strategy("pm") == "render"),
    ("BISTAND_QUEUE_URL", "postgresql://db/bistand", lambda s: s.queue.url == "postgresql://db/bistand"),
    ("BISTAND_LEASE_SECONDS", "5", lambda s: s.queue.lease_seconds == 5),
    ("BISTAND_RETRY_DELAYS", "1,2,3", lambda s: s.queue.retry_delays_seconds == [1, 2, 3]),
    ("BISTAND_MAX_FAILURES", "2", lambda s: s.queue.max_failures == 2),
    ("BISTAND_QUEUE_POLL_SECONDS", "2", lambda s: s.queue.poll_seconds == 2),
    ("BISTAND_QUEUE_ROLE", "producer", lambda s: s.queue.role == "producer"),
    ("BISTAND_QUEUE_UNTIL_EMPTY", "0", lambda s: s.queue.until_empty is False),
    ("BISTAND_RUNNER_ID", "robot-7", lambda s: s.runner_id == "robot-7"),
    ("BISTAND_TRACE", "full", lambda s: s.trace == "full"),
    ("BISTAND_DEMO", "1", lambda s: s.demo and s.vault.file.endswith("devdata/vault.json")),
    ("BISTAND_ALERTS", "false", lambda s: s.alerts.enabled is False),
    ("BISTAND_ALERT_EVERY_SECONDS", "5", lambda s: s.alerts.evaluate_every_seconds == 5),
    ("BISTAND_ALERT_REPEAT_MINUTES", "5", lambda s: s.alerts.repeat_minutes == 5),
    ("BISTAND_DASHBOARD_URL", "https://d.example", lambda s: s.alerts.dashboard_url == "https://d.example"),
    ("BISTAND_ALERT_SMTP_PORT", "587", lambda s: s.alerts.smtp.port == 587),
    ("BISTAND_ALERT_SMTP_STARTTLS", "1", lambda s: s.alerts.smtp.starttls is True),
    ("BISTAND_ALERT_SMTP_USER", "larm", lambda s: s.alerts.smtp.username == "larm"),
    ("BISTAND_ALERT_SMTP_PASSWORD", "hemligt", lambda s: s.alerts.smtp.password.get_secret_value() == "hemligt"),
    ("BISTAND_ALERT_SMTP_FROM", "bot@k.se", lambda s: s.alerts.smtp.sender == "bot@k.se"),
    ("BISTAND_ALERT_SMTP_TO", "a@k.se, b@k.se", lambda s: s.alerts.smtp.to == ["a@k.se", "b@k.se"]),
    ("BISTAND_ALERT_WEBHOOK_URL", "https://hook", lambda s: s.alerts.webhook.url == "https://hook"),
    ("BISTAND_ALERT_WEBHOOK_TOKEN", "t", lambda s: s.alerts.webhook.token.get_secret_value() == "t"),
    ("BISTAND_ALERT_RULE_OLDEST_PENDING_MINUTES", "10", lambda s: s.alerts.rules.oldest_pending.minutes == 10),
    ("BISTAND_ALERT_RULE_NO_RUNNER_DAYS", "mon,sat", lambda s: s.alerts.rules.no_runner.days == ["mon", "sat"]),
    ("BISTAND_ALERT_RULE_NO_RUNNER_ENABLED", "false", lambda s: s.alerts.rules.no_runner.enabled is False),
    ("BISTAND_METRICS_TOKEN", "m", lambda s: s.metrics.token.get_secret_value() == "m"),
    ("BISTAND_BROWSER", "chromium", lambda s: s.browser.kind == "chromium"),
    ("BISTAND_CHROMIUM", "/opt/c", lambda s: s.browser.chromium == "/opt/c"),
    ("BISTAND_HEADLESS_SHELL", "/opt/h", lambda s: s.browser.headless_shell == "/opt/h"),
    ("BISTAND_PROCESS_PER_SITE", "1", lambda s: s.browser.process_per_site is True),
    ("BISTAND_CHROMIUM_EXTRA_ARGS", "--a --b=1", lambda s: s.browser.extra_args == ["--a", "--b=1"]),
    ("BISTAND_CONTEXT_PER", "host", lambda s: s.browser.context_per == "host"),
    ("DISPLAY", ":5", lambda s: s.desktop.display == ":5"),
    ("BISTAND_WATCH_SECONDS", "3", lambda s: s.watch_poll_seconds == 3),
    ("BISTAND_WATCH_ROTATE_MINUTES", "2", lambda s: s.watch.rotate_minutes == 2),
    ("BISTAND_WATCH_ALIVE_FILE", "/run/alive", lambda s: s.watch.alive_file == "/run/alive"),
    ("BISTAND_RUN_DIR", "/srv/run", lambda s: s.run_dir == Path("/srv/run")),
    ("BISTAND_TOTAL_ITEMS", "12", lambda s: s.run.total_items == 12),
    ("BISTAND_ITEMS_BEFORE", "4", lambda s: s.run.items_before == 4),
    ("BISTAND_DASHBOARD_USERS", "/etc/u.yaml", lambda s: s.dashboard.users_file == "/etc/u.yaml"),
    ("BISTAND_DASHBOARD_BEHIND_HTTPS_PROXY", "yes", lambda s: s.dashboard.behind_https_proxy is True),
    ("BISTAND_DASHBOARD_PROXY_IPS", "10.0.0.1", lambda s: s.dashboard.proxy_ips == "10.0.0.1"),
    ("RPA_SECRET_MANAGER", "RPA.Robocorp.Vault.FileSecrets", lambda s: s.vault.manager.endswith("FileSecrets")),
    ("RPA_SECRET_FILE", "/etc/vault.json", lambda s: s.vault.file == "/etc/vault.json"),
])
def test_every_variable_scripts_and_docs_use_still_sets_its_setting(variable: str, value: str, read) -> None:
    default = load(environ={})
    settings = load(environ={variable: value})
    assert read(settings), variable
    assert not read(default), f"{variable}: the test's value must differ from the default"


def test_read_strategy_from_the_environment_sets_every_system_without_a_variable_of_its_own(config: Path) -> None:
    settings = load(environ={"BISTAND_READ_STRATEGY": "render", "BISTAND_READ_FK": "fetch"}, yaml_path=config)
    assert settings.read_strategy("fk") == "fetch"
    assert {settings.read_strategy(system) for system in SYSTEMS if system != "fk"} == {"render"}
    yaml_only = load(environ={}, yaml_path=config)
    assert yaml_only.read_strategy("casemgmt") == "render" and yaml_only.read_strategy("fk") == "fetch"


def test_relative_folders_are_resolved_once_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load(environ={"BISTAND_OUTPUT_DIR": "ut", "BISTAND_NORM_DIR": "resources/norm"})
    assert settings.output_dir == tmp_path / "ut"
    assert settings.norm_dir == ROOT / "resources" / "norm", "the norm tables are the project's"
    assert settings.reports_dir == tmp_path / "ut" / "reports"


# -- a value that does not validate ----------------------------------------------------------------


def test_a_bad_variable_is_named_in_one_line() -> None:
    with pytest.raises(SettingsError) as raised:
        load(environ={"BISTAND_LEASE_SECONDS": "0"})
    assert raised.value.problems == ["BISTAND_LEASE_SECONDS: Input should be greater than 0"]


def test_a_bad_yaml_value_names_the_file_and_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("queue:\n  max_claims: 0\n", encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        load(environ={}, yaml_path=config)
    assert raised.value.problems == [f"{config}: queue.max_claims: Input should be greater than or equal to 1"]


def test_a_mistyped_yaml_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("queue:\n  lease_secnds: 5\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="queue.lease_secnds: Extra inputs are not permitted"):
        load(environ={}, yaml_path=config)


def test_a_bad_flag_is_named_as_the_command_lines() -> None:
    with pytest.raises(SettingsError) as raised:
        load(environ={}, attempts_per_item=0)
    assert raised.value.problems == ["attempts_per_item (command line): Input should be greater than or equal to 1"]


def test_load_or_exit_prints_the_problem_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        load_or_exit(environ={"BISTAND_MODE": "halvautomat"})
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "bistand: configuration: BISTAND_MODE: Input should be 'support' or 'automated'\n")


def test_a_command_with_a_bad_variable_stops_with_exit_code_2_naming_it() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BISTAND_LEASE_SECONDS": "-5"}
    env.pop(SETTINGS_VARIABLE, None)
    result = subprocess.run([sys.executable, "-m", "bistand.settings", "--check"], env=env, capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2
    assert "BISTAND_LEASE_SECONDS: Input should be greater than 0" in result.stderr
    assert "Traceback" not in result.stderr


# -- one value for the Robot Framework process -----------------------------------------------------


def _resolved(config: Path) -> Settings:
    return load(environ={"BISTAND_ALERT_SMTP_PASSWORD": "hemligt", "BISTAND_METRICS_TOKEN": "skrapa",
                         "BISTAND_URL_FK": "http://fk.example", "BISTAND_RETRY_DELAYS": "1,2",
                         "BISTAND_CHROMIUM_EXTRA_ARGS": "--x", "BISTAND_RUNNER_ID": "r1"},
                yaml_path=config, mode="automated", in_flight=2)


def test_the_json_round_trip_gives_equal_settings_secrets_included(config: Path) -> None:
    settings = _resolved(config)
    again = Settings.from_json(settings.to_json())
    assert again == settings
    assert again.alerts.smtp.password.get_secret_value() == "hemligt"
    assert again.metrics.token.get_secret_value() == "skrapa"
    assert again.to_json() == settings.to_json()


def test_a_child_loads_the_parents_file_and_neither_yaml_nor_other_variables(
        config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _resolved(config)
    path = write_json(settings, tmp_path / "run" / "settings.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "it holds the secrets"
    opened = _count_opens(monkeypatch, DEFAULT_YAML)
    child = load(environ={SETTINGS_VARIABLE: str(path), "BISTAND_LEASE_SECONDS": "99", "BISTAND_MODE": "support"})
    assert child == settings == read_json(path)
    assert opened == [], "the child does not read the YAML file"


def test_a_flag_still_wins_over_the_parents_file(config: Path, tmp_path: Path) -> None:
    path = write_json(_resolved(config), tmp_path / "settings.json")
    assert load(environ={SETTINGS_VARIABLE: str(path)}, queue={"lease_seconds": 3}).queue.lease_seconds == 3


def test_a_runner_hands_one_run_a_copy_with_its_own_values(config: Path) -> None:
    settings = _resolved(config)
    part = settings.updated(run={"dir": "/srv/run/part-2", "items_before": 500}, queue={"role": "consumer"})
    assert part.run_dir == Path("/srv/run/part-2") and part.run.items_before == 500
    assert part.queue.lease_seconds == settings.queue.lease_seconds and part.runner_id == "r1"
    assert settings.run.dir == "", "the original is unchanged"
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        settings.updated(run={"items_before": -1})


# -- loaded once ----------------------------------------------------------------------------------------


def _count_opens(monkeypatch: pytest.MonkeyPatch, target: Path) -> list[Path]:
    opened: list[Path] = []
    real_open = pathlib.Path.open

    def counting_open(self: Path, *args, **kwargs):
        if Path(self).resolve() == target.resolve():
            opened.append(Path(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", counting_open)
    return opened


def test_one_load_reads_the_yaml_file_once(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _count_opens(monkeypatch, config)
    settings = load(environ={"BISTAND_LEASE_SECONDS": "8"}, yaml_path=config)
    assert settings.queue.lease_seconds == 8 and settings.alerts.smtp.host == "mail.example"
    assert len(opened) == 1


def test_every_setting_says_what_it_is_for() -> None:
    missing = [leaf.yaml_key for leaf in variables(Settings) if not (leaf.field.description or "").strip()]
    assert missing == []


def test_the_committed_config_yaml_loads_and_matches_the_models_defaults() -> None:
    from_yaml = load(environ={}, runner_id="r", in_flight=1)
    from_model = Settings.model_validate({"runner_id": "r", "in_flight": 1})
    assert from_yaml == from_model, "resources/config.yaml and the model's defaults say the same"
