"""The dashboard's web app (FastAPI + Jinja2): one page over the queue, retry/skip, logs and evidence.

Everything is behind the login (a server-side session in the queue database, bistand.dashboard.sessions:
idle and absolute time-outs, ended by logout or a changed user); failed logins are throttled per
user and per client address; every form posts a per-session CSRF token; request bodies are
bounded; every asset is served from this package (no CDN). Logs and evidence are served
read-only from output/runs/ only, with any path that resolves outside it refused, in a sandbox
(`Content-Security-Policy: sandbox allow-scripts`: a unique origin without the dashboard's cookie).
Sign-ins, failed sign-ins, sign-outs, retry/skip and every evidence file opened are audited.
"""

from __future__ import annotations

import hmac
import logging
import math
import re
import secrets
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from bistand.core.personnummer import mask_personnummer_in_text
from bistand.dashboard import charts
from bistand.dashboard.auth import LiveUsers, UserBook
from bistand.dashboard.metrics import registry_for
from bistand.dashboard.sessions import AUDIT_LABELS, BodyLimit, SecurityStore, SessionMiddleware, SessionPolicy
from bistand.dashboard.stats import (
    DECIDED_LABELS,
    OUTCOME_LABELS,
    STATE_LABELS,
    TIMEZONE,
    dashboard_stats,
    display_message,
)
from bistand.monitoring.alerts import RULE_TITLES, recent_incidents
from bistand.monitoring.clock import local_midnight
from bistand.monitoring.health import OUTCOME_LABELS as PORTAL_OUTCOME_LABELS
from bistand.monitoring.health import system_health
from bistand.monitoring.runners import MODE_LABELS, STATUS_LABELS, list_runners
from bistand.monitoring.runners import counts as runner_counts
from bistand.queue.states import allowed
from bistand.queue.store import ActionRefused, QueueStore
from bistand.report.labels import PROPOSAL_LABELS
from bistand.settings import SYSTEMS, AlertSettings

