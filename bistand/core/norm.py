"""The riksnorm tables as data: one YAML file per year in the norm directory (RULES.md §2).

Every value carries its status (official or derived) and its source, because the report must
show the caseworker which figures are read from a published table and which are computed.
Installing next year's table is an operation (`python -m bistand norm add|verify`), not a code
change: this module validates a new table, installs it atomically and turns derived values
official when the published figures match. Where the tables live is passed in (the bot's
settings: `norm_dir`, `BISTAND_NORM_DIR`); the default is resources/norm/.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bistand.core.errors import ApplicationError

DEFAULT_NORM_DIR = Path(__file__).resolve().parents[2] / "resources" / "norm"

CHILD_BANDS = ("0", "1-2", "3", "4-6", "7-10", "11-14", "15-18", "19-20")
ADULT_KINDS = ("single", "couple")
LARGEST_LISTED_HOUSEHOLD = 7
COMMON_SIZES = tuple(range(1, LARGEST_LISTED_HOUSEHOLD + 1))
STATUSES = ("official", "derived")
MAX_YEARLY_CHANGE = 0.15
"""A new year's value more than 15 % from the previous year's is a typo until forced."""


class NormValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: int
    status: Literal["official", "derived"]
    source: str


class CommonCost(BaseModel):
    """The common household costs for one household size, with how the figure was reached."""

    model_config = ConfigDict(frozen=True)

    size: int
    amount: int
    status: Literal["official", "derived"]
    table_key: str
    note: str = ""


class NormTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int
    children: dict[str, NormValue]
    adults: dict[Literal["single", "couple"], NormValue]
    common: dict[int, NormValue]

    def child(self, band: str) -> NormValue:
        return self.children[band]

    def common_for(self, size: int) -> CommonCost:
        """Common costs for `size` members; above 7, add (common[7] - common[6]) per extra member."""
        if size < 1:
            raise ValueError("a household has at least one member")
        if size <= LARGEST_LISTED_HOUSEHOLD:
            value = self.common[size]
            return CommonCost(size=size, amount=value.amount, status=value.status, table_key=f"common.{size}")
        seven, six = self.common[7], self.common[6]
        step = seven.amount - six.amount
        extra = size - LARGEST_LISTED_HOUSEHOLD
        status = "official" if seven.status == six.status == "official" else "derived"
        return CommonCost(
            size=size,
            amount=seven.amount + extra * step,
            status=status,
            table_key="common.7+",
            note=f"{seven.amount} kr för 7 personer + {extra} × {step} kr (skillnaden mellan 7 och 6 personer)",
        )

    def values(self) -> Iterator[tuple[str, NormValue]]:
        """Every value with its key (`children.0`, `adults.single`, `common.1`), in table order."""
        for band in CHILD_BANDS:
            yield f"children.{band}", self.children[band]
        for kind in ADULT_KINDS:
            yield f"adults.{kind}", self.adults[kind]
        for size in COMMON_SIZES:
            yield f"common.{size}", self.common[size]

    def value(self, key: str) -> NormValue:
        return dict(self.values())[key]

    def with_value(self, key: str, value: NormValue) -> NormTable:
        section, name = key.split(".", 1)
        current = dict(getattr(self, section))
        current[int(name) if section == "common" else name] = value
        return self.model_copy(update={section: current})


# --- reading installed tables -------------------------------------------------------------------


def install_command(year: int) -> str:
    return f"python -m bistand norm add {year} --from FILE.yaml"


def table_path(year: int, directory: Path) -> Path:
    return directory / f"{int(year)}.yaml"


def installed_years(directory: Path) -> list[int]:
    """Years with a table file in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(int(p.stem) for p in directory.glob("*.yaml") if p.stem.isdigit())


def _parse(raw: Any, year: int) -> NormTable:
    problems = check_table(raw, year)
    if problems:
        raise ApplicationError("NORM_TABLE_INVALID", f"the norm table for {year} is invalid: {problems[0]}")
    return NormTable.model_validate(_normalised(raw))


