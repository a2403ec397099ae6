"""Where settings come from: the YAML file and the environment, as pydantic-settings sources.

Both take what they read as an argument (a path, a mapping), so a test or a parent process
decides; neither keeps anything between loads. The environment source also remembers which
variable gave each value (`origins`), so a validation error can name it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, YamlConfigSettingsSource

PREFIX = "BISTAND_"


@dataclass(frozen=True)
class Variable:
    """One leaf setting: where it sits in the YAML and which variables set it."""

    path: tuple[str, ...]
    yaml_key: str
    field: FieldInfo
    names: tuple[str, ...]
    """Environment variables, the first one found wins."""
    key_prefix: str = ""
    """For a mapping per system (`urls`): `BISTAND_URL_` + the system's name in capitals."""
    keys: tuple[str, ...] = ()
    keys_default: str = ""
    """The sibling setting whose variable sets every key not named on its own (`BISTAND_READ_STRATEGY`)."""


def _aliases(field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    return []


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def variables(model: type[BaseModel], prefix: str = PREFIX, path: tuple[str, ...] = (),
              yaml_path: tuple[str, ...] = ()) -> Iterator[Variable]:
    """Every leaf setting of `model`, depth first in declaration order.

    A leaf's variables: those kept in its validation_alias (names in capitals), then the one its
    path gives (`BISTAND_QUEUE_LEASE_SECONDS`). A section may set its own prefix
    (`json_schema_extra={"env_prefix": ...}`), as the alert rules' `BISTAND_ALERT_RULE_`.
    """
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        lower = [alias for alias in _aliases(field) if alias != alias.upper()]
        yaml_key = lower[0] if lower else name
        if _is_section(field.annotation):
            section_prefix = str(extra.get("env_prefix") or f"{prefix}{name.upper()}_")
            yield from variables(field.annotation, section_prefix, (*path, name), (*yaml_path, yaml_key))
            continue
        names = [alias for alias in _aliases(field) if alias == alias.upper()]
        derived = f"{prefix}{name.upper()}"
        names += [derived] if derived not in names else []
        yield Variable(path=(*path, name), yaml_key=".".join((*yaml_path, yaml_key)), field=field,
                       names=tuple(names), key_prefix=str(extra.get("env_keys") or ""),
                       keys=tuple(extra.get("env_key_choices") or ()),
                       keys_default=str(extra.get("env_keys_default") or ""))


def merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, section by section (a later source changes only the keys it names)."""
    result = dict(base)
    for key, value in over.items():
        both = isinstance(value, Mapping) and isinstance(result.get(key), Mapping)
        result[key] = merged(result[key], value) if both else value
    return result


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


class EnvironmentSource(PydanticBaseSettingsSource):
    """`BISTAND_*` (and the few foreign names the model keeps, such as DISPLAY) from a mapping.

    An empty variable counts as unset, as it always has here.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ
        self.origins: dict[tuple[str, ...], str] = {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads the whole model at once

    def __call__(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        leaves = list(variables(self.settings_cls))
        known = {name for leaf in leaves for name in leaf.names}
        for leaf in leaves:
            name = next((name for name in leaf.names if self.environ.get(name)), None)
            if name is not None:
                _put(data, leaf.path, self.environ[name])
                self.origins[leaf.path] = name
            if leaf.key_prefix:
                self._per_key(data, leaf, known)
        return data

    def _per_key(self, data: dict[str, Any], leaf: Variable, known: set[str]) -> None:
        """`BISTAND_URL_FK=…` → urls.fk; a variable that is a setting of its own is not a key."""
        for name, value in self.environ.items():
            if name.startswith(leaf.key_prefix) and name not in known and value:
                key = name.removeprefix(leaf.key_prefix).lower()
                _put(data, (*leaf.path, key), value)
                self.origins[(*leaf.path, key)] = name
        default_path = (*leaf.path[:-1], leaf.keys_default)
        if leaf.keys_default and default_path in self.origins:
            section = data
            for part in default_path[:-1]:
                section = section[part]
            for key in leaf.keys:
                if (*leaf.path, key) not in self.origins:
                    _put(data, (*leaf.path, key), section[leaf.keys_default])


def by_field_name(model: type[BaseModel], data: Any) -> Any:
    """A YAML key kept as an alias (`read_strategy`) under its field's name (`read_default`), so it
    and a variable for the same field merge into one value instead of two inputs."""
    if not isinstance(data, dict):
        return data
    renamed: dict[str, Any] = {}
    for key, value in data.items():
        name = next((name for name, field in model.model_fields.items() if key in _aliases(field)), key)
        field = model.model_fields.get(name)
        renamed[name] = by_field_name(field.annotation, value) if field and _is_section(field.annotation) else value
    return renamed


class YamlSource(YamlConfigSettingsSource):
    """The YAML file's values (read once, when the source is made), keyed by field name."""

    def _read_file(self, file_path: Path) -> dict[str, Any]:
        """libyaml's safe loader where PyYAML has it: the pure-Python one took most of a load's time."""
        with file_path.open(encoding="utf-8") as file:
            return yaml.load(file, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}  # noqa: S506 - safe

    def __call__(self) -> dict[str, Any]:
        return by_field_name(self.settings_cls, super().__call__())


def yaml_source(settings_cls: type[BaseSettings], path: Path) -> YamlSource:
    return YamlSource(settings_cls, yaml_file=path)
