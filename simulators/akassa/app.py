"""The unemployment fund's portal for municipalities: a member's payment notices (utbetalningsbesked).

One notice per payment: the compensated days week by week, the gross daily allowance, the tax
withheld and "Utbetalt netto" (the register's amount: the register is net after tax). Amounts are
written with öre, "9 100,00 kr". The search is a POST, so nothing personal ends up in a URL.
"""

from __future__ import annotations

import calendar
import hashlib
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse

from simulators.common.web import SystemContext, connect, create_system_app, page_renderer, seed_once
from simulators.world import history_anchors, person_name, previous_period, valid_personnummer

PACKAGE_DIR = Path(__file__).resolve().parent
TITLE = "A-kassan"
TAX_RATE = 0.30
PAY_DAY = 12


SCHEMA = """
CREATE TABLE members (personnummer TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
                      member_number TEXT NOT NULL);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY, personnummer TEXT NOT NULL, type TEXT NOT NULL, period TEXT NOT NULL,
    days INTEGER NOT NULL, gross INTEGER NOT NULL, tax INTEGER NOT NULL, net INTEGER NOT NULL, paid_on TEXT
);
CREATE INDEX payments_pnr ON payments(personnummer, period);
"""


def weekdays(period: str) -> list[date]:
    """Monday to Friday of the month: the days a-kassa can compensate."""
    year, month = (int(part) for part in period.split("-"))
    days = (date(year, month, day) for day in range(1, calendar.monthrange(year, month)[1] + 1))
    return [day for day in days if day.weekday() < 5]


def older_history(world: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """6–14 earlier months per member; days off (sick, work) make the amounts vary."""
    blocked, taken, earliest = history_anchors(world, rows)
    history = []
    for (pnr, kind), anchor in sorted(earliest.items()):
        digest = int(hashlib.sha256(f"akassa:{pnr}:{kind}".encode()).hexdigest(), 16)
        per_day = anchor["amount"] / max(1, len(weekdays(anchor["period"])))
        for back in range(1, 6 + digest % 9 + 1):
            period = previous_period(anchor["period"], back)
            if period in blocked or (pnr, kind, period) in taken:
                continue
            days = max(1, len(weekdays(period)) - (digest >> back) % 4)
            history.append({"personnummer": pnr, "type": kind, "period": period, "amount": round(per_day * days),
                            "paid_on": f"{previous_period(period, -1)}-{PAY_DAY:02d}", "days": days})
    return history


def seed(world: dict[str, Any]):
    def run(conn: sqlite3.Connection) -> None:
        rows = world["registers"].get("akassa", [])
        for row in [*rows, *older_history(world, rows)]:
            net = row["amount"]
            gross = round(net / (1 - TAX_RATE))
            conn.execute(
                "INSERT INTO payments (personnummer, type, period, days, gross, tax, net, paid_on)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (row["personnummer"], row["type"], row["period"], row.get("days", len(weekdays(row["period"]))),
                 gross, gross - net, net, row.get("paid_on")),
            )
        for pnr in sorted({row["personnummer"] for row in rows}):
            first, last = person_name(world, pnr)
            number = str(int(hashlib.sha256(pnr.encode()).hexdigest(), 16) % 9_000_000 + 1_000_000)
            conn.execute("INSERT INTO members VALUES (?, ?, ?, ?)", (pnr, first, last, number))

    return run


def ore(amount_ore: int) -> str:
    """910000 -> '9 100,00 kr'."""
    kronor, rest = divmod(amount_ore, 100)
    return f"{kronor:,}".replace(",", " ") + f",{rest:02d} kr"


def notice(row: sqlite3.Row) -> dict[str, Any]:
    """The notice's lines: compensated days per ISO week, split so the öre add up to the gross."""
    days = weekdays(row["period"])[: row["days"]]
    gross_ore = row["gross"] * 100
    daily_ore = gross_ore // max(1, len(days))
    weeks: dict[int, list[date]] = {}
    for day in days:
        weeks.setdefault(day.isocalendar().week, []).append(day)
    lines, spent = [], 0
    for index, (week, week_days) in enumerate(weeks.items()):
        amount = daily_ore * len(week_days) if index < len(weeks) - 1 else gross_ore - spent
        spent += amount
        lines.append({"label": f"Dagpenning vecka {week}", "days": len(week_days), "daily": ore(daily_ore),
                      "amount": ore(amount)})
    year, month = (int(part) for part in row["period"].split("-"))
    return {
        "row": row, "lines": lines, "gross": ore(gross_ore), "tax": ore(row["tax"] * 100), "net": ore(row["net"] * 100),
        "span": f"{row['period']}-01 – {row['period']}-{calendar.monthrange(year, month)[1]:02d}",
        "tax_rate": f"{round(TAX_RATE * 100)} %",
    }


def create_app(ctx: SystemContext) -> FastAPI:
    seed_once(ctx, SCHEMA, seed(ctx.world))
    app, templates = create_system_app(ctx, title=TITLE, package_dir=PACKAGE_DIR)

    render = page_renderer(templates, TITLE)

    @app.get("/", response_class=HTMLResponse)
    async def search_form(request: Request):
        return render(request, "search.html")

    @app.post("/sok", response_class=HTMLResponse)
    async def payments(request: Request, personnummer: str = Form("")):
        if not personnummer.strip():
            return render(request, "search.html", message="Ange medlemmens personnummer.")
        pnr = valid_personnummer(personnummer)
        if pnr is None:
            return render(request, "error.html", status_code=400)
        conn = connect(ctx.db_path)
        try:
            member = conn.execute("SELECT * FROM members WHERE personnummer = ?", (pnr,)).fetchone()
            rows = conn.execute(
                "SELECT * FROM payments WHERE personnummer = ? ORDER BY period DESC, paid_on DESC, id", (pnr,)
            ).fetchall()
        finally:
            conn.close()
        if not rows:
            return render(request, "none.html", personnummer=pnr)
        return render(request, "payments.html", personnummer=pnr, member=member, notices=[notice(r) for r in rows])

    return app