@lru_cache(maxsize=32)
def _load(path: Path, year: int, mtime_ns: int, size: int) -> NormTable:
    """Cached per file version: a table installed or verified during the process is read anew."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return _parse(raw, year)
    except (yaml.YAMLError, ValidationError, AttributeError, TypeError, OSError) as exc:
        raise ApplicationError("NORM_TABLE_INVALID", f"the norm table for {year} cannot be read: {exc}") from exc


def load_norm_table(year: int, directory: Path | None = None) -> NormTable:
    """The table for `year` from `directory` (default resources/norm/).

    No file for the year: ApplicationError NORM_TABLE_MISSING naming the command that installs
    it, never another year's figures.
    """
    year = int(year)
    path = table_path(year, (directory or DEFAULT_NORM_DIR).resolve())
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ApplicationError(
            "NORM_TABLE_MISSING", f"no norm table for {year}: install it with `{install_command(year)}`"
        ) from None
    return _load(path, year, stat.st_mtime_ns, stat.st_size)


# --- validating a new table ---------------------------------------------------------------------


def _normalised(raw: dict) -> dict:
    """Keys as the model wants them whether the YAML wrote `1:` or `"1":`."""
    return {
        **raw,
        "children": {str(k): v for k, v in (raw.get("children") or {}).items()},
        "adults": {str(k): v for k, v in (raw.get("adults") or {}).items()},
        "common": {int(str(k)): v for k, v in (raw.get("common") or {}).items()},
    }


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_value(key: str, value: Any) -> list[str]:
    if not isinstance(value, dict):
        return [f"{key}: ska ha amount, status och source / must have amount, status and source"]
    problems = []
    if "amount" not in value:
        problems.append(f"{key}: belopp saknas / amount missing")
    elif not _is_positive_int(value["amount"]):
        problems.append(f"{key}: beloppet {value['amount']!r} är inte ett positivt heltal (kr) "
                        f"/ amount must be a positive whole number")
    if value.get("status") not in STATUSES:
        problems.append(f"{key}: status {value.get('status')!r} ska vara official eller derived "
                        f"/ status must be official or derived")
    source = value.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(f"{key}: källa saknas / source missing")
    extra = sorted(set(value) - {"amount", "status", "source"})
    if extra:
        problems.append(f"{key}: okända fält {', '.join(map(str, extra))} / unknown fields")
    return problems


def _check_section(raw: dict, section: str, expected: tuple) -> list[str]:
    values = raw.get(section)
    if not isinstance(values, dict):
        return [f"{section}: avsnittet saknas / section missing"]
    given = {str(k): v for k, v in values.items()}
    wanted = [str(k) for k in expected]
    problems = [f"{section}.{k}: värdet saknas / value missing" for k in wanted if k not in given]
    problems += [f"{section}.{k}: okänd nyckel (giltiga: {', '.join(wanted)}) / unknown key"
                 for k in given if k not in wanted]
    for k in wanted:
        if k in given:
            problems += _check_value(f"{section}.{k}", given[k])
    return problems


def check_table(raw: Any, year: int) -> list[str]:
    """Every problem with a table file's content, one line each (empty: the table is complete)."""
    if not isinstance(raw, dict):
        return ["filen är ingen normtabell (year, children, adults, common) / not a norm table"]
    problems = []
    if raw.get("year") != year:
        problems.append(f"year: filen anger {raw.get('year')!r}, väntat {year} / the file's year must be {year}")
    problems += _check_section(raw, "children", CHILD_BANDS)
    problems += _check_section(raw, "adults", ADULT_KINDS)
    problems += _check_section(raw, "common", COMMON_SIZES)
    extra = sorted(set(raw) - {"year", "children", "adults", "common"})
    if extra:
        problems.append(f"okända avsnitt / unknown sections: {', '.join(map(str, extra))}")
    return problems


def change_problems(new: NormTable, previous: NormTable) -> list[str]:
    """Values more than ±15 % from the previous installed year's same value."""
    problems = []
    for key, value in new.values():
        before = previous.value(key).amount
        change = (value.amount - before) / before
        if abs(change) > MAX_YEARLY_CHANGE:
            problems.append(f"{key}: {value.amount} kr är {change:+.0%} mot {previous.year} ({before} kr), "
                            f"mer än ±{MAX_YEARLY_CHANGE:.0%} / more than ±15 % from {previous.year} "
                            f"(skrivfel? annars --force)")
    return problems


def previous_table(year: int, directory: Path) -> NormTable | None:
    """The latest installed table before `year`, to compare a new table with."""
    earlier = [y for y in installed_years(directory) if y < year]
    return load_norm_table(earlier[-1], directory) if earlier else None


@dataclass(frozen=True)
class CheckedTable:
    table: NormTable | None
    problems: list[str]
    previous_year: int | None = None


