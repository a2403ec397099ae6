"""The municipality's e-service for ekonomiskt bistånd: a citizen side and a caseworker inbox.

Citizens log in with their personnummer (a BankID stand-in) and file re-applications with
incomes, costs and uploaded invoices. Caseworkers (and the robot) log in with a password and
work the inbox: list, read, download attachments, change status, message the applicant.
The world's applications arrive already submitted with status Ny.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from simulators.attachments import render_attachment
from simulators.common.web import SystemContext, connect, create_system_app, seed_once
from simulators.world import household, normalize_pnr, person_name

PACKAGE_DIR = Path(__file__).resolve().parent
TITLE = "E-tjänst ekonomiskt bistånd"
STOCKHOLM = ZoneInfo("Europe/Stockholm")

STATUS_LABELS = {
    "new": "Ny",
    "in_progress": "Under handläggning",
    "ready": "Klar för beslut",
    "decided": "Beslutad",
    "waiting": "Väntar på handläggare",
}
STATUS_CODES = {label: code for code, label in STATUS_LABELS.items()}
KIND_LABELS = {"first": "Ansökan", "reapplication": "Återansökan"}
ROLE_LABELS = {"applicant": "Sökande", "partner": "Medsökande", "child": "Barn", "other_adult": "Övrig vuxen"}
INCOME_LABELS = {
    "lon": "Lön",
    "sjukpenning": "Sjukpenning",
    "foraldrapenning": "Föräldrapenning",
    "aktivitetsstod": "Aktivitetsstöd",
    "etableringsersattning": "Etableringsersättning",
    "akassa_ersattning": "Ersättning från a-kassa",
    "bostadsbidrag": "Bostadsbidrag",
    "barnbidrag": "Barnbidrag",
    "underhallsstod": "Underhållsstöd",
    "sjukersattning": "Sjukersättning",
    "aktivitetsersattning": "Aktivitetsersättning",
    "pension": "Pension",
    "bostadstillagg": "Bostadstillägg",
    "studiemedel": "Studiemedel",
    "ovrig_inkomst": "Övrig inkomst",
}
COST_LABELS = {
    "hyra": "Hyra",
    "hushallsel": "Hushållsel",
    "hemforsakring": "Hemförsäkring",
    "fackavgift": "Fackavgift",
    "akassa": "Avgift till a-kassa",
    "arbetsresor": "Arbetsresor",
    "barnomsorg": "Barnomsorg",
    "lakarvard": "Läkarvård",
    "medicin": "Medicin",
    "tandvard": "Tandvård",
    "glasogon": "Glasögon",
    "ovrigt": "Övrigt",
}
UPLOAD_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
FORM_ROWS = 5
UPLOAD_ROWS = 4
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_MESSAGE_CHARS = 20_000
PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
# An application is the citizen's when they filed it, it belongs to their case, or they are declared in it.
CITIZEN_APPLICATIONS_SQL = """
SELECT a.application_id, a.period, a.submitted_at, a.status, a.kind,
       (SELECT COUNT(*) FROM messages m WHERE m.application_id = a.application_id) AS message_count
FROM applications a
WHERE a.filed_by = ? OR a.case_number IN (SELECT value FROM json_each(?))
   OR EXISTS (SELECT 1 FROM members m WHERE m.application_id = a.application_id AND m.personnummer = ?)
ORDER BY a.submitted_utc DESC
"""
CITIZEN_OWNS_SQL = """
SELECT 1 FROM applications a
WHERE a.application_id = ?
  AND (a.filed_by = ? OR a.case_number IN (SELECT value FROM json_each(?))
       OR EXISTS (SELECT 1 FROM members m WHERE m.application_id = a.application_id AND m.personnummer = ?))
