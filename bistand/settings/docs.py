"""docs/configuration.md's table of settings, made from the model so the two cannot drift apart.

`python -m bistand.settings --markdown` prints it; `python -m bistand.settings --write-docs`
replaces the table in docs/configuration.md (between the two markers); a test compares them.
"""

from __future__ import annotations

import enum
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

from bistand.settings.model import ROOT, Settings
from bistand.settings.sources import Variable, variables

DOC = ROOT / "docs" / "configuration.md"
BEGIN = "<!-- settings table: made by `python -m bistand.settings --write-docs`; do not edit by hand -->"
END = "<!-- end of settings table -->"


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin is Literal:
        return " \\| ".join(f"`{value}`" for value in args)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{member.value}`" for member in annotation)
    if origin in (list, tuple):
        return f"list of {_type(args[0])}"
    if origin is dict:
        return _type(args[1])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type(arg) for arg in args)
    names = {str: "text", int: "integer", float: "number", bool: "true \\| false", Path: "path", SecretStr: "secret"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(leaf: Variable) -> str:
    field = leaf.field
    if field.default_factory is not None:
        return "(computed, see description)"
    value = field.default
    if value is PydanticUndefined:
        return "(required)"
    if isinstance(value, SecretStr):
        return "(empty)" if not value.get_secret_value() else "(set)"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, Path):
        value = value.relative_to(ROOT) if value.is_absolute() and value.is_relative_to(ROOT) else value
    if isinstance(value, dict):
        return "see `resources/config.yaml`" if value else "(none)"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) if value else "(none)"
    if value == "":
        return "(empty)"
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") if "\\|" not in text else text.replace("\n", " ")


def rows(model: type[BaseModel] = Settings) -> list[tuple[str, str, str, str, str]]:
    """(YAML key, variables, type, default, description) for every leaf setting."""
    found = []
    for leaf in variables(model):
        yaml_key, names = leaf.yaml_key, ", ".join(f"`{name}`" for name in leaf.names)
        if leaf.key_prefix:
            yaml_key = f"{yaml_key}.<system>"
            names = f"`{leaf.key_prefix}<SYSTEM>`"
        found.append((f"`{yaml_key}`", names, _type(leaf.field.annotation), _default(leaf),
                      _cell(leaf.field.description or "")))
    return found


def markdown_table(model: type[BaseModel] = Settings) -> str:
    lines = ["| YAML key | environment | type | default | what |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(model)]
    return "\n".join(lines) + "\n"


def documented_table(text: str) -> str:
    """The table as docs/configuration.md holds it now."""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def with_table(text: str, table: str) -> str:
    head, rest = text.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{table}{END}{rest.split(END, 1)[1]}"
