"""App factory shared by the simulated systems: sessions, login (with optional TOTP), faults.

Every system is its own FastAPI app with its own templates and stylesheet; this module gives
them the same plumbing so none of them reinvents login. Cookies are per host, not per port,
so each system uses its own session cookie name.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyotp
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.middleware.sessions import SessionMiddleware

from simulators.common.accounts import SKV_TOTP_SECRET, accounts, needs_totp
from simulators.common.faults import LOOPBACK, FaultRequest, FaultState, reason

SESSION_MAX_AGE = int(os.environ.get("SIM_SESSION_MAX_AGE", str(8 * 3600)))


@dataclass
class SystemContext:
    """What a system gets at start: the world, where its state lives, and its neighbours' URLs."""

    name: str
    world: dict[str, Any]
    state_dir: Path
    reset: bool = False
    urls: dict[str, str] = field(default_factory=dict)
    faults: bool = False
    """`/_sim/faults` answers only when the simulators were started with `--faults`."""

    @property
    def db_path(self) -> Path:
        return self.state_dir / f"{self.name}.sqlite"

    @property
    def today(self) -> date:
        return date.fromisoformat(self.world["today"])


def connect(path: Path) -> sqlite3.Connection:
    """One connection per request; WAL so the bot's writes and a person's reads interleave."""
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def seed_once(ctx: SystemContext, schema_sql: str, seed: Callable[[sqlite3.Connection], None]) -> None:
    """Create the schema and seed from the world unless the state dir already holds this system.

    Restarting with the same state dir keeps what was written; `reset` reseeds from scratch.
    """
    ctx.state_dir.mkdir(parents=True, exist_ok=True)
    if ctx.reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ctx.db_path}{suffix}").unlink(missing_ok=True)
    conn = connect(ctx.db_path)
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS sim_meta (key TEXT PRIMARY KEY, value TEXT)")
        row = conn.execute("SELECT value FROM sim_meta WHERE key='seeded'").fetchone()
        if row is None:
            conn.executescript(schema_sql)
            seed(conn)
            conn.execute("INSERT INTO sim_meta VALUES ('seeded', ?)", (datetime.now().isoformat(),))
            conn.commit()
    finally:
        conn.close()


# --- formatting shared by templates ---------------------------------------------------------


def kr(amount: int | None, nbsp: bool = False) -> str:
    """12345 -> '12 345 kr' (Swedish thousands separator)."""
    if amount is None:
        return ""
    sep = "\u00a0" if nbsp else " "
    return f"{amount:,}".replace(",", sep) + f"{sep}kr"


def mask(pnr: str) -> str:
    return f"{pnr[:8]}-XXXX" if pnr and len(pnr) >= 8 else pnr


def make_templates(directory: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))
    templates.env.filters["kr"] = kr
    templates.env.filters["kr_nbsp"] = lambda a: kr(a, nbsp=True)
    templates.env.autoescape = True
    return templates


def page_renderer(templates: Jinja2Templates, title: str):
    """`render(request, name, status_code=200, **values)` with the logged-in user and the title."""

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("user", request.session.get("user", ""))
        values.setdefault("title", title)
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    return render