"""

SCHEMA = """
CREATE TABLE applications (
    application_id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    submitted_utc TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    bank_balance INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    filed_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX applications_order ON applications(submitted_utc, application_id);
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications,
    personnummer TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, role TEXT NOT NULL,
    in_school INTEGER NOT NULL DEFAULT 0, lunch_at_home INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX members_pnr ON members(personnummer);
CREATE TABLE incomes (
    id INTEGER PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications,
    personnummer TEXT NOT NULL, type TEXT NOT NULL, amount INTEGER NOT NULL
);
CREATE TABLE costs (
    id INTEGER PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications,
    type TEXT NOT NULL, amount INTEGER NOT NULL, note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE attachments (
    application_id TEXT NOT NULL REFERENCES applications,
    number INTEGER NOT NULL,
    filename TEXT NOT NULL, cost_type TEXT NOT NULL, media_type TEXT NOT NULL,
    size INTEGER NOT NULL, content BLOB NOT NULL,
    PRIMARY KEY (application_id, number)
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications,
    sent_at TEXT NOT NULL, sender TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE status_history (
    id INTEGER PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications,
    changed_at TEXT NOT NULL, status TEXT NOT NULL, changed_by TEXT NOT NULL
);
"""


# --- helpers --------------------------------------------------------------------------------


def page_size() -> int:
    return max(1, int(os.environ.get("SIM_ESERVICE_PAGE_SIZE", "25")))


def shown_time(iso: str) -> str:
    """'2026-11-22T15:46:00+01:00' -> '2026-11-22 15:46' (the local time as submitted)."""
    return iso[:16].replace("T", " ")


def utc_key(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=STOCKHOLM)
    return moment.astimezone(ZoneInfo("UTC")).isoformat()


def size_label(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} kB".replace(".", ",")


def luhn_ok(pnr: str) -> bool:
    """A 12-digit personnummer (YYYYMMDD-NNNC) with a valid check digit and birth date."""
    match = re.fullmatch(r"(\d{8})-(\d{4})", pnr)
    if not match:
        return False
    head, tail = match.groups()
    ten = head[2:] + tail
    total = 0
    for index, char in enumerate(ten[:9]):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    if (10 - total % 10) % 10 != int(ten[9]):
        return False
    day = int(head[6:8])
    try:
        date(int(head[:4]), int(head[4:6]), day - 60 if day > 60 else day)
    except ValueError:
        return False
    return True


def parse_amount(text: str) -> int | None:
    """'7 200', '7200', '7 200 kr' -> 7200; blank -> None; anything else raises ValueError."""
    cleaned = re.sub(r"[\s\u00a0]|kr$", "", (text or "").strip(), flags=re.IGNORECASE)
    if not cleaned:
        return None
    if not cleaned.isdigit():
        raise ValueError(text)
    return int(cleaned)


def next_period(today: date) -> str:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year}-{month:02d}"


# --- seeding --------------------------------------------------------------------------------


def declared_members(world: dict[str, Any], application: dict[str, Any]) -> list[dict[str, Any]]:
    """The members the application declares, with role and flags from the household."""
    home = household(world, application["case_number"])
    by_pnr = {m["personnummer"]: m for m in home["members"]}
    wanted = application.get("declared_members")
    if wanted is None:
        return list(home["members"])
    members = []
    for raw in wanted:
        pnr = normalize_pnr(raw)
        known = by_pnr.get(pnr)
        if known is None:
            first, last = person_name(world, pnr)
            known = {"personnummer": pnr, "first_name": first, "last_name": last, "role": "other_adult"}
        members.append(known)
    return members


def insert_members(conn: sqlite3.Connection, application_id: str, members: list[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO members (application_id, personnummer, first_name, last_name, role, in_school, lunch_at_home)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                application_id, normalize_pnr(m["personnummer"]), m["first_name"], m["last_name"], m["role"],
                int(bool(m.get("in_school"))), int(bool(m.get("lunch_at_home"))),
            )
            for m in members
        ],
    )


def seeder(world: dict[str, Any]):
    def seed(conn: sqlite3.Connection) -> None:
        for application in world["applications"]:
            app_id = application["application_id"]
            conn.execute(
                "INSERT INTO applications (application_id, case_number, period, kind, submitted_at, submitted_utc,"
                " status, bank_balance, message) VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?)",
                (
                    app_id, application["case_number"], application["period"], application["kind"],
                    application["submitted_at"], utc_key(application["submitted_at"]),
                    int(application.get("bank_balance", 0)), application.get("message", ""),
                ),
            )
            insert_members(conn, app_id, declared_members(world, application))
            conn.executemany(
                "INSERT INTO incomes (application_id, personnummer, type, amount) VALUES (?, ?, ?, ?)",
                [
                    (app_id, normalize_pnr(i["personnummer"]), i["type"], int(i["amount"]))
                    for i in application["declared_incomes"]
                ],
            )
            conn.executemany(
                "INSERT INTO costs (application_id, type, amount, note) VALUES (?, ?, ?, ?)",
                [(app_id, c["type"], int(c["amount"]), c.get("note", "")) for c in application["declared_costs"]],
            )
            for number, attachment in enumerate(application.get("attachments", []), start=1):
                content, media_type = render_attachment(world, application, attachment)
                conn.execute(
                    "INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (app_id, number, attachment["filename"], attachment["cost_type"], media_type, len(content),
                     content),
                )
            conn.execute(
                "INSERT INTO status_history (application_id, changed_at, status, changed_by) VALUES (?, ?, 'new', ?)",
                (app_id, application["submitted_at"], "e-tjänsten"),
            )

    return seed


# --- app ------------------------------------------------------------------------------------


def create_app(ctx: SystemContext) -> FastAPI:
    world = ctx.world
    municipality = world["municipality"]
    seed_once(ctx, SCHEMA, seeder(world))
    app, templates = create_system_app(
        ctx, title=TITLE, package_dir=PACKAGE_DIR, home_path="/inbox", public_prefixes=("/medborgare",)
    )
    templates.env.globals.update(
        municipality=municipality,
        service_title=TITLE,
        status_labels=STATUS_LABELS,
        kind_labels=KIND_LABELS,
        role_labels=ROLE_LABELS,
        income_labels=INCOME_LABELS,
        cost_labels=COST_LABELS,
        shown_time=shown_time,
        size_label=size_label,
    )

    def db() -> sqlite3.Connection:
        return connect(ctx.db_path)

    def now_iso() -> str:
        """Wall-clock time on the world's date: the simulated systems all pretend it is `today`."""
        now = datetime.now(STOCKHOLM).replace(microsecond=0)
        return datetime.combine(ctx.today, now.time(), tzinfo=STOCKHOLM).isoformat()

    def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, template, {"title": TITLE, **values}, status_code=status_code)

    def not_found(request: Request, what: str) -> HTMLResponse:
        return render(request, "not_found.html", status_code=404, what=what)

    def load_application(conn: sqlite3.Connection, application_id: str) -> dict[str, Any] | None:
        row = conn.execute("SELECT * FROM applications WHERE application_id = ?", (application_id,)).fetchone()
        if row is None:
            return None
        app_id = row["application_id"]
        return {
            **dict(row),
            "members": [dict(r) for r in conn.execute("SELECT * FROM members WHERE application_id=? ORDER BY id",
                                                      (app_id,))],
            "incomes": [dict(r) for r in conn.execute("SELECT * FROM incomes WHERE application_id=? ORDER BY id",
                                                      (app_id,))],
            "costs": [dict(r) for r in conn.execute("SELECT * FROM costs WHERE application_id=? ORDER BY id",
                                                    (app_id,))],
            "attachments": [
                dict(r)
                for r in conn.execute(
                    "SELECT number, filename, cost_type, media_type, size FROM attachments"
                    " WHERE application_id=? ORDER BY number",
                    (app_id,),
                )
            ],
            "messages": [dict(r) for r in conn.execute("SELECT * FROM messages WHERE application_id=? ORDER BY id",
                                                       (app_id,))],
            "history": [dict(r) for r in conn.execute(
                "SELECT * FROM status_history WHERE application_id=? ORDER BY id", (app_id,))],
        }

    # --- caseworker inbox ---------------------------------------------------------------

    @app.get("/")
    def home():
        return RedirectResponse("/inbox", status_code=303)

    @app.get("/inbox", response_class=HTMLResponse)
    def inbox(request: Request, status: str = "", period: str = "", arende: str = "", page: int = 1):
        status_code = status if status in STATUS_LABELS else ""
        period = period.strip()
        case_number = arende.strip()
        where, args = [], []
        if status_code:
            where.append("status = ?")
            args.append(status_code)
        if period:
            where.append("period = ?")
            args.append(period)
        if case_number:
            where.append("case_number = ?")
            args.append(case_number)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        size = page_size()
        conn = db()
        try:
            total = conn.execute(f"SELECT COUNT(*) FROM applications {clause}", args).fetchone()[0]  # noqa: S608
            pages = max(1, math.ceil(total / size))
            page = min(max(1, page), pages)
            rows = conn.execute(
                f"SELECT application_id, case_number, period, submitted_at, status FROM applications {clause}"  # noqa: S608
                " ORDER BY submitted_utc, application_id LIMIT ? OFFSET ?",
                [*args, size, (page - 1) * size],
            ).fetchall()
        finally:
            conn.close()

        def page_link(number: int) -> str:
            query = {k: v for k, v in (("status", status_code), ("period", period), ("arende", case_number)) if v}
            return "/inbox?" + urlencode({**query, "page": number})

        return render(
            request, "inbox.html", rows=rows, total=total, page=page, pages=pages, status=status_code, period=period,
            case_number=case_number,
            previous_link=page_link(page - 1) if page > 1 else None,
            next_link=page_link(page + 1) if page < pages else None,
            user=request.session.get("user"),
        )

    @app.get("/inbox/{application_id}", response_class=HTMLResponse)
    def detail(request: Request, application_id: str, saved: str = ""):
        conn = db()
        try:
            application = load_application(conn, application_id)
        finally:
            conn.close()
        if application is None:
            return not_found(request, "Ärendet finns inte.")
        notice = {"status": "Status ändrad.", "message": "Meddelandet har skickats."}.get(saved)
        return render(request, "detail.html", a=application, notice=notice, user=request.session.get("user"))

    @app.get("/inbox/{application_id}/attachments/{number}")
    def download(request: Request, application_id: str, number: int):
        conn = db()
        try:
            row = find_attachment(conn, application_id, number)
        finally:
            conn.close()
        if row is None:
            return not_found(request, "Bilagan finns inte.")
        return attachment_response(row)

    @app.post("/inbox/{application_id}/status")
    async def change_status(request: Request, application_id: str):
        form = await request.form()
        code = str(form.get("status", ""))
        if code not in STATUS_LABELS:
            code = STATUS_CODES.get(code, "")
        conn = db()
        try:
            exists = conn.execute("SELECT 1 FROM applications WHERE application_id=?", (application_id,)).fetchone()
            if exists is None:
                return not_found(request, "Ärendet finns inte.")
            if not code:
                application = load_application(conn, application_id)
                return render(request, "detail.html", status_code=400, a=application, notice=None,
                              error="Välj en giltig status.", user=request.session.get("user"))
            conn.execute("UPDATE applications SET status=? WHERE application_id=?", (code, application_id))
            conn.execute(
                "INSERT INTO status_history (application_id, changed_at, status, changed_by) VALUES (?, ?, ?, ?)",
                (application_id, now_iso(), code, request.session.get("user", "")),
            )
            conn.commit()
        finally:
            conn.close()
        return RedirectResponse(f"/inbox/{quote(application_id)}?saved=status", status_code=303)

    @app.post("/inbox/{application_id}/messages")
    async def send_message(request: Request, application_id: str):
        form = await request.form()
        text = str(form.get("text", "")).replace("\r\n", "\n").strip()
        conn = db()
        try:
            application = load_application(conn, application_id)
            if application is None:
                return not_found(request, "Ärendet finns inte.")
            if not text or len(text) > MAX_MESSAGE_CHARS:
                return render(request, "detail.html", status_code=400, a=application, notice=None,
                              error=f"Skriv ett meddelande (högst {MAX_MESSAGE_CHARS} tecken).",
                              user=request.session.get("user"))
            conn.execute(
                "INSERT INTO messages (application_id, sent_at, sender, text) VALUES (?, ?, 'handlaggare', ?)",
                (application_id, now_iso(), text),
            )
            conn.commit()
        finally:
            conn.close()
        return RedirectResponse(f"/inbox/{quote(application_id)}?saved=message", status_code=303)

    # --- citizen side -------------------------------------------------------------------

    def citizen(request: Request) -> str | None:
        return request.session.get("citizen")

    def citizen_households(pnr: str) -> list[dict[str, Any]]:
        return [h for h in world["households"] if any(m["personnummer"] == pnr for m in h["members"])]

    def citizen_owns(conn: sqlite3.Connection, pnr: str, application_id: str) -> bool:
        cases = json.dumps([h["case_number"] for h in citizen_households(pnr)])
        row = conn.execute(CITIZEN_OWNS_SQL, (application_id, pnr, cases, pnr)).fetchone()
        return row is not None

    @app.get("/medborgare", response_class=HTMLResponse)
    def citizen_start(request: Request):
        if citizen(request):
            return RedirectResponse("/medborgare/ansokningar", status_code=303)
        return render(request, "citizen_login.html", error=None)

    @app.post("/medborgare/login", response_class=HTMLResponse)
    async def citizen_login(request: Request):
        form = await request.form()
        pnr = normalize_pnr(str(form.get("personnummer", "")))
        if not luhn_ok(pnr):
            return render(request, "citizen_error.html", status_code=400,
                          heading="Ogiltigt personnummer",
                          error="Personnumret är inte giltigt. Kontrollera siffrorna och försök igen.")
        request.session["citizen"] = pnr
        return RedirectResponse("/medborgare/ansokningar", status_code=303)

    @app.get("/medborgare/logga-ut")
    def citizen_logout(request: Request):
        request.session.pop("citizen", None)
        return RedirectResponse("/medborgare", status_code=303)

    @app.get("/medborgare/ansokningar", response_class=HTMLResponse)
    def citizen_applications(request: Request):
        pnr = citizen(request)
        if not pnr:
            return RedirectResponse("/medborgare", status_code=303)
        cases = [h["case_number"] for h in citizen_households(pnr)]
        conn = db()
        try:
            rows = conn.execute(CITIZEN_APPLICATIONS_SQL, (pnr, json.dumps(cases), pnr)).fetchall()
        finally:
            conn.close()
        name = " ".join(person_name(world, pnr)).strip()
        return render(request, "citizen_home.html", rows=rows, citizen_name=name, can_apply=bool(cases))

    @app.get("/medborgare/ansokningar/{application_id}", response_class=HTMLResponse)
    def citizen_application(request: Request, application_id: str, tack: str = ""):
        pnr = citizen(request)
        if not pnr:
            return RedirectResponse("/medborgare", status_code=303)
        conn = db()
        try:
            if not citizen_owns(conn, pnr, application_id):
                return not_found(request, "Ansökan finns inte.")
            application = load_application(conn, application_id)
        finally:
            conn.close()
        return render(request, "citizen_application.html", a=application, thanks=bool(tack))

    @app.get("/medborgare/ny", response_class=HTMLResponse)
    def citizen_form(request: Request):
        pnr = citizen(request)
        if not pnr:
            return RedirectResponse("/medborgare", status_code=303)
        homes = citizen_households(pnr)
        if not homes:
            return render(request, "citizen_error.html", status_code=404, heading="Inget pågående ärende",
                          error="Vi hittar inget pågående ärende för dig. Kontakta socialtjänsten för att ansöka.")
        return render(request, "citizen_form.html", **form_values(homes[0], {}), errors=[])

    def form_values(home: dict[str, Any], posted: dict[str, Any]) -> dict[str, Any]:
        return {
            "home": home,
            "posted": posted,
            "default_period": posted.get("period") or next_period(ctx.today),
            "rows": range(FORM_ROWS),
            "upload_rows": range(UPLOAD_ROWS),
            "accept": ",".join(UPLOAD_TYPES),
        }

    @app.post("/medborgare/ny", response_class=HTMLResponse)
    async def citizen_submit(request: Request):
        pnr = citizen(request)
        if not pnr:
            return RedirectResponse("/medborgare", status_code=303)
        homes = citizen_households(pnr)
        if not homes:
            return render(request, "citizen_error.html", status_code=404, heading="Inget pågående ärende",
                          error="Vi hittar inget pågående ärende för dig.")
        home = homes[0]
        form = await request.form()
        posted = {key: form.get(key) for key in form if not isinstance(form.get(key), UploadFile)}
        errors: list[str] = []
        parsed = await parse_citizen_form(form, home, errors)
        if errors:
            return render(request, "citizen_form.html", status_code=400, **form_values(home, posted), errors=errors)
        conn = db()
        try:
            application_id = new_application_id(conn, ctx.today.year)
            submitted = now_iso()
            conn.execute(
                "INSERT INTO applications (application_id, case_number, period, kind, submitted_at, submitted_utc,"
                " status, bank_balance, message, filed_by) VALUES (?, ?, ?, 'reapplication', ?, ?, 'new', ?, ?, ?)",
                (application_id, home["case_number"], parsed["period"], submitted, utc_key(submitted),
                 parsed["bank_balance"], parsed["message"], pnr),
            )
            insert_members(conn, application_id, home["members"])
            conn.executemany(
                "INSERT INTO incomes (application_id, personnummer, type, amount) VALUES (?, ?, ?, ?)",
                [(application_id, *income) for income in parsed["incomes"]],
            )
            conn.executemany(
                "INSERT INTO costs (application_id, type, amount, note) VALUES (?, ?, ?, ?)",
                [(application_id, *cost) for cost in parsed["costs"]],
            )
            for number, (filename, cost_type, media_type, content) in enumerate(parsed["files"], start=1):
                conn.execute(
                    "INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (application_id, number, filename, cost_type, media_type, len(content), content),
                )
            conn.execute(
                "INSERT INTO status_history (application_id, changed_at, status, changed_by) VALUES (?, ?, 'new', ?)",
                (application_id, submitted, "e-tjänsten"),
            )
            conn.commit()
        finally:
            conn.close()
        return RedirectResponse(f"/medborgare/ansokningar/{application_id}?tack=1", status_code=303)

    @app.get("/medborgare/ansokningar/{application_id}/bilagor/{number}")
    def citizen_download(request: Request, application_id: str, number: int):
        pnr = citizen(request)
        if not pnr:
            return RedirectResponse("/medborgare", status_code=303)
        conn = db()
        try:
            row = None
            if citizen_owns(conn, pnr, application_id):
                row = find_attachment(conn, application_id, number)
        finally:
            conn.close()
        if row is None:
            return not_found(request, "Bilagan finns inte.")
        return attachment_response(row)

    return app


def find_attachment(conn: sqlite3.Connection, application_id: str, number: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT filename, media_type, content FROM attachments WHERE application_id=? AND number=?",
        (application_id, number),
    ).fetchone()


def attachment_response(row: sqlite3.Row) -> Response:
    filename = row["filename"]
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content=bytes(row["content"]), media_type=row["media_type"],
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


def new_application_id(conn: sqlite3.Connection, year: int) -> str:
    """ANS-<year>-<6 digits>: one more than the highest number used this year."""
    rows = conn.execute("SELECT application_id FROM applications WHERE application_id LIKE ?", (f"ANS-{year}-%",))
    highest = max((int(row[0].rsplit("-", 1)[1]) for row in rows), default=0)
    return f"ANS-{year}-{highest + 1:06d}"


async def parse_citizen_form(form: Any, home: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """Validate the citizen's form; errors are Swedish sentences for the page."""
    members = {m["personnummer"] for m in home["members"]}
    period = str(form.get("period", "")).strip()
    if not PERIOD.match(period):
        errors.append("Ange period som ÅÅÅÅ-MM.")
    try:
        bank_balance = parse_amount(str(form.get("bank_balance", ""))) or 0
    except ValueError:
        errors.append("Saldo på bankkonto måste vara ett belopp i hela kronor.")
        bank_balance = 0
    message = str(form.get("message", "")).replace("\r\n", "\n")
    if len(message) > MAX_MESSAGE_CHARS:
        errors.append(f"Meddelandet får vara högst {MAX_MESSAGE_CHARS} tecken.")

    incomes = []
    for row in range(FORM_ROWS):
        kind = str(form.get(f"income_type_{row}", ""))
        person = normalize_pnr(str(form.get(f"income_person_{row}", "")))
        try:
            amount = parse_amount(str(form.get(f"income_amount_{row}", "")))
        except ValueError:
            errors.append(f"Inkomst rad {row + 1}: beloppet måste vara hela kronor.")
            continue
        if amount is None and not kind:
            continue
        if kind not in INCOME_LABELS or person not in members or amount is None:
            errors.append(f"Inkomst rad {row + 1}: välj person, inkomsttyp och belopp.")
            continue
        incomes.append((person, kind, amount))

    costs = []
    for row in range(FORM_ROWS):
        kind = str(form.get(f"cost_type_{row}", ""))
        note = str(form.get(f"cost_note_{row}", "")).strip()[:500]
        try:
            amount = parse_amount(str(form.get(f"cost_amount_{row}", "")))
        except ValueError:
            errors.append(f"Utgift rad {row + 1}: beloppet måste vara hela kronor.")
            continue
        if amount is None and not kind:
            continue
        if kind not in COST_LABELS or amount is None:
            errors.append(f"Utgift rad {row + 1}: välj kostnadstyp och belopp.")
            continue
        costs.append((kind, amount, note))

    files = []
    for row in range(UPLOAD_ROWS):
        upload = form.get(f"file_{row}")
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        filename = Path(upload.filename.replace("\\", "/")).name[:200]
        suffix = Path(filename).suffix.lower()
        cost_type = str(form.get(f"file_cost_type_{row}", ""))
        content = await upload.read(MAX_UPLOAD_BYTES + 1)
        if suffix not in UPLOAD_TYPES:
            errors.append(f"Bilaga {row + 1}: filtypen stöds inte (PDF, JPG, PNG eller DOCX).")
        elif cost_type not in COST_LABELS:
            errors.append(f"Bilaga {row + 1}: välj vilken kostnad bilagan gäller.")
        elif len(content) > MAX_UPLOAD_BYTES:
            errors.append(f"Bilaga {row + 1}: filen är större än 10 MB.")
        elif not content:
            errors.append(f"Bilaga {row + 1}: filen är tom.")
        else:
            files.append((filename, cost_type, UPLOAD_TYPES[suffix], content))
    return {
        "period": period, "bank_balance": bank_balance, "message": message,
        "incomes": incomes, "costs": costs, "files": files,
    }
