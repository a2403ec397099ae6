"""Arbetsförmedlingen's service for municipalities: is a person registered as a job seeker?

Search by personnummer; the answer is the person's inskrivningsstatus (registered yes/no, since
when, sökandekategori, latest activity report), or that the person is not registered at all.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from simulators.common.web import SystemContext, connect, create_system_app, seed_once
from simulators.world import valid_personnummer

PACKAGE_DIR = Path(__file__).resolve().parent
TITLE = "Arbetsförmedlingen – Tjänst för kommuner"

CATEGORY_LABELS = {
    "11": "Öppet arbetslös",
    "12": "Deltidsarbetslös",
    "13": "Timanställd",
    "14": "Tillfälligt timanställd",
    "21": "Tillfälligt arbete",
    "22": "Arbete med lönestöd",
    "31": "Ombytessökande",
    "34": "Arbetssökande med förhinder",
    "68": "Jobb- och utvecklingsgarantin",
    "69": "Jobbgaranti för ungdomar",
    "70": "Etableringsprogrammet",
    "72": "Introduktionsjobb",
}

SCHEMA = """
CREATE TABLE registrations (
    personnummer TEXT PRIMARY KEY, registered INTEGER NOT NULL, registered_since TEXT,
    category TEXT, last_activity_report TEXT
);
"""




def seed(world: dict[str, Any]):
    def run(conn: sqlite3.Connection) -> None:
        for status in world["registers"].get("af", []):
            conn.execute(
                "INSERT INTO registrations VALUES (?, ?, ?, ?, ?)",
                (status["personnummer"], int(status["registered"]), status.get("registered_since"),
                 status.get("category") or None, status.get("last_activity_report")),
            )

    return run


def create_app(ctx: SystemContext) -> FastAPI:
    seed_once(ctx, SCHEMA, seed(ctx.world))
    app, templates = create_system_app(ctx, title=TITLE, package_dir=PACKAGE_DIR, home_path="/sok")

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("user", request.session.get("user", ""))
        values.setdefault("title", TITLE)
        values.setdefault("pnr", "")
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    @app.get("/")
    async def home():
        return RedirectResponse("/sok", status_code=303)

    @app.get("/sok", response_class=HTMLResponse)
    async def search(request: Request, pnr: str = ""):
        if not pnr.strip():
            return render(request, "search.html")
        return RedirectResponse(f"/inskrivning?{urlencode({'pnr': pnr.strip()})}", status_code=303)

    @app.get("/inskrivning", response_class=HTMLResponse)
    async def registration(request: Request, pnr: str = ""):
        number = valid_personnummer(pnr)
        if number is None:
            return render(request, "error.html", status_code=400, pnr=pnr.strip()[:20])
        conn = connect(ctx.db_path)
        try:
            row = conn.execute("SELECT * FROM registrations WHERE personnummer = ?", (number,)).fetchone()
        finally:
            conn.close()
        if row is None:
            return render(request, "not_registered.html", pnr=number)
        status = dict(row)
        status["category_label"] = CATEGORY_LABELS.get(status["category"] or "", "")
        return render(request, "status.html", pnr=number, status=status)

    return app
