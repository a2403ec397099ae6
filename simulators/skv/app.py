"""Skatteverket's portal for municipal officers: folkbokföring and arbetsgivardeklarationer (AGI).

Login is a password and then a security code (TOTP), the stand-in for e-legitimation. After a
search by personnummer the officer sees the person's registered address with everyone registered
there, or the employer declarations month by month (12 months per page, newest first). Besides
the world's declarations each declaring person gets a deterministic history of older months, so
the list runs over more than one page as a real one does.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from simulators.common.web import SystemContext, connect, create_system_app, seed_once
from simulators.world import previous_period, valid_personnummer

PACKAGE_DIR = Path(__file__).resolve().parent
TITLE = "Skatteverket – Myndighetstjänster"
PAGE_SIZE = 12
HISTORY_MONTHS = 14
"""Older synthetic months per declaring person: with the world's own month(s) more than one page."""

SCHEMA = """
CREATE TABLE population (
    personnummer TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
    street TEXT NOT NULL, postal_code TEXT NOT NULL, city TEXT NOT NULL, municipality TEXT NOT NULL,
    dwelling_key TEXT NOT NULL
);
CREATE INDEX population_dwelling ON population(dwelling_key);
CREATE TABLE employer_declarations (
    id INTEGER PRIMARY KEY, personnummer TEXT NOT NULL, period TEXT NOT NULL, employer TEXT NOT NULL,
    gross INTEGER NOT NULL, tax INTEGER NOT NULL, synthetic INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX declarations_pnr ON employer_declarations(personnummer, period);
"""




def dwelling_key(street: str, postal_code: str) -> str:
    """Same street and postal code, ignoring case and spacing (RULES.md §5)."""
    return " ".join(street.split()).casefold() + "|" + "".join(postal_code.split())


def format_postal_code(code: str) -> str:
    digits = "".join(code.split())
    return f"{digits[:3]} {digits[3:]}" if len(digits) == 5 else code




def _variation(*parts: str) -> float:
    """A deterministic factor in [0.9, 1.1) from the inputs (same world, same history)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return 0.9 + (int.from_bytes(digest[:4], "big") / 2**32) * 0.2


def synthetic_history(world: dict[str, Any]) -> list[dict[str, Any]]:
    """Older months for each person with declarations, before their earliest declared month.

    Same employer as the person's earliest declaration, gross varying ±10 % (rounded to 100 kr),
    tax at the same rate as in that declaration.
    """
    earliest: dict[str, dict[str, Any]] = {}
    for declaration in world["registers"].get("skv", {}).get("employer_declarations", []):
        known = earliest.get(declaration["personnummer"])
        if known is None or declaration["period"] < known["period"]:
            earliest[declaration["personnummer"]] = declaration
    history = []
    for pnr, base in earliest.items():
        rate = base["tax"] / base["gross"] if base["gross"] else 0.0
        for back in range(1, HISTORY_MONTHS + 1):
            period = previous_period(base["period"], back)
            gross = int(round(base["gross"] * _variation(pnr, period) / 100) * 100)
            history.append({
                "personnummer": pnr, "period": period, "employer": base["employer"],
                "gross": gross, "tax": int(round(gross * rate / 100) * 100),
            })
    return history


def seed(world: dict[str, Any]):
    def run(conn: sqlite3.Connection) -> None:
        skv = world["registers"].get("skv", {})
        for person in skv.get("population", []):
            address = person["address"]
            conn.execute(
                "INSERT INTO population VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (person["personnummer"], person["first_name"], person["last_name"], address["street"],
                 address["postal_code"], address["city"], address["municipality"],
                 dwelling_key(address["street"], address["postal_code"])),
            )
        rows = [(d, 0) for d in skv.get("employer_declarations", [])] + [(d, 1) for d in synthetic_history(world)]
        for declaration, synthetic in rows:
            conn.execute(
                "INSERT INTO employer_declarations (personnummer, period, employer, gross, tax, synthetic)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (declaration["personnummer"], declaration["period"], declaration["employer"],
                 declaration["gross"], declaration["tax"], synthetic),
            )

    return run


def create_app(ctx: SystemContext) -> FastAPI:
    seed_once(ctx, SCHEMA, seed(ctx.world))
    app, templates = create_system_app(ctx, title=TITLE, package_dir=PACKAGE_DIR, home_path="/sok")

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("user", request.session.get("user", ""))
        values.setdefault("title", TITLE)
        values.setdefault("pnr", "")
        values.setdefault("view", "")
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    def bad_number(request: Request, view: str) -> HTMLResponse:
        return render(request, "error.html", status_code=400, view=view)

    @app.get("/")
    async def home():
        return RedirectResponse("/sok", status_code=303)

    @app.get("/sok", response_class=HTMLResponse)
    async def search(request: Request, pnr: str = "", vy: str = "folkbokforing"):
        if not pnr.strip():
            return render(request, "search.html")
        target = "/agi" if vy == "agi" else "/folkbokforing"
        return RedirectResponse(f"{target}?{urlencode({'pnr': pnr.strip()})}", status_code=303)

    @app.get("/folkbokforing", response_class=HTMLResponse)
    async def folkbokforing(request: Request, pnr: str = ""):
        number = valid_personnummer(pnr)
        if number is None:
            return bad_number(request, "folkbokforing")
        conn = connect(ctx.db_path)
        try:
            person = conn.execute("SELECT * FROM population WHERE personnummer = ?", (number,)).fetchone()
            residents = [] if person is None else [dict(r) for r in conn.execute(
                "SELECT * FROM population WHERE dwelling_key = ? ORDER BY personnummer", (person["dwelling_key"],)
            )]
        finally:
            conn.close()
        if person is None:
            return render(request, "not_registered.html", pnr=number, view="folkbokforing")
        return render(
            request, "folkbokforing.html", pnr=number, view="folkbokforing", person=dict(person),
            postal_code=format_postal_code(person["postal_code"]), residents=residents,
        )

    @app.get("/agi", response_class=HTMLResponse)
    async def agi(request: Request, pnr: str = "", sida: int = 1):
        number = valid_personnummer(pnr)
        if number is None:
            return bad_number(request, "agi")
        conn = connect(ctx.db_path)
        try:
            total = conn.execute(
                "SELECT count(*) FROM employer_declarations WHERE personnummer = ?", (number,)
            ).fetchone()[0]
            pages = max(1, -(-total // PAGE_SIZE))
            page = min(max(1, sida), pages)
            rows = [dict(r) for r in conn.execute(
                "SELECT * FROM employer_declarations WHERE personnummer = ? ORDER BY period DESC, id"
                " LIMIT ? OFFSET ?", (number, PAGE_SIZE, (page - 1) * PAGE_SIZE),
            )]
        finally:
            conn.close()
        return render(
            request, "agi.html", pnr=number, view="agi", rows=rows, page=page, pages=pages, total=total,
        )

    return app
