"""Försäkringskassan's partner portal (handläggarstöd för kommuner): a person's payments.

A caseworker searches by personnummer and gets the payments (utbetalningar) newest first, ten
rows a page. Besides the world's rows each person gets an older, deterministic history so the
pagination is real; the world's application periods are never padded.
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
TITLE = "Försäkringskassan"
PAGE_SIZE = 10

BENEFIT_LABELS = {
    "sjukpenning": "Sjukpenning",
    "foraldrapenning": "Föräldrapenning",
    "aktivitetsstod": "Aktivitetsstöd",
    "etableringsersattning": "Etableringsersättning",
    "bostadsbidrag": "Bostadsbidrag",
    "barnbidrag": "Barnbidrag",
    "underhallsstod": "Underhållsstöd",
    "sjukersattning": "Sjukersättning",
    "aktivitetsersattning": "Aktivitetsersättning",
}
# The day of the month each benefit is usually paid (for the synthetic history only).
PAY_DAY = {"barnbidrag": 20, "underhallsstod": 24, "bostadsbidrag": 24, "sjukpenning": 25}


SCHEMA = """
CREATE TABLE persons (personnummer TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY, personnummer TEXT NOT NULL, type TEXT NOT NULL, period TEXT NOT NULL,
    amount INTEGER NOT NULL, paid_on TEXT
);
CREATE INDEX payments_pnr ON payments(personnummer, period);
"""


def older_history(world: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """6–14 earlier months of each (person, benefit), amounts varying a little, never in an application period."""
    blocked, taken, earliest = history_anchors(world, rows)
    history = []
    for (pnr, kind), anchor in sorted(earliest.items()):
        digest = int(hashlib.sha256(f"fk:{pnr}:{kind}".encode()).hexdigest(), 16)
        months = 6 + digest % 9
        step = max(1, anchor["amount"] // 40)
        for back in range(1, months + 1):
            period = previous_period(anchor["period"], back)
            if period in blocked or (pnr, kind, period) in taken:
                continue
            wobble = (digest >> (back * 3)) % 5 - 2
            amount = anchor["amount"] if kind == "barnbidrag" else max(0, anchor["amount"] + wobble * step)
            paid_on = f"{period}-{PAY_DAY.get(kind, 25):02d}"
            history.append({"personnummer": pnr, "type": kind, "period": period, "amount": amount,
                            "paid_on": paid_on})
    return history


def seed(world: dict[str, Any]):
    def run(conn: sqlite3.Connection) -> None:
        rows = world["registers"].get("fk", [])
        for row in [*rows, *older_history(world, rows)]:
            conn.execute(
                "INSERT INTO payments (personnummer, type, period, amount, paid_on) VALUES (?, ?, ?, ?, ?)",
                (row["personnummer"], row["type"], row["period"], row["amount"], row.get("paid_on")),
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
        return render(request, "search.html", personnummer="")

    @app.get("/utbetalningar", response_class=HTMLResponse)
    async def payments(request: Request, personnummer: str = "", sida: int = 1):
        if not personnummer.strip():
            return render(request, "search.html", personnummer="", message="Ange ett personnummer.")
        pnr = valid_personnummer(personnummer)
        if pnr is None:
            return render(request, "error.html", status_code=400)
        conn = connect(ctx.db_path)
        try:
            person = conn.execute("SELECT * FROM persons WHERE personnummer = ?", (pnr,)).fetchone()
            total = conn.execute("SELECT COUNT(*) FROM payments WHERE personnummer = ?", (pnr,)).fetchone()[0]
            pages = max(1, -(-total // PAGE_SIZE))
            page = min(max(1, sida), pages)
            rows = conn.execute(
                "SELECT * FROM payments WHERE personnummer = ? ORDER BY period DESC, paid_on DESC, id"
                " LIMIT ? OFFSET ?",
                (pnr, PAGE_SIZE, (page - 1) * PAGE_SIZE),
            ).fetchall()
        finally:
            conn.close()
        if total == 0:
            return render(request, "none.html", personnummer=pnr)
        return render(
            request, "payments.html", personnummer=pnr, person=person, rows=rows, page=page, pages=pages,
            total=total, labels=BENEFIT_LABELS,
        )

    return app
