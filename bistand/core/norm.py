"""The riksnorm tables as data: one YAML file per year under resources/norm/ (RULES.md §2).

Every value carries its status (official or derived) and its source, because the report must
show the caseworker which figures are read from a published table and which are computed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bistand.core.errors import ApplicationError

NORM_DIR = Path(__file__).resolve().parents[2] / "resources" / "norm"

CHILD_BANDS = ("0", "1-2", "3", "4-6", "7-10", "11-14", "15-18", "19-20")
LARGEST_LISTED_HOUSEHOLD = 7


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


def _parse(raw: dict, year: int) -> NormTable:
    missing = [band for band in CHILD_BANDS if band not in (raw.get("children") or {})]
    common = raw.get("common") or {}
    if missing or any(size not in common for size in range(1, LARGEST_LISTED_HOUSEHOLD + 1)):
        raise ApplicationError("NORM_TABLE_INVALID", f"the norm table for {year} is incomplete")
    return NormTable.model_validate(raw)


@lru_cache(maxsize=16)
def _load(year: int, directory: Path) -> NormTable:
    path = directory / f"{year}.yaml"
    if not path.is_file():
        raise ApplicationError("NORM_TABLE_MISSING", f"no norm table for {year}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        table = _parse(raw, year)
    except (yaml.YAMLError, ValidationError, AttributeError, TypeError) as exc:
        raise ApplicationError("NORM_TABLE_INVALID", f"the norm table for {year} cannot be read: {exc}") from exc
    if table.year != year:
        raise ApplicationError("NORM_TABLE_INVALID", f"{path.name} says year {table.year}, expected {year}")
    return table


def load_norm_table(year: int, directory: Path | None = None) -> NormTable:
    """The table for `year` (cached). No file for the year: ApplicationError, never another year's figures."""
    return _load(int(year), (directory or NORM_DIR).resolve())