def create_system_app(
    ctx: SystemContext,
    *,
    title: str,
    package_dir: Path,
    home_path: str = "/",
    public_prefixes: tuple[str, ...] = (),
) -> tuple[FastAPI, Jinja2Templates]:
    """A FastAPI app with its own static files, templates, session cookie and login flow.

    `package_dir` holds `templates/` (with `login.html`, and `totp.html` for a TOTP system)
    and `static/`. Paths under `public_prefixes` do not need a login.
    """
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    templates = make_templates(package_dir / "templates")
    app.state.ctx = ctx
    app.state.templates = templates
    faults = FaultState()
    users = accounts(ctx.name)
    totp = pyotp.TOTP(SKV_TOTP_SECRET) if needs_totp(ctx.name) else None
    public = ("/login", "/logout", "/static", "/totp", "/_sim", "/favicon.ico", *public_prefixes)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        status = await faults.apply(request.url.path, request.method) if ctx.faults else 0
        if status:
            return HTMLResponse(
                f"<html><body><h1>{status} Tjänsten är inte tillgänglig</h1>"
                "<p>Försök igen senare.</p></body></html>",
                status_code=status,
            )
        path = request.url.path
        if not any(path == p or path.startswith(p + "/") or path.startswith(p + "?") for p in public):
            session = request.session
            if not session.get("user") or (totp and not session.get("totp_ok")):
                if path.startswith("/api/"):
                    return JSONResponse({"error": "not logged in"}, status_code=401)
                target = path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return await call_next(request)

    # Added after the guard so it runs first (Starlette wraps in reverse order).
    app.add_middleware(
        SessionMiddleware,
        secret_key=os.environ.get("SIM_SESSION_SECRET", secrets.token_hex(16)),
        session_cookie=f"sim_{ctx.name}_session",
        max_age=SESSION_MAX_AGE,
        same_site="lax",
    )
    app.mount("/static", StaticFiles(directory=str(package_dir / "static")), name="static")

    def safe_next(value: str | None) -> str:
        return value if value and value.startswith("/") and not value.startswith("//") else home_path

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str | None = None):
        return templates.TemplateResponse(
            request, "login.html", {"title": title, "next": safe_next(next), "error": None}
        )

    @app.post("/login", response_class=HTMLResponse)
    async def login_submit(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        next: str = Form("/"),
    ):
        expected = users.get(username)
        if expected is None or not hmac.compare_digest(expected, password):
            return templates.TemplateResponse(
                request,
                "login.html",
                {"title": title, "next": safe_next(next), "error": "Fel användarnamn eller lösenord."},
                status_code=401,
            )
        request.session.clear()
        request.session["user"] = username
        if totp:
            return RedirectResponse(f"/totp?next={quote(safe_next(next))}", status_code=303)
        return RedirectResponse(safe_next(next), status_code=303)

    if totp:

        @app.get("/totp", response_class=HTMLResponse)
        async def totp_form(request: Request, next: str | None = None):
            if not request.session.get("user"):
                return RedirectResponse("/login", status_code=303)
            return templates.TemplateResponse(
                request, "totp.html", {"title": title, "next": safe_next(next), "error": None}
            )

        @app.post("/totp", response_class=HTMLResponse)
        async def totp_submit(request: Request, code: str = Form(""), next: str = Form("/")):
            if not request.session.get("user"):
                return RedirectResponse("/login", status_code=303)
            if not totp.verify(code.strip(), valid_window=1):
                return templates.TemplateResponse(
                    request,
                    "totp.html",
                    {"title": title, "next": safe_next(next), "error": "Felaktig säkerhetskod."},
                    status_code=401,
                )
            request.session["totp_ok"] = True
            return RedirectResponse(safe_next(next), status_code=303)

    @app.get("/logout")
    async def logout(request: Request):
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    if ctx.faults:
        _add_fault_routes(app, faults)

    @app.get("/_sim/health")
    async def health():
        return {"system": ctx.name, "ok": True}

    @app.get("/favicon.ico")
    async def favicon():
        return Response(status_code=204)

    return app, templates


def _add_fault_routes(app: FastAPI, faults: FaultState) -> None:
    """`/_sim/faults` (see simulators.common.faults): loopback callers only."""

    def refuse_remote(request: Request) -> JSONResponse | None:
        host = request.client.host if request.client else ""
        if host not in LOOPBACK:
            return JSONResponse({"error": "faults can only be set from this machine (loopback)"}, status_code=403)
        return None

    @app.post("/_sim/faults")
    async def set_faults(request: Request):  # async: reads the raw body to answer 400, not 422
        refused = refuse_remote(request)
        if refused:
            return refused
        body = await request.body()
        try:
            fault = FaultRequest.model_validate_json(body or b"{}")
        except ValidationError as exc:
            return JSONResponse({"error": reason(exc)}, status_code=400)
        return faults.set(fault)

    @app.get("/_sim/faults")
    def show_faults(request: Request):
        return refuse_remote(request) or {"faults": faults.describe()}

    @app.post("/_sim/faults/release")
    def release_held(request: Request):
        return refuse_remote(request) or {"faults": faults.release()}

    @app.delete("/_sim/faults")
    def clear_faults(request: Request):
        refused = refuse_remote(request)
        if refused:
            return refused
        faults.clear()
        return {"faults": []}
