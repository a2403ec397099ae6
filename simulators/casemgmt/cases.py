"""The case-management system's records: its schema and seed, a case as its pages and API show it,
the export, and the checks of a submitted form. Shared by the web pages (app.py) and the desktop
client's JSON API (api.py), so neither imports the other's internals.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from typing import Any

from simulators.world import normalize_pnr

MAX_REPORT_CHARS = 200_000
MAX_NOTE_CHARS = 20_000

ROLE_LABELS = {"applicant": "Sökande", "partner": "Medsökande", "child": "Barn", "other_adult": "Övrig vuxen"}
DECISION_LABELS = {"approve": "Bevilja", "reject": "Avslå"}
PROPOSAL_LABELS = {"approve": "Bevilja", "reject": "Avslå", "manual_review": "Manuell handläggning"}
KIND_LABELS = {"first": "Nyansökan", "reapplication": "Återansökan"}

APPLICATION_ID = re.compile(r"^ANS-[0-9]{4}-[0-9]{6}$")
PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
FINDING_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
PNR = re.compile(r"^[0-9]{8}-[0-9]{4}$")

SCHEMA = """
CREATE TABLE cases (
    case_number TEXT PRIMARY KEY,
    street TEXT NOT NULL, postal_code TEXT NOT NULL, city TEXT NOT NULL, municipality TEXT NOT NULL
);
CREATE TABLE members (
    id INTEGER PRIMARY KEY, case_number TEXT NOT NULL REFERENCES cases,
    personnummer TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, role TEXT NOT NULL,
    in_school INTEGER NOT NULL DEFAULT 0, lunch_at_home INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX members_pnr ON members(personnummer);
CREATE TABLE previous_decisions (
    id INTEGER PRIMARY KEY, case_number TEXT NOT NULL REFERENCES cases,
    period TEXT NOT NULL, decision TEXT NOT NULL, amount INTEGER NOT NULL
);
CREATE TABLE applications (
    application_id TEXT PRIMARY KEY, case_number TEXT NOT NULL REFERENCES cases,
    period TEXT NOT NULL, kind TEXT NOT NULL, submitted_at TEXT NOT NULL
);
CREATE TABLE journal (
    id INTEGER PRIMARY KEY, case_number TEXT NOT NULL REFERENCES cases,
    time TEXT NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE decision_bases (
    id INTEGER PRIMARY KEY, case_number TEXT NOT NULL REFERENCES cases,
    application_id TEXT NOT NULL, period TEXT NOT NULL, proposal TEXT NOT NULL, amount INTEGER NOT NULL,
    findings TEXT NOT NULL, report_text TEXT NOT NULL, author TEXT NOT NULL, time TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT 'web'
);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY, case_number TEXT NOT NULL REFERENCES cases,
    application_id TEXT NOT NULL, period TEXT NOT NULL, decision TEXT NOT NULL, amount INTEGER NOT NULL,
    author TEXT NOT NULL, time TEXT NOT NULL
);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY, case_number TEXT NOT NULL REFERENCES cases,
    application_id TEXT NOT NULL, period TEXT NOT NULL, amount INTEGER NOT NULL, recipient TEXT NOT NULL,
    pay_date TEXT NOT NULL, author TEXT NOT NULL, time TEXT NOT NULL
);
"""


def seed(world: dict[str, Any]):
    """Cases, members, earlier decisions and open applications from the world."""

    def run(conn: sqlite3.Connection) -> None:
        for household in world["households"]:
            case_number = household["case_number"]
            address = household["address"]
            conn.execute(
                "INSERT INTO cases VALUES (?, ?, ?, ?, ?)",
                (case_number, address["street"], address["postal_code"], address["city"],
                 address["municipality"]),
            )
            for member in household["members"]:
                conn.execute(
                    "INSERT INTO members (case_number, personnummer, first_name, last_name, role, in_school,"
                    " lunch_at_home) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (case_number, member["personnummer"], member["first_name"], member["last_name"],
                     member["role"], int(member.get("in_school", False)), int(member.get("lunch_at_home", False))),
                )
            for previous in household.get("previous_decisions", []):
                conn.execute(
                    "INSERT INTO previous_decisions (case_number, period, decision, amount) VALUES (?, ?, ?, ?)",
                    (case_number, previous["period"], previous["decision"], previous["amount"]),
                )
        for application in world["applications"]:
            conn.execute(
                "INSERT INTO applications VALUES (?, ?, ?, ?, ?)",
                (application["application_id"], application["case_number"], application["period"],
                 application["kind"], application["submitted_at"]),
            )

    return run


def now_text() -> str:
    return datetime.now().replace(microsecond=0).isoformat(sep=" ")


def parse_amount(text: str) -> int | None:
    """'12 345', '12345', '12 345 kr' -> 12345; anything else (öre, negative, text) -> None."""
    cleaned = re.sub(r"[\s\u00a0]|kr$", "", (text or "").strip(), flags=re.IGNORECASE)
    return int(cleaned) if cleaned.isdigit() else None


def parse_findings(text: str) -> list[str] | None:
    codes = [code.strip().upper() for code in (text or "").replace(";", ",").split(",") if code.strip()]
    if any(not FINDING_CODE.match(code) for code in codes):
        return None
    return list(dict.fromkeys(codes))


def normalize_newlines(text: str) -> str:
    """Browsers send textarea line breaks as CRLF; store them as LF."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


# --- reading ---------------------------------------------------------------------------------


