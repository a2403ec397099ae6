"""CSN's web for municipalities (kommunwebben): a person's study-aid payments per academic year.

Payments are shown as definition lists grouped by läsår (July–June), the current year first;
"Visa äldre utbetalningar" shows the earlier years. Each person also gets a deterministic
earlier history (no payments in July, as study aid follows terms), never in an application period.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import sqlite3
from itertools import groupby
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from simulators.common.web import SystemContext, connect, create_system_app, seed_once
from simulators.world import history_anchors, luhn_ok, person_name, previous_period

PACKAGE_DIR = Path(__file__).resolve().parent
TITLE = "CSN"

SUPPORT_LABELS = {"studiemedel": "Studiemedel (bidrag + lån)"}
GRANT_SHARE = 0.3  # roughly the bidrag part of full-time studiemedel; the rest is lån
PAY_DAY = 25

PNR_INPUT = re.compile(r"^(?:19|20)?(\d{6})-?(\d{4})$")

SCHEMA = """
CREATE TABLE persons (personnummer TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY, personnummer TEXT NOT NULL, type TEXT NOT NULL, period TEXT NOT NULL,
    amount INTEGER NOT NULL, grant_part INTEGER NOT NULL, loan_part INTEGER NOT NULL, paid_on TEXT
);
CREATE INDEX payments_pnr ON payments(personnummer, period);
"""


def academic_year(period: str) -> str:
    """'2026-12' -> '2026/27'; '2027-03' -> '2026/27' (läsår runs July to June)."""
    year, month = (int(part) for part in period.split("-"))
    start = year if month >= 7 else year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def period_span(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{period}-01 – {period}-{calendar.monthrange(year, month)[1]:02d}"


def older_history(world: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """6–14 earlier months per person and type, skipping July and every application period."""
    blocked, taken, earliest = history_anchors(world, rows)
    history = []
    for (pnr, kind), anchor in sorted(earliest.items()):
        digest = int(hashlib.sha256(f"csn:{pnr}:{kind}".encode()).hexdigest(), 16)
        for back in range(1, 6 + digest % 9 + 1):
            period = previous_period(anchor["period"], back)
            if period.endswith("-07") or period in blocked or (pnr, kind, period) in taken:
                continue
            # Term start months pay a little more (the extra for course literature is a stand-in).
            extra = 400 if period.endswith(("-08", "-01")) else 0
            history.append({"personnummer": pnr, "type": kind, "period": period, "amount": anchor["amount"] + extra,
                            "paid_on": f"{period}-{PAY_DAY}"})
    return history


def seed(world: dict[str, Any]):
    def run(conn: sqlite3.Connection) -> None:
        rows = world["registers"].get("csn", [])
        for row in [*rows, *older_history(world, rows)]:
            grant = round(row["amount"] * GRANT_SHARE)
            conn.execute(
                "INSERT INTO payments (personnummer, type, period, amount, grant_part, loan_part, paid_on)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row["personnummer"], row["type"], row["period"], row["amount"], grant, row["amount"] - grant,
                 row.get("paid_on")),
            )
        for pnr in sorted({row["personnummer"] for row in rows}):
            first, last = person_name(world, pnr)
            conn.execute("INSERT INTO persons VALUES (?, ?, ?)", (pnr, first, last))

    return run


def valid_personnummer(text: str) -> str | None:
    """CSN accepts ten or twelve digits; a ten-digit number is read as born in the 1900s or 2000s."""
    match = PNR_INPUT.match(text.strip().replace(" ", ""))
    if not match:
        return None
    head, tail = match.groups()
    digits = re.sub(r"\D", "", text)
    century = digits[:2] if len(digits) == 12 else ("20" if int(head[:2]) <= 26 else "19")
    pnr = f"{century}{head}-{tail}"
    return pnr if luhn_ok(pnr) else None


def create_app(ctx: SystemContext) -> FastAPI:
    seed_once(ctx, SCHEMA, seed(ctx.world))
    app, templates = create_system_app(ctx, title=TITLE, package_dir=PACKAGE_DIR)

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("user", request.session.get("user", ""))
        values.setdefault("title", TITLE)
        values.setdefault("pnr", "")
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    @app.get("/", response_class=HTMLResponse)
    async def search_form(request: Request):
        return render(request, "search.html")

    @app.get("/kund/utbetalningar", response_class=HTMLResponse)
    async def payments(request: Request, pnr: str = "", visa: str = ""):
        if not pnr.strip():
            return render(request, "search.html", message="Du måste fylla i ett personnummer.")
        personnummer = valid_personnummer(pnr)
        if personnummer is None:
            return render(request, "error.html", status_code=400, pnr=pnr)
        conn = connect(ctx.db_path)
        try:
            person = conn.execute("SELECT * FROM persons WHERE personnummer = ?", (personnummer,)).fetchone()
            rows = conn.execute(
                "SELECT * FROM payments WHERE personnummer = ? ORDER BY period DESC, paid_on DESC, id",
                (personnummer,),
            ).fetchall()
        finally:
            conn.close()
        if not rows:
            return render(request, "none.html", personnummer=personnummer)
        years = [(year, list(group)) for year, group in groupby(rows, key=lambda r: academic_year(r["period"]))]
        show_all = visa == "alla"
        return render(
            request, "payments.html", personnummer=personnummer, person=person,
            years=years if show_all else years[:1], older=not show_all and len(years) > 1,
            labels=SUPPORT_LABELS, span=period_span,
        )

    return app