def check_new_table(text: str, year: int, directory: Path, force: bool = False) -> CheckedTable:
    """Validate a table file's text for `year` before it is installed in `directory`."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return CheckedTable(None, [f"filen är inte giltig YAML / not valid YAML: {str(exc).splitlines()[0]}"])
    problems = check_table(raw, year)
    if problems:
        return CheckedTable(None, problems)
    table = NormTable.model_validate(_normalised(raw))
    previous = previous_table(year, directory)
    if previous is not None and not force:
        problems = change_problems(table, previous)
    return CheckedTable(None if problems else table, problems, previous.year if previous else None)


# --- writing ------------------------------------------------------------------------------------


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename: a reader sees old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def dump_table(table: NormTable, header: str = "") -> str:
    """The table as YAML in the installed files' layout (comment lines of `header` kept on top)."""
    data = {
        "year": table.year,
        "children": {band: table.children[band].model_dump() for band in CHILD_BANDS},
        "adults": {kind: table.adults[kind].model_dump() for kind in ADULT_KINDS},
        "common": {size: table.common[size].model_dump() for size in COMMON_SIZES},
    }
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    return (header.rstrip("\n") + "\n" if header.strip() else "") + body


def leading_comments(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


# --- verifying against published figures -------------------------------------------------------


class PublishedFigures(BaseModel):
    """A file of published figures (possibly partial): `year`, `source`, and amounts by key."""

    model_config = ConfigDict(extra="forbid")

    year: int
    source: str
    children: dict[str, int] = {}
    adults: dict[str, int] = {}
    common: dict[int, int] = {}

    def figures(self) -> dict[str, int]:
        return {
            **{f"children.{k}": v for k, v in self.children.items()},
            **{f"adults.{k}": v for k, v in self.adults.items()},
            **{f"common.{k}": v for k, v in self.common.items()},
        }


@dataclass(frozen=True)
class Verification:
    table: NormTable
    confirmed: list[str]
    """Derived values whose amount equals the published figure: now official."""
    already_official: list[str]
    mismatches: list[tuple[str, int, int]]
    """(key, installed amount, published amount)."""
    corrected: list[tuple[str, int, int]]
    """Mismatches replaced by the published figure (only with `correct=True`)."""


def verify_table(table: NormTable, published: PublishedFigures, correct: bool = False) -> Verification:
    """Match the installed table with published figures.

    Equal and derived: the value becomes official with the published source. Different: a
    mismatch; with `correct`, the published amount replaces it (official, published source).
    """
    confirmed, already, mismatches, corrected = [], [], [], []
    for key, amount in published.figures().items():
        value = table.value(key)
        if value.amount == amount:
            if value.status == "official":
                already.append(key)
                continue
            table = table.with_value(key, NormValue(amount=amount, status="official", source=published.source))
            confirmed.append(key)
            continue
        mismatches.append((key, value.amount, amount))
        if correct:
            table = table.with_value(key, NormValue(amount=amount, status="official", source=published.source))
            corrected.append((key, value.amount, amount))
    return Verification(table, confirmed, already, mismatches, corrected)


def published_problems(raw: Any, year: int) -> list[str]:
    """Problems with a published-figures file: unknown keys, amounts that are not positive ints."""
    if not isinstance(raw, dict):
        return ["filen är ingen lista med publicerade belopp / not a published-figures file"]
    problems = []
    if raw.get("year") != year:
        problems.append(f"year: filen anger {raw.get('year')!r}, väntat {year} / the file's year must be {year}")
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        problems.append("source: källa saknas (t.ex. SFS-nummer) / source missing")
    sections = {"children": CHILD_BANDS, "adults": ADULT_KINDS, "common": COMMON_SIZES}
    extra = sorted(set(raw) - {"year", "source", *sections})
    if extra:
        problems.append(f"okända avsnitt / unknown sections: {', '.join(map(str, extra))}")
    count = 0
    for section, keys in sections.items():
        values = raw.get(section) or {}
        if not isinstance(values, dict):
            problems.append(f"{section}: ska vara nyckel: belopp / must map keys to amounts")
            continue
        wanted = [str(k) for k in keys]
        for key, amount in values.items():
            count += 1
            if str(key) not in wanted:
                problems.append(f"{section}.{key}: okänd nyckel (giltiga: {', '.join(wanted)}) / unknown key")
            elif not _is_positive_int(amount):
                problems.append(f"{section}.{key}: {amount!r} är inte ett positivt heltal / not a positive integer")
    if count == 0 and not problems:
        problems.append("filen innehåller inga belopp / no figures in the file")
    return problems


def parse_published(raw: Any, year: int) -> tuple[PublishedFigures | None, list[str]]:
    """The published figures of a file, or the problems that make it unusable."""
    problems = published_problems(raw, year)
    if problems:
        return None, problems
    sections = {name: {str(k): v for k, v in (raw.get(name) or {}).items()} for name in ("children", "adults")}
    common = {int(str(k)): v for k, v in (raw.get("common") or {}).items()}
    return PublishedFigures(year=year, source=raw["source"].strip(), common=common, **sections), []