def load_case(conn: sqlite3.Connection, case_number: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM cases WHERE case_number = ?", (case_number,)).fetchone()
    if row is None:
        return None
    case = dict(row)

    def rows(sql: str) -> list[dict[str, Any]]:
        return [dict(r) for r in conn.execute(sql, (case_number,))]

    case["members"] = rows("SELECT * FROM members WHERE case_number = ? ORDER BY id")
    for member in case["members"]:
        member["role_label"] = ROLE_LABELS.get(member["role"], member["role"])
    case["applicant"] = next((m for m in case["members"] if m["role"] == "applicant"), None)
    case["previous_decisions"] = rows(
        "SELECT * FROM previous_decisions WHERE case_number = ? ORDER BY period DESC, id"
    )
    case["applications"] = rows("SELECT * FROM applications WHERE case_number = ? ORDER BY period DESC, application_id")
    case["journal"] = rows("SELECT * FROM journal WHERE case_number = ? ORDER BY time DESC, id DESC")
    case["decision_bases"] = rows("SELECT * FROM decision_bases WHERE case_number = ? ORDER BY id DESC")
    for basis in case["decision_bases"]:
        basis["findings_list"] = [c for c in basis["findings"].split(",") if c]
    case["decisions"] = rows("SELECT * FROM decisions WHERE case_number = ? ORDER BY id DESC")
    case["payments"] = rows("SELECT * FROM payments WHERE case_number = ? ORDER BY id DESC")
    with_basis = {b["application_id"] for b in case["decision_bases"]}
    decided = {d["application_id"] for d in case["decisions"]}
    paid = {p["application_id"] for p in case["payments"]}
    for application in case["applications"]:
        app_id = application["application_id"]
        application["kind_label"] = KIND_LABELS.get(application["kind"], application["kind"])
        application["status"] = (
            "Utbetald" if app_id in paid
            else "Beslutad" if app_id in decided
            else "Underlag finns" if app_id in with_basis
            else "Under utredning"
        )
    return case


def export(conn: sqlite3.Connection) -> dict[str, Any]:
    cases = []
    latest: dict[str, dict[str, Any]] = {}
    for (case_number,) in conn.execute("SELECT case_number FROM cases ORDER BY case_number").fetchall():
        case = load_case(conn, case_number)
        assert case is not None
        bases = sorted(case["decision_bases"], key=lambda b: b["id"])
        for basis in bases:
            entry = latest.setdefault(basis["application_id"], {"count": 0})
            entry.update(
                proposal=basis["proposal"], amount=basis["amount"], findings=sorted(basis["findings_list"]),
                count=entry["count"] + 1,
            )
        cases.append({
            "case_number": case_number,
            "address": {k: case[k] for k in ("street", "postal_code", "city", "municipality")},
            "members": [
                {"personnummer": m["personnummer"], "first_name": m["first_name"], "last_name": m["last_name"],
                 "role": m["role"], "in_school": bool(m["in_school"]), "lunch_at_home": bool(m["lunch_at_home"])}
                for m in case["members"]
            ],
            "previous_decisions": [
                {"period": d["period"], "decision": d["decision"], "amount": d["amount"]}
                for d in case["previous_decisions"]
            ],
            "applications": [
                {"application_id": a["application_id"], "period": a["period"], "kind": a["kind"]}
                for a in case["applications"]
            ],
            "journal": [{"time": n["time"], "author": n["author"], "text": n["text"]} for n in case["journal"]],
            "decision_bases": [
                {"id": b["id"], "application_id": b["application_id"], "period": b["period"],
                 "proposal": b["proposal"], "amount": b["amount"], "findings": b["findings_list"],
                 "report_text": b["report_text"], "author": b["author"], "time": b["time"],
                 "client": b["client"]}
                for b in bases
            ],
            "decisions": [
                {"id": d["id"], "application_id": d["application_id"], "period": d["period"],
                 "decision": d["decision"], "amount": d["amount"], "author": d["author"], "time": d["time"]}
                for d in sorted(case["decisions"], key=lambda d: d["id"])
            ],
            "payments": [
                {"id": p["id"], "application_id": p["application_id"], "period": p["period"],
                 "amount": p["amount"], "recipient": p["recipient"], "pay_date": p["pay_date"],
                 "author": p["author"], "time": p["time"]}
                for p in sorted(case["payments"], key=lambda p: p["id"])
            ],
        })
    return {"cases": cases, "latest_decision_basis": latest}


# --- validation of the forms -----------------------------------------------------------------


def check_application(case: dict[str, Any], application_id: str, period: str, errors: list[str]) -> None:
    if not APPLICATION_ID.match(application_id):
        errors.append("Ansökan ska anges som ANS-ÅÅÅÅ-NNNNNN.")
    elif application_id not in {a["application_id"] for a in case["applications"]}:
        errors.append(f"Ansökan {application_id} finns inte i ärendet.")
    if not PERIOD.match(period):
        errors.append("Period ska anges som ÅÅÅÅ-MM.")


def check_amount(text: str, errors: list[str]) -> int:
    amount = parse_amount(text)
    if amount is None:
        errors.append("Belopp ska vara ett helt antal kronor (0 eller mer).")
        return 0
    return amount

def find_case_number(conn: sqlite3.Connection, arendenummer: str, personnummer: str) -> str | None:
    """The case a caseworker's search finds: by case number, or else by a member's personnummer."""
    if arendenummer:
        row = conn.execute("SELECT case_number FROM cases WHERE upper(case_number) = upper(?)",
                           (arendenummer,)).fetchone()
    else:
        row = conn.execute("SELECT case_number FROM members WHERE personnummer = ? ORDER BY id LIMIT 1",
                           (normalize_pnr(personnummer),)).fetchone()
    return row["case_number"] if row else None
