"""Load and validate a world file against the contract schema (resources/world.schema.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "resources" / "world.schema.json"


class WorldError(Exception):
    """A world file that cannot be used; the message names the JSON path."""


def luhn_ok(pnr: str) -> bool:
    """The Luhn check digit of a 12-digit personnummer (YYYYMMDD-NNNC) is right."""
    digits = pnr.replace("-", "")[2:]
    total = 0
    for index, char in enumerate(digits[:9]):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10 == int(digits[9])


def _walk_personnummer(node: Any, path: str):
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}"
            if key == "personnummer" and isinstance(value, str):
                yield child, value
            elif key == "declared_members" and isinstance(value, list):
                for index, item in enumerate(value):
                    yield f"{child}[{index}]", item
            else:
                yield from _walk_personnummer(value, child)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk_personnummer(item, f"{path}[{index}]")


def validate_world(world: Any) -> dict[str, Any]:
    """Validate against the schema, then the checks a schema cannot express."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(world), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise WorldError(f"world is invalid at {first.json_path}: {first.message}{more}")
    for path, pnr in _walk_personnummer(world, "$"):
        if not luhn_ok(pnr):
            raise WorldError(f"world is invalid at {path}: personnummer has a bad check digit")
    cases = {h["case_number"] for h in world["households"]}
    for index, app in enumerate(world["applications"]):
        if app["case_number"] not in cases:
            raise WorldError(
                f"world is invalid at $.applications[{index}].case_number: "
                f"no household with case number {app['case_number']}"
            )
    return world


def load_world(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WorldError(f"world file not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise WorldError(f"world file {path} is not JSON: line {exc.lineno}: {exc.msg}") from exc
    return validate_world(raw)


def household(world: dict[str, Any], case_number: str) -> dict[str, Any]:
    return next(h for h in world["households"] if h["case_number"] == case_number)


def person_name(world: dict[str, Any], pnr: str) -> tuple[str, str]:
    """First and last name of a person known anywhere in the world."""
    for h in world["households"]:
        for m in h["members"]:
            if m["personnummer"] == pnr:
                return m["first_name"], m["last_name"]
    for p in world["registers"].get("skv", {}).get("population", []):
        if p["personnummer"] == pnr:
            return p["first_name"], p["last_name"]
    return "", ""


def normalize_pnr(value: str) -> str:
    value = value.strip().replace(" ", "")
    if len(value) == 12 and value.isdigit():
        return f"{value[:8]}-{value[8:]}"
    return value


_PNR_INPUT = re.compile(r"^(\d{8})-?(\d{4})$")


def valid_personnummer(text: str) -> str | None:
    """What a portal's search field accepts: 'YYYYMMDD-NNNN' or 'YYYYMMDDNNNN' with a correct check
    digit, normalised to 'YYYYMMDD-NNNN'; None otherwise (the portal shows its error page)."""
    match = _PNR_INPUT.match((text or "").strip().replace(" ", ""))
    if not match:
        return None
    pnr = f"{match.group(1)}-{match.group(2)}"
    return pnr if luhn_ok(pnr) else None


def previous_period(period: str, months_back: int) -> str:
    """'2026-12', 3 -> '2026-09'."""
    year, month = (int(part) for part in period.split("-"))
    index = year * 12 + (month - 1) - months_back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def history_anchors(world: dict[str, Any], rows: list[dict[str, Any]]):
    """What a portal's made-up older history must respect: the periods it may not touch (every
    application period, and every (person, type, period) the world already has), and the
    earliest real row per (person, type) to count back from."""
    blocked = {application["period"] for application in world["applications"]}
    taken = {(row["personnummer"], row["type"], row["period"]) for row in rows}
    earliest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["personnummer"], row["type"])
        if key not in earliest or row["period"] < earliest[key]["period"]:
            earliest[key] = row
    return blocked, taken, earliest
