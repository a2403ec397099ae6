"""Small helpers the rule modules share: building findings and formatting amounts in Swedish."""

from __future__ import annotations

import calendar
from datetime import date

from bistand.core.models import Finding, Register


def kr(amount: int) -> str:
    """12345 → '12 345 kr' (a no-break space would be nicer in HTML; the report layer decides)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,} kr".replace(",", " ")


def finding(
    code: str, message: str, source: Register, *, blocking: bool = True, **data: str | int | None
) -> Finding:
    return Finding(code=code, blocking=blocking, message=message, source=source, data=dict(data))


def period_start(period: str) -> date:
    year, month = period.split("-")
    return date(int(year), int(month), 1)


def period_end(period: str) -> date:
    start = period_start(period)
    return date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])


def previous_periods(period: str, count: int) -> list[str]:
    """The `count` calendar months before `period`, nearest first ('2026-12' → '2026-11', ...)."""
    start = period_start(period)
    year, month = start.year, start.month
    periods = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        periods.append(f"{year:04d}-{month:02d}")
    return periods
