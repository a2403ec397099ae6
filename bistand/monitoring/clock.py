"""The municipality's local time: what "today" and office hours mean for the figures, the runners
seen today and the alert rules (the dashboard shows the same)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Europe/Stockholm")


def local_midnight(now: float, timezone=TIMEZONE) -> float:
    """The Unix time of the last local midnight before `now` (a day's start, clock changes included)."""
    return datetime.fromtimestamp(now, timezone).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
