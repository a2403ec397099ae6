"""Pensionsmyndigheten's handläggarportal: a person's pension payments, one calendar year a page.

Months are written out in Swedish ("december 2026"); each row shows the amount before tax, the
tax withheld and the amount paid out (the register's amount, which the rules count). Bostadstillägg
is tax free. Each person also gets a deterministic earlier history, never in an application period.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from simulators.common.web import SystemContext, connect, create_system_app, page_renderer, seed_once
from simulators.world import history_anchors, person_name, previous_period, valid_personnummer

PACKAGE_DIR = Path(__file__).resolve().parent
TITLE = "Pensionsmyndigheten"

MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")
BENEFIT_LABELS = {"pension": "Allmän pension", "bostadstillagg": "Bostadstillägg"}
TAX_RATE = {"pension": 0.24, "bostadstillagg": 0.0}
PAY_DAY = 19


SCHEMA = """
CREATE TABLE persons (personnummer TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY, personnummer TEXT NOT NULL, type TEXT NOT NULL, period TEXT NOT NULL,
    gross INTEGER NOT NULL, tax INTEGER NOT NULL, net INTEGER NOT NULL, paid_on TEXT
);
CREATE INDEX payments_pnr ON payments(personnummer, period);
"""


def month_name(period: str) -> str:
    """'2026-12' -> 'december 2026'."""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def older_history(world: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """12–14 earlier months (so a year link always exists); pension is steady, re-indexed each January."""
    blocked, taken, earliest = history_anchors(world, rows)
    history = []
    for (pnr, kind), anchor in sorted(earliest.items()):
        digest = int(hashlib.sha256(f"pm:{pnr}:{kind}".encode()).hexdigest(), 16)
        anchor_year = int(anchor["period"][:4])
        for back in range(1, 12 + digest % 3 + 1):
            period = previous_period(anchor["period"], back)
            if period in blocked or (pnr, kind, period) in taken:
                continue
            years_before = anchor_year - int(period[:4])
            amount = round(anchor["amount"] / (1.02**years_before))
            history.append({"personnummer": pnr, "type": kind, "period": period, "amount": amount,
                            "paid_on": f"{period}-{PAY_DAY}"})
    return history


def seed(world: dict[str, Any]):
    def run(conn: sqlite3.Connection) -> None:
        rows = world["registers"].get("pm", [])
        for row in [*rows, *older_history(world, rows)]:
            net = row["amount"]
            gross = round(net / (1 - TAX_RATE.get(row["type"], 0.24)))
            conn.execute(
                "INSERT INTO payments (personnummer, type, period, gross, tax, net, paid_on)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row["personnummer"], row["type"], row["period"], gross, gross - net, net, row.get("paid_on")),
            )
        for pnr in sorted({row["personnummer"] for row in rows}):
            first, last = person_name(world, pnr)
            conn.execute("INSERT INTO persons VALUES (?, ?, ?)", (pnr, first, last))

    return run


def create_app(ctx: SystemContext) -> FastAPI:
    seed_once(ctx, SCHEMA, seed(ctx.world))
    app, templates = create_system_app(ctx, title=TITLE, package_dir=PACKAGE_DIR)

    render = page_renderer(templates, TITLE)

    @app.get("/", response_class=HTMLResponse)
    async def search_form(request: Request):
        return render(request, "search.html")

    @app.get("/handlaggning/utbetalningar", response_class=HTMLResponse)
    async def payments(request: Request, personnummer: str = "", ar: str = ""):
        if not personnummer.strip():
            return render(request, "search.html", message="Fyll i personnummer.")
        pnr = valid_personnummer(personnummer)
        if pnr is None:
            return render(request, "error.html", status_code=400)
        conn = connect(ctx.db_path)
        try:
            person = conn.execute("SELECT * FROM persons WHERE personnummer = ?", (pnr,)).fetchone()
            years = [row[0] for row in conn.execute(
                "SELECT DISTINCT substr(period, 1, 4) AS year FROM payments WHERE personnummer = ? ORDER BY year DESC",
                (pnr,),
            )]
            if not years:
                return render(request, "none.html", personnummer=pnr)
            year = ar if ar in years else years[0]
            rows = conn.execute(
                "SELECT * FROM payments WHERE personnummer = ? AND substr(period, 1, 4) = ?"
                " ORDER BY period DESC, paid_on DESC, id",
                (pnr, year),
            ).fetchall()
        finally:
            conn.close()
        return render(
            request, "payments.html", personnummer=pnr, person=person, year=year, years=years, rows=rows,
            labels=BENEFIT_LABELS, month_name=month_name,
            totals={"gross": sum(r["gross"] for r in rows), "tax": sum(r["tax"] for r in rows),
                    "net": sum(r["net"] for r in rows)},
        )

    return app
