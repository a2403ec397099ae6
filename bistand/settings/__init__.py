"""One configuration for a run: `load` it once per process, pass the `Settings` down.

Sources, lowest first: the YAML file (resources/config.yaml or a path given), the `BISTAND_*`
environment, the command line's flags. A bad value stops the command with one line that names
where it came from (`BISTAND_LEASE_SECONDS: Input should be greater than 0`) and exit code 2
(`load_or_exit`). A child process gets the resolved settings as one JSON file (`write_json`,
`read_json`, the `BISTAND_SETTINGS` variable) and reads neither YAML nor environment again.
Every setting, with its YAML key and variables: docs/configuration.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import InitSettingsSource

from bistand.settings.model import (
    DEFAULT_GUIDELINE,
    DEFAULT_YAML,
    DEV_VAULT,
    FILE_SECRETS,
    ROOT,
    SYSTEMS,
    AlertSettings,
    BrowserSettings,
    DesktopSettings,
    QueueSettings,
    Settings,
    VaultSettings,
    default_in_flight,
    default_runner_id,
)
from bistand.settings.sources import EnvironmentSource, merged, yaml_source

__all__ = [
    "DEFAULT_GUIDELINE", "DEFAULT_YAML", "DEV_VAULT", "EXIT_CONFIG", "FILE_SECRETS", "ROOT", "SETTINGS_VARIABLE",
    "SYSTEMS", "AlertSettings", "BrowserSettings", "DesktopSettings", "QueueSettings", "Settings", "SettingsError",
    "VaultSettings", "default_in_flight", "default_runner_id", "load", "load_or_exit", "read_json", "settings_of",
    "write_json",
]

EXIT_CONFIG = 2
"""A command stops with this code on a configuration it cannot use (docs/operations.md, exit codes)."""
SETTINGS_VARIABLE = "BISTAND_SETTINGS"
"""Names the JSON file with a parent's resolved settings (`write_json`); a child loads only that."""


class SettingsError(ValueError):
    """Settings that do not validate: one line per problem, each naming its source."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _given(flags: Mapping[str, Any]) -> dict[str, Any]:
    """Flags a command line left unset (None) do not count; nested sections as dicts."""
    return {key: _given(value) if isinstance(value, Mapping) else value
            for key, value in flags.items() if value is not None}


def _has(data: Mapping[str, Any], path: tuple[Any, ...]) -> bool:
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return False
        data = data[key]
    return True


def _where(loc: tuple[Any, ...], flags: Mapping[str, Any], environment: EnvironmentSource,
           yaml_path: Path | str) -> str:
    """The flag, variable or YAML key the failing value came from."""
    for end in range(len(loc), 0, -1):
        path = tuple(str(part) for part in loc[:end])
        if _has(flags, path):
            return f"{'.'.join(path)} (command line)"
        if path in environment.origins:
            return environment.origins[path]
    return f"{yaml_path}: {'.'.join(str(part) for part in loc)}" if loc else str(yaml_path)


def load(environ: Mapping[str, str] | None = None, yaml_path: Path | str | None = None, **flags: Any) -> Settings:
    """Settings from the YAML file, then `environ` (this process's environment when None), then
    `flags` (keyword arguments by field, a section as a dict: `queue={"lease_seconds": 5}`).

    When `environ` names a JSON file in `BISTAND_SETTINGS`, that file is the settings (a child
    process of a runner); flags still win over it. Raises SettingsError.
    """
    env = os.environ if environ is None else environ
    given = _given(flags)
    if env.get(SETTINGS_VARIABLE):
        parent = json.loads(Path(env[SETTINGS_VARIABLE]).read_text(encoding="utf-8"))
        try:
            return Settings.model_validate(merged(parent, given))
        except ValidationError as error:
            nowhere = EnvironmentSource(Settings, {})
            raise SettingsError([f"{_where(problem['loc'], given, nowhere, env[SETTINGS_VARIABLE])}: {problem['msg']}"
                                 for problem in error.errors()]) from None
    path = Path(yaml_path) if yaml_path is not None else DEFAULT_YAML
    if not path.is_file():
        raise SettingsError([f"{path}: the configuration file does not exist"])
    environment = EnvironmentSource(Settings, env)
    sources = (InitSettingsSource(Settings, init_kwargs=given), environment, yaml_source(Settings, path))
    try:
        return Settings(_build_sources=(sources, given))
    except ValidationError as error:
        raise SettingsError([f"{_where(problem['loc'], given, environment, path)}: {problem['msg']}"
                             for problem in error.errors()]) from None


def load_or_exit(environ: Mapping[str, str] | None = None, yaml_path: Path | str | None = None,
                 **flags: Any) -> Settings:
    """`load`, or each problem on stderr and exit code 2: for the commands."""
    try:
        return load(environ, yaml_path, **flags)
    except SettingsError as error:
        for problem in error.problems:
            print(f"bistand: configuration: {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def settings_of(value: Settings | Mapping[str, str] | None) -> Settings:
    """The Settings; a mapping of variables (an older caller's `env`) or None (this process's
    environment) is loaded. For the callers not yet handed a Settings; new code passes one."""
    return value if isinstance(value, Settings) else load(environ=value)


def write_json(settings: Settings, path: Path) -> Path:
    """The resolved settings for a child process, readable by this user only (it holds secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(settings.to_json())
    return path


def read_json(path: Path) -> Settings:
    return Settings.from_json(path.read_text(encoding="utf-8"))
