"""The case-management system (verksamhetssystem): a Procapita-like desktop-era web client.

Caseworkers search a case, read the household and earlier decisions, and write journal notes,
decision bases (beslutsunderlag), decisions and payment orders. Like a real vendor system it
accepts more than one decision basis per application; keeping to one is the bot's job.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from simulators.casemgmt.api import api_router
from simulators.casemgmt.cases import (
    APPLICATION_ID,
    DECISION_LABELS,
    KIND_LABELS,
    MAX_NOTE_CHARS,
    MAX_REPORT_CHARS,
    PERIOD,
    PNR,
    PROPOSAL_LABELS,
    SCHEMA,
    check_amount,
    check_application,
    export,
    find_case_number,
    load_case,
    normalize_newlines,
    now_text,
    parse_findings,
    seed,
)
from simulators.common.web import SystemContext, connect, create_system_app, seed_once
from simulators.world import normalize_pnr

PACKAGE_DIR = Path(__file__).resolve().parent
TITLE = "Verksamhetssystem Individ- och familjeomsorg"

def create_app(ctx: SystemContext) -> FastAPI:
    seed_once(ctx, SCHEMA, seed(ctx.world))
    app, templates = create_system_app(ctx, title=TITLE, package_dir=PACKAGE_DIR, home_path="/sok",
                                        public_prefixes=("/api/login",))
    app.include_router(api_router(ctx))

    def db() -> sqlite3.Connection:
        return connect(ctx.db_path)

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("user", request.session.get("user", ""))
        values.setdefault("title", TITLE)
        values.setdefault("municipality", ctx.world.get("municipality", ""))
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    def not_found(request: Request, case_number: str) -> HTMLResponse:
        return render(request, "not_found.html", status_code=404, case_number=case_number)

    def with_case(case_number: str) -> dict[str, Any] | None:
        conn = db()
        try:
            return load_case(conn, case_number)
        finally:
            conn.close()

    def saved(case_number: str, **flags: str) -> RedirectResponse:
        return RedirectResponse(f"/arende/{case_number}?{urlencode(flags)}", status_code=303)

    @app.get("/")
    async def home():
        return RedirectResponse("/sok", status_code=303)

    @app.get("/sok", response_class=HTMLResponse)
    async def search(request: Request, arendenummer: str = "", personnummer: str = ""):
        arendenummer, personnummer = arendenummer.strip(), personnummer.strip()
        if not arendenummer and not personnummer:
            return render(request, "search.html", arendenummer="", personnummer="", message=None)
        conn = db()
        try:
            found = find_case_number(conn, arendenummer, personnummer)
        finally:
            conn.close()
        if found is None:
            return render(
                request, "search.html", arendenummer=arendenummer, personnummer=personnummer,
                message="Inget ärende hittades.",
            )
        return RedirectResponse(f"/arende/{found}", status_code=303)

    @app.get("/arende/{case_number}", response_class=HTMLResponse)
    async def case_page(request: Request, case_number: str, sparat: str = "", nr: str = ""):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        confirmations = {
            "beslutsunderlag": f"Beslutsunderlag nr {nr} sparat.",
            "beslut": f"Beslut nr {nr} registrerat.",
            "utbetalning": f"Utbetalningsorder nr {nr} skapad.",
            "anteckning": "Anteckningen sparad i journalen.",
        }
        confirmation = confirmations.get(sparat) if (nr.isdigit() or sparat == "anteckning") else None
        return render(request, "case.html", case=case, confirmation=confirmation, note_errors=[], note_text="")

    # -- journal note ---------------------------------------------------------------------

    @app.post("/arende/{case_number}/journal", response_class=HTMLResponse)
    async def add_note(request: Request, case_number: str):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        form = await request.form()
        text = normalize_newlines(str(form.get("anteckning", ""))).strip()
        errors = []
        if not text:
            errors.append("Anteckningen är tom.")
        elif len(text) > MAX_NOTE_CHARS:
            errors.append(f"Anteckningen får vara högst {MAX_NOTE_CHARS} tecken.")
        if errors:
            return render(request, "case.html", status_code=422, case=case, confirmation=None,
                          note_errors=errors, note_text=text)
        conn = db()
        try:
            conn.execute(
                "INSERT INTO journal (case_number, time, author, text) VALUES (?, ?, ?, ?)",
                (case_number, now_text(), request.session["user"], text),
            )
            conn.commit()
        finally:
            conn.close()
        return RedirectResponse(f"/arende/{case_number}?sparat=anteckning#journal", status_code=303)

    # -- beslutsunderlag --------------------------------------------------------------------

    def basis_form(request: Request, case: dict[str, Any], values: dict[str, str], errors: list[str], status=200):
        return render(request, "basis_form.html", status_code=status, case=case, values=values, errors=errors,
                      proposals=PROPOSAL_LABELS)

    @app.get("/arende/{case_number}/beslutsunderlag/ny", response_class=HTMLResponse)
    async def new_basis(request: Request, case_number: str, ansokan: str = ""):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        application = next((a for a in case["applications"] if a["application_id"] == ansokan), None)
        values = {"ansokan": ansokan, "period": application["period"] if application else "", "forslag": "",
                  "belopp": "", "noteringar": "", "underlag": ""}
        return basis_form(request, case, values, [])

    @app.post("/arende/{case_number}/beslutsunderlag/ny", response_class=HTMLResponse)
    async def save_basis(request: Request, case_number: str):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        form = await request.form()
        values = {key: str(form.get(key, "")) for key in
                  ("ansokan", "period", "forslag", "belopp", "noteringar", "underlag")}
        values["ansokan"], values["period"] = values["ansokan"].strip().upper(), values["period"].strip()
        report = normalize_newlines(values["underlag"])
        errors: list[str] = []
        check_application(case, values["ansokan"], values["period"], errors)
        if values["forslag"] not in PROPOSAL_LABELS:
            errors.append("Välj ett förslag till beslut.")
        amount = check_amount(values["belopp"], errors)
        findings = parse_findings(values["noteringar"])
        if findings is None:
            errors.append("Noteringar ska vara koder med versaler, åtskilda med kommatecken (t.ex. COST_CAPPED).")
        if not report.strip():
            errors.append("Beslutsunderlaget är tomt.")
        elif len(report) > MAX_REPORT_CHARS:
            errors.append(f"Beslutsunderlaget får vara högst {MAX_REPORT_CHARS} tecken.")
        if errors:
            return basis_form(request, case, values, errors, status=422)
        user = request.session["user"]
        time = now_text()
        conn = db()
        try:
            cursor = conn.execute(
                "INSERT INTO decision_bases (case_number, application_id, period, proposal, amount, findings,"
                " report_text, author, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (case_number, values["ansokan"], values["period"], values["forslag"], amount,
                 ",".join(findings or []), report, user, time),
            )
            conn.execute(
                "INSERT INTO journal (case_number, time, author, text) VALUES (?, ?, ?, ?)",
                (case_number, time, user, f"Beslutsunderlag för {values['ansokan']} sparat av {user}"),
            )
            conn.commit()
            basis_id = cursor.lastrowid
        finally:
            conn.close()
        return saved(case_number, sparat="beslutsunderlag", nr=str(basis_id))

    @app.get("/arende/{case_number}/beslutsunderlag/{basis_id}", response_class=HTMLResponse)
    async def basis_page(request: Request, case_number: str, basis_id: str):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        basis = next((b for b in case["decision_bases"] if str(b["id"]) == basis_id), None)
        if basis is None:
            return not_found(request, case_number)
        return render(request, "basis.html", case=case, basis=basis, labels=PROPOSAL_LABELS)

    # -- registrera ansökan (an incoming application the system does not know yet) -------------

    @app.get("/arende/{case_number}/ansokan/ny", response_class=HTMLResponse)
    def new_application(request: Request, case_number: str, registrerad: str = ""):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        known = registrerad in {a["application_id"] for a in case["applications"]}
        return render(request, "register_form.html", case=case, kinds=KIND_LABELS, errors=[],
                      values={"ansokan": "", "period": "", "typ": "", "inkommen": ""},
                      confirmation=f"Ansökan {registrerad} registrerad i ärendet." if known else None)

    @app.post("/arende/{case_number}/ansokan/ny", response_class=HTMLResponse)
    def register_application(request: Request, case_number: str, ansokan: str = Form(""), period: str = Form(""),
                             typ: str = Form(""), inkommen: str = Form("")):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        values = {"ansokan": ansokan.strip().upper(), "period": period.strip(), "typ": typ.strip(),
                  "inkommen": inkommen.strip()}
        errors: list[str] = []
        if not APPLICATION_ID.match(values["ansokan"]):
            errors.append("Ansökan ska anges som ANS-ÅÅÅÅ-NNNNNN.")
        elif values["ansokan"] in {a["application_id"] for a in case["applications"]}:
            errors.append(f"Ansökan {values['ansokan']} finns redan i ärendet.")
        if not PERIOD.match(values["period"]):
            errors.append("Period ska anges som ÅÅÅÅ-MM.")
        if values["typ"] not in KIND_LABELS:
            errors.append("Välj typ av ansökan.")
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", values["inkommen"]):
            errors.append("Inkommen ska anges som ÅÅÅÅ-MM-DD.")
        if errors:
            return render(request, "register_form.html", status_code=422, case=case, kinds=KIND_LABELS,
                          values=values, errors=errors, confirmation=None)
        user = request.session["user"]
        conn = db()
        try:
            conn.execute(
                "INSERT INTO applications VALUES (?, ?, ?, ?, ?)",
                (values["ansokan"], case_number, values["period"], values["typ"], f"{values['inkommen']}T00:00:00"),
            )
            conn.execute(
                "INSERT INTO journal (case_number, time, author, text) VALUES (?, ?, ?, ?)",
                (case_number, now_text(), user, f"Ansökan {values['ansokan']} registrerad av {user}"),
            )
            conn.commit()
        finally:
            conn.close()
        return RedirectResponse(
            f"/arende/{case_number}/ansokan/ny?{urlencode({'registrerad': values['ansokan']})}", status_code=303
        )

    # -- beslut ---------------------------------------------------------------------------

    def decision_form(request: Request, case: dict[str, Any], values: dict[str, str], errors: list[str], status=200):
        return render(request, "decision_form.html", status_code=status, case=case, values=values, errors=errors,
                      decisions=DECISION_LABELS)

    @app.get("/arende/{case_number}/beslut/ny", response_class=HTMLResponse)
    async def new_decision(request: Request, case_number: str):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        return decision_form(request, case, {"ansokan": "", "period": "", "beslut": "", "belopp": ""}, [])

    @app.post("/arende/{case_number}/beslut/ny", response_class=HTMLResponse)
    async def save_decision(request: Request, case_number: str):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        form = await request.form()
        values = {key: str(form.get(key, "")).strip() for key in ("ansokan", "period", "beslut", "belopp")}
        values["ansokan"] = values["ansokan"].upper()
        errors: list[str] = []
        check_application(case, values["ansokan"], values["period"], errors)
        if values["beslut"] not in DECISION_LABELS:
            errors.append("Välj beslut: Bevilja eller Avslå.")
        amount = check_amount(values["belopp"], errors)
        if errors:
            return decision_form(request, case, values, errors, status=422)
        user = request.session["user"]
        time = now_text()
        conn = db()
        try:
            cursor = conn.execute(
                "INSERT INTO decisions (case_number, application_id, period, decision, amount, author, time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (case_number, values["ansokan"], values["period"], values["beslut"], amount, user, time),
            )
            conn.execute(
                "INSERT INTO journal (case_number, time, author, text) VALUES (?, ?, ?, ?)",
                (case_number, time, user,
                 f"Beslut ({DECISION_LABELS[values['beslut']]}) för {values['ansokan']} registrerat av {user}"),
            )
            conn.commit()
            decision_id = cursor.lastrowid
        finally:
            conn.close()
        return saved(case_number, sparat="beslut", nr=str(decision_id))

    # -- utbetalningsorder ------------------------------------------------------------------

    def payment_form(request: Request, case: dict[str, Any], values: dict[str, str], errors: list[str], status=200):
        return render(request, "payment_form.html", status_code=status, case=case, values=values, errors=errors)

    @app.get("/arende/{case_number}/utbetalning/ny", response_class=HTMLResponse)
    async def new_payment(request: Request, case_number: str):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        recipient = case["applicant"]["personnummer"] if case["applicant"] else ""
        values = {"ansokan": "", "period": "", "belopp": "", "mottagare": recipient, "utbetalningsdag": ""}
        return payment_form(request, case, values, [])

    @app.post("/arende/{case_number}/utbetalning/ny", response_class=HTMLResponse)
    async def save_payment(request: Request, case_number: str):
        case = with_case(case_number)
        if case is None:
            return not_found(request, case_number)
        form = await request.form()
        values = {key: str(form.get(key, "")).strip()
                  for key in ("ansokan", "period", "belopp", "mottagare", "utbetalningsdag")}
        values["ansokan"] = values["ansokan"].upper()
        errors: list[str] = []
        check_application(case, values["ansokan"], values["period"], errors)
        amount = check_amount(values["belopp"], errors)
        if amount == 0 and not errors:
            errors.append("En utbetalning måste vara större än 0 kr.")
        recipient = normalize_pnr(values["mottagare"])
        if not PNR.match(recipient):
            errors.append("Mottagare ska anges som personnummer ÅÅÅÅMMDD-NNNN.")
        elif recipient not in {m["personnummer"] for m in case["members"]}:
            errors.append("Mottagaren ingår inte i ärendets hushåll.")
        try:
            pay_date = date.fromisoformat(values["utbetalningsdag"])
        except ValueError:
            errors.append("Utbetalningsdag ska anges som ÅÅÅÅ-MM-DD.")
            pay_date = None
        if errors:
            return payment_form(request, case, values, errors, status=422)
        user = request.session["user"]
        time = now_text()
        conn = db()
        try:
            cursor = conn.execute(
                "INSERT INTO payments (case_number, application_id, period, amount, recipient, pay_date, author,"
                " time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (case_number, values["ansokan"], values["period"], amount, recipient, pay_date.isoformat(), user,
                 time),
            )
            conn.execute(
                "INSERT INTO journal (case_number, time, author, text) VALUES (?, ?, ?, ?)",
                (case_number, time, user, f"Utbetalningsorder för {values['ansokan']} skapad av {user}"),
            )
            conn.commit()
            payment_id = cursor.lastrowid
        finally:
            conn.close()
        return saved(case_number, sparat="utbetalning", nr=str(payment_id))

    # -- export for tests and demos (not used by the bot) -----------------------------------

    @app.get("/api/export")
    async def api_export():
        conn = db()
        try:
            return export(conn)
        finally:
            conn.close()

    return app