LOG = logging.getLogger("bistand.dashboard")
HERE = Path(__file__).resolve().parent
APPLICATION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
# Files from a run (log.html runs its own scripts) get a unique origin: no cookie, no same-origin
# request to the dashboard, no top navigation, no forms.
EVIDENCE_HEADERS = {
    "Content-Security-Policy": "sandbox allow-scripts",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
MAX_BODY_BYTES = 16 * 1024
MAX_USERNAME, MAX_PASSWORD = 80, 256
OPERATOR_ACTION = re.compile(r"^/arenden/([^/]{1,64})/(forsok-igen|hoppa-over)$")
EVIDENCE_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml", ".json": "application/json",
                  ".png": "image/png", ".txt": "text/plain; charset=utf-8", ".zip": "application/zip",
                  ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class LoginRequired(Exception):
    """The request has no signed-in user: the browser is sent to the login page."""


def local_time(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, TIMEZONE).strftime("%Y-%m-%d %H:%M")


def local_time_seconds(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


SYSTEM_NAMES = {"eservice": "E-tjänsten (eservice)", "fk": "Försäkringskassan (fk)", "af": "Arbetsförmedlingen (af)",
                "csn": "CSN (csn)", "skv": "Skatteverket (skv)", "pm": "Pensionsmyndigheten (pm)",
                "akassa": "A-kassan (akassa)", "casemgmt": "Verksamhetssystemet (casemgmt)"}
HEALTH_LABELS = {"ok": "Fungerar", "failing": "Fel", "unknown": "Ingen trafik"}


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def create_app(store: QueueStore, users: UserBook | LiveUsers, output_dir: Path, secure_cookie: bool = True,
               policy: SessionPolicy | None = None, security: SecurityStore | None = None,
               alerts: AlertSettings | None = None, metrics_token: str = "") -> FastAPI:
    """The dashboard over one queue store; `output_dir` is the bot's output folder (output/).
    `secure_cookie=False` only for plain HTTP on loopback (bistand.dashboard.cli says so at start).
    `alerts`: the rules' settings (the portal view uses the `system_down` thresholds); `metrics_token`:
    the bearer token /metrics asks for ('' turns /metrics off)."""
    app = FastAPI(title="bistand – arbetskö", docs_url=None, redoc_url=None, openapi_url=None)
    security = security or SecurityStore(store, policy)
    alerts = alerts or AlertSettings()

    @app.middleware("http")
    async def audit_operator_actions(request: Request, call_next) -> Response:
        """Retry and skip in the audit log, with what the dashboard answered (done or refused)."""
        response = await call_next(request)
        action = OPERATOR_ACTION.match(request.url.path)
        user = request.scope.get("session", {}).get("user")
        if request.method == "POST" and action and user:
            kind = (request.scope["session"].get("flash") or {}).get("kind", "")
            await run_in_threadpool(security.audit, user, "retry" if action[2] == "forsok-igen" else "skip",
                                    client_of(request), f"{action[1]}: {'utfört' if kind == 'ok' else 'nekat'}")
        return response

    app.add_middleware(SessionMiddleware, security=security, fingerprint_of=users.fingerprint, secure=secure_cookie)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["tid"] = local_time
    templates.env.filters["tidsek"] = local_time_seconds
    templates.env.filters["tal"] = charts.swedish_number
    templates.env.globals.update(STATE_LABELS=STATE_LABELS, OUTCOME_LABELS=OUTCOME_LABELS,
                                 DECIDED_LABELS=DECIDED_LABELS, allowed=allowed, STATUS_LABELS=STATUS_LABELS,
                                 MODE_LABELS=MODE_LABELS, RULE_TITLES=RULE_TITLES, SYSTEM_NAMES=SYSTEM_NAMES,
                                 HEALTH_LABELS=HEALTH_LABELS, PORTAL_OUTCOME_LABELS=PORTAL_OUTCOME_LABELS,
                                 seconds_text=charts.seconds_text,
                                 PROPOSAL_LABELS={p.value: label for p, label in PROPOSAL_LABELS.items()})
    runs_root = (Path(output_dir) / "runs").resolve()

    def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        context.update(user=request.session.get("user"), csrf=csrf_token(request),
                       flash=request.session.pop("flash", None))
        response = templates.TemplateResponse(request, name, context, status_code=status_code)
        response.headers.update(PAGE_HEADERS)
        return response

    def signed_in(request: Request) -> str:
        user = request.session.get("user")
        if not user:
            raise LoginRequired
        return user

    def flash(request: Request, kind: str, text: str) -> None:
        request.session["flash"] = {"kind": kind, "text": text}

    @app.exception_handler(LoginRequired)
    def to_login(_request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        heading = {403: "Åtkomst nekad", 404: "Finns inte"}.get(exc.status_code, "Något gick fel")
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else ""
        return page(request, "error.html", status_code=exc.status_code, heading=heading, detail=detail)

    @app.exception_handler(sqlite3.OperationalError)
    def queue_unreachable(request: Request, exc: Exception) -> Response:
        LOG.warning("dashboard: the queue could not be read: %s", type(exc).__name__)
        return page(request, "error.html", status_code=503, heading="Kön kan inte läsas just nu",
                    detail="Databasen svarar inte. Försök igen om en stund.")

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        if request.session.get("user"):
            return RedirectResponse("/", status_code=303)
        return page(request, "login.html")

    @app.post("/login", response_class=HTMLResponse)
    def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
              csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf)
        client = client_of(request)
        shown = mask_personnummer_in_text(username[:MAX_USERNAME])
        if len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:  # refused before any hashing
            security.audit(username, "sign_in_failed", client, "för långt användarnamn eller lösenord")
            return page(request, "login.html", status_code=400, username=shown,
                        error="Användarnamnet eller lösenordet är för långt.")
        scopes = [f"user:{username}", f"client:{client}"]
        wait = security.wait_before_login(scopes)
        if wait > 0:  # refused before hashing: a flood costs no CPU
            security.audit(username, "sign_in_throttled", client, f"{math.ceil(wait)} s kvar")
            response = page(request, "login.html", status_code=429, username=shown,
                            error=f"För många misslyckade inloggningar. Försök igen om {math.ceil(wait)} sekunder.")
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        if not users.check(username, password):
            security.login_failed(scopes)
            security.audit(username, "sign_in_failed", client)
            LOG.warning("dashboard: refused login for %r", shown)
            return page(request, "login.html", status_code=401, error="Fel användarnamn eller lösenord.",
                        username=shown)
        security.login_succeeded(f"user:{username}")
        security.audit(username, "sign_in", client)
        request.session.clear()  # a new session (new id, new CSRF token) on login: no fixation
        request.session["user"] = username
        LOG.info("dashboard: %s logged in", shown)
        return RedirectResponse("/", status_code=303)

    @app.post("/logga-ut")
    def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf)
        user = request.session.get("user")
        if user:
            security.audit(user, "sign_out", client_of(request))
        request.session.clear()  # the session row is deleted: a copied cookie opens nothing
        return RedirectResponse("/login", status_code=303)

    @app.get("/granskning", response_class=HTMLResponse)
    def audit_log(request: Request) -> HTMLResponse:
        """Who signed in, failed to, signed out, retried, skipped and opened which evidence (masked)."""
        signed_in(request)
        return page(request, "audit.html", active="audit", events=security.audit_events(), labels=AUDIT_LABELS)

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request, dag: str = "") -> HTMLResponse:
        signed_in(request)
        day = None
        if dag:
            try:
                day = date.fromisoformat(dag)
            except ValueError:
                flash(request, "fel", "Ogiltigt datum: ange ÅÅÅÅ-MM-DD.")
        stats = dashboard_stats(store, day)
        chart_svgs = {
            "hourly": charts.hourly_chart(stats.hourly),
            "seconds": charts.seconds_chart(stats.seconds),
            "proposals": charts.bar_chart(stats.proposals, "forslag", "Förslag per kod", "Klara ärenden",
                                          "Inga klara ärenden ännu"),
            "findings": charts.bar_chart(stats.findings, "fynd", "Fynd per kod", "Klara ärenden med fyndet",
                                         "Inga fynd ännu"),
            "decided": charts.decided_chart(stats.decided),
        }
        shown_day = stats.hourly.day
        return page(request, "index.html", active="queue", stats=stats, charts=chart_svgs,
                    queue=store.url.split("@")[-1],
                    previous_day=(shown_day - timedelta(days=1)).isoformat(),
                    next_day=(shown_day + timedelta(days=1)).isoformat(), now=datetime.now(TIMEZONE))

    @app.get("/robotar", response_class=HTMLResponse)
    def runners_page(request: Request) -> HTMLResponse:
        """Every runner: alive, silent (its items will be taken over) or stopped (exit code); the alerts."""
        signed_in(request)
        now = datetime.now(TIMEZONE)
        runners = list_runners(store, day_start=local_midnight(now.timestamp(), TIMEZONE))
        return page(request, "runners.html", active="runners", runners=runners, counts=runner_counts(runners),
                    incidents=recent_incidents(store), now=now, now_ts=now.timestamp())

    @app.get("/portaler", response_class=HTMLResponse)
    def portals_page(request: Request) -> HTMLResponse:
        """Each system now, over the last hour, and since when it fails (bistand.monitoring.health)."""
        signed_in(request)
        rule = alerts.rules.system_down
        systems = system_health(store, SYSTEMS, None, rule.window_minutes, rule.error_rate, rule.min_requests)
        return page(request, "portals.html", active="portals", systems=systems, chart=charts.portal_chart(systems),
                    window=rule.window_minutes, error_rate=rule.error_rate, OUTCOME_LABELS=PORTAL_OUTCOME_LABELS,
                    now=datetime.now(TIMEZONE))

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        """Prometheus' text format; a bearer token, or 404 when none is configured (off)."""
        if not metrics_token:
            raise HTTPException(404, "Finns inte")
        offered = request.headers.get("authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {metrics_token}".encode()):
            return Response("unauthorized\n", status_code=401, media_type="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="bistand-metrics"',
                                     "Cache-Control": "no-store"})
        return Response(generate_latest(registry_for(store, alerts)), media_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})

    @app.post("/arenden/{application_id}/forsok-igen")
    def retry(request: Request, application_id: str, csrf: Annotated[str, Form()] = "") -> Response:
        user = signed_in(request)
        check_csrf(request, csrf)
        valid_id(application_id)
        try:
            store.retry(application_id)
        except ActionRefused as refused:  # the state table does not allow it (docs/queue.md)
            flash(request, "fel", str(refused))
        else:
            store.log_action(user, "retry", application_id)
            LOG.info("dashboard: %s put %s back in the queue", user, application_id)
            flash(request, "ok", f"{application_id} är tillbaka i kön och körs vid nästa körning.")
        return RedirectResponse("/", status_code=303)

    @app.post("/arenden/{application_id}/hoppa-over")
    def skip(request: Request, application_id: str, csrf: Annotated[str, Form()] = "",
             reason: Annotated[str, Form()] = "") -> Response:
        user = signed_in(request)
        check_csrf(request, csrf)
        valid_id(application_id)
        reason = " ".join(reason.split())
        if not reason:
            flash(request, "fel", f"{application_id} hoppades inte över: ange ett skäl.")
            return RedirectResponse("/", status_code=303)
        try:
            store.skip(application_id, reason)
        except ActionRefused as refused:  # the state table does not allow it (docs/queue.md)
            flash(request, "fel", str(refused))
        else:
            store.log_action(user, "skip", application_id, reason)
            LOG.info("dashboard: %s skipped %s", user, application_id)
            flash(request, "ok", f"{application_id} hoppas över (handläggs manuellt).")
        return RedirectResponse("/", status_code=303)

    @app.get("/arenden/{application_id}", response_class=HTMLResponse)
    def item(request: Request, application_id: str) -> HTMLResponse:
        signed_in(request)
        valid_id(application_id)
        queued = store.get(application_id)
        if queued is None:
            raise HTTPException(404, "Inget sådant ärende i kön")
        history = [(outcome, evidence_of(runs_root, outcome.run_dir, application_id))
                   for outcome in store.outcomes_of(application_id)]
        return page(request, "item.html", item=queued, message=display_message(queued.error_message),
                    history=history)

    @app.get("/korningar/{path:path}")
    def evidence(request: Request, path: str) -> Response:
        user = signed_in(request)
        target = inside(runs_root, path)
        if target is None:
            raise HTTPException(404, "Finns inte")
        if target.is_dir():
            entries = sorted(target.iterdir(), key=lambda p: (not p.is_dir(), p.name))
            return page(request, "listing.html", path=path.strip("/"),
                        entries=[(e.name, e.is_dir()) for e in entries if inside(runs_root, rel(runs_root, e))])
        media = EVIDENCE_TYPES.get(target.suffix.lower(), "application/octet-stream")
        security.audit(user, "evidence_opened", client_of(request), rel(runs_root, target))
        response = FileResponse(target, media_type=media)
        response.headers.update(EVIDENCE_HEADERS)
        return response

    try:  # deferred: psycopg is installed for PostgreSQL queues only
        import psycopg

        app.add_exception_handler(psycopg.OperationalError, queue_unreachable)
    except ImportError:  # SQLite only
        pass
    return app


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: str) -> None:
    """The form's token must be this session's (a forged cross-site post has none)."""
    expected = request.session.get("csrf")
    if not expected or not hmac.compare_digest(expected.encode(), (submitted or "").encode()):
        LOG.warning("dashboard: a post without a valid CSRF token was refused")
        raise HTTPException(403, "Ogiltig eller saknad formulärnyckel (CSRF): ladda om sidan och försök igen.")


