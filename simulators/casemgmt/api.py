"""The JSON API the case-management desktop client talks to (`python -m simulators.casemgmt_desktop`).

A thick client of a client-server system: it logs in with the same accounts as the web UI,
searches a case by case number or personnummer, reads the case and saves a decision basis.
The server records which client saved each basis (`client`: `web` or `desktop`), as real
systems log the workstation; the web form keeps the column's default, `web`.
"""

from __future__ import annotations

import hmac
import sqlite3
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.casemgmt import cases
from simulators.common.accounts import accounts
from simulators.common.web import SystemContext, connect

DESKTOP_CLIENT = "desktop"
CLIENT_COLUMN = "ALTER TABLE decision_bases ADD COLUMN client TEXT NOT NULL DEFAULT 'web'"


def ensure_client_column(conn: sqlite3.Connection) -> None:
    """State dirs seeded before the column existed get it, with 'web' for their rows."""
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(decision_bases)")}
    if "client" not in columns:
        conn.execute(CLIENT_COLUMN)
        conn.commit()


def case_json(case: dict[str, Any]) -> dict[str, Any]:
    """What the desktop client's case window shows (everything but the long report texts)."""
    return {
        "case_number": case["case_number"],
        "address": {k: case[k] for k in ("street", "postal_code", "city", "municipality")},
        "members": [
            {"personnummer": m["personnummer"], "first_name": m["first_name"], "last_name": m["last_name"],
             "role": m["role"], "role_label": m["role_label"]}
            for m in case["members"]
        ],
        "applications": [
            {"application_id": a["application_id"], "period": a["period"], "kind_label": a["kind_label"],
             "status": a["status"]}
            for a in case["applications"]
        ],
        "previous_decisions": [
            {"period": d["period"], "decision": d["decision"], "amount": d["amount"]}
            for d in case["previous_decisions"]
        ],
        "journal": [{"time": n["time"], "author": n["author"], "text": n["text"]} for n in case["journal"]],
        "decision_bases": [
            {"id": b["id"], "application_id": b["application_id"], "period": b["period"],
             "proposal": b["proposal"], "proposal_label": cases.PROPOSAL_LABELS.get(b["proposal"], b["proposal"]),
             "amount": b["amount"], "findings": b["findings_list"], "author": b["author"], "time": b["time"],
             "client": b.get("client", "web")}
            for b in case["decision_bases"]
        ],
        "proposals": cases.PROPOSAL_LABELS,
    }


def api_router(ctx: SystemContext) -> APIRouter:
    """Routes under /api for the desktop client; /api/login is public (see app.py)."""
    router = APIRouter(prefix="/api")
    users = accounts(ctx.name)
    conn = connect(ctx.db_path)
    try:
        ensure_client_column(conn)
    finally:
        conn.close()

    def with_case(case_number: str) -> dict[str, Any] | None:
        conn = connect(ctx.db_path)
        try:
            return cases.load_case(conn, case_number)
        finally:
            conn.close()

    def not_found() -> JSONResponse:
        return JSONResponse({"error": "Inget ärende hittades."}, status_code=404)

    @router.post("/login")
    def login(request: Request, body: dict[str, Any]):
        username, password = str(body.get("username", "")), str(body.get("password", ""))
        expected = users.get(username)
        if expected is None or not hmac.compare_digest(expected, password):
            return JSONResponse({"error": "Fel användarnamn eller lösenord."}, status_code=401)
        request.session.clear()
        request.session["user"] = username
        return {"user": username}

    @router.get("/arenden")
    def search(arendenummer: str = "", personnummer: str = ""):
        arendenummer, personnummer = arendenummer.strip(), personnummer.strip()
        if not arendenummer and not personnummer:
            return JSONResponse({"error": "Ange ärendenummer eller personnummer."}, status_code=422)
        conn = connect(ctx.db_path)
        try:
            found = cases.find_case_number(conn, arendenummer, personnummer)
        finally:
            conn.close()
        return {"case_number": found} if found else not_found()

    @router.get("/arenden/{case_number}")
    def case_details(case_number: str):
        case = with_case(case_number)
        return case_json(case) if case else not_found()

    @router.post("/arenden/{case_number}/beslutsunderlag")
    def save_basis(request: Request, case_number: str, body: dict[str, Any]):
        case = with_case(case_number)
        if case is None:
            return not_found()
        application_id = str(body.get("application_id", "")).strip().upper()
        period = str(body.get("period", "")).strip()
        proposal = str(body.get("proposal", ""))
        report = cases.normalize_newlines(str(body.get("report_text", "")))
        errors: list[str] = []
        cases.check_application(case, application_id, period, errors)
        if proposal not in cases.PROPOSAL_LABELS:
            errors.append("Välj ett förslag till beslut.")
        amount = cases.check_amount(str(body.get("amount", "")), errors)
        findings = cases.parse_findings(str(body.get("findings", "")))
        if findings is None:
            errors.append("Noteringar ska vara koder med versaler, åtskilda med kommatecken (t.ex. COST_CAPPED).")
        if not report.strip():
            errors.append("Beslutsunderlaget är tomt.")
        elif len(report) > cases.MAX_REPORT_CHARS:
            errors.append(f"Beslutsunderlaget får vara högst {cases.MAX_REPORT_CHARS} tecken.")
        if errors:
            return JSONResponse({"errors": errors}, status_code=422)
        user, time = request.session["user"], cases.now_text()
        conn = connect(ctx.db_path)
        try:
            cursor = conn.execute(
                "INSERT INTO decision_bases (case_number, application_id, period, proposal, amount, findings,"
                " report_text, author, time, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (case_number, application_id, period, proposal, amount, ",".join(findings or []), report, user,
                 time, DESKTOP_CLIENT),
            )
            conn.execute(
                "INSERT INTO journal (case_number, time, author, text) VALUES (?, ?, ?, ?)",
                (case_number, time, user, f"Beslutsunderlag för {application_id} sparat av {user} (klient)"),
            )
            conn.commit()
            basis_id = cursor.lastrowid
        finally:
            conn.close()
        return JSONResponse({"id": basis_id, "message": f"Beslutsunderlag nr {basis_id} sparat."}, status_code=201)

    return router