def valid_id(application_id: str) -> None:
    if not APPLICATION_ID.match(application_id):
        raise HTTPException(404, "Inget sådant ärende")


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else "\0"


def inside(root: Path, relative: str) -> Path | None:
    """`root/relative` when it exists and resolves (symlinks too) inside root; None otherwise."""
    if "\0" in relative or relative.startswith(("/", "\\")):
        return None
    try:
        target = (root / relative).resolve()
    except (OSError, ValueError):
        return None
    if not target.is_relative_to(root) or not target.exists():
        return None
    return target


def evidence_of(runs_root: Path, run_dir: str, application_id: str) -> dict[str, list[str]]:
    """The run's log files and this item's failure artefacts (paths relative to output/runs)."""
    if not run_dir.startswith("runs/"):
        return {"logs": [], "failures": []}
    run = inside(runs_root, run_dir.removeprefix("runs/"))
    if run is None or not run.is_dir():
        return {"logs": [], "failures": []}
    logs = [rel(runs_root, run / name) for name in ("log.html", "output.xml", "run-summary.json", "run-summary.xlsx")
            if (run / name).is_file()]
    failures = sorted(rel(runs_root, path) for folder in (run / "failures").glob(f"{application_id}-try*")
                      if folder.is_dir() for path in folder.iterdir() if path.is_file())
    return {"logs": logs, "failures": failures}
