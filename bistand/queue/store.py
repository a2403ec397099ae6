"""The queue's store: one table of work items, two backends behind one interface.

SQLite (WAL, `BEGIN IMMEDIATE` around a claim) serves runners on one machine; PostgreSQL
(`FOR UPDATE SKIP LOCKED`) serves runners on many. Both speak the same SQL apart from the
claim's row lock; the schema is created and migrated here (`schema_version` and an ordered
list of migrations), never by hand.

Life of an item: the table in bistand/queue/states.py (and docs/queue.md). Every claim gives the
item a new lease generation (a fencing token); every later write of the holder (heartbeat,
complete, fail, unclaim) names owner **and** generation in its own `WHERE`, so a runner whose
lease was taken over changes nothing. An item claimed `max_claims` times without a release (its
runner died each time) is parked as CLAIMS_EXHAUSTED instead of being taken over again.
Times are Unix seconds taken from the database server's clock on PostgreSQL, so runners on
several machines agree on lease expiry; a test passes its own `clock`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from bistand.core.personnummer import mask_personnummer_in_text
from bistand.queue.states import STATES, ItemState, refusal, sql_states
from bistand.settings import QueueSettings, settings_of

LOG = logging.getLogger(__name__)

# Errors tied to the item's data, the installation or the case, not to a struggling system: a
# retry cannot fix them, so the item is parked at once and the run goes on.
PARK_AT_ONCE = {
    "WRITE_CONFLICT": "ansökan finns mer än en gång i verksamhetssystemet (en robot som tappat kontakten "
                      "skrev samtidigt som den som tog över); ta bort det som finns två gånger och kör "
                      "`python -m bistand queue retry <ansökan>`",
    "NORM_TABLE_MISSING": "installera riksnormen för ansökans år (resources/norm/<år>.yaml) "
                          "och kör `python -m bistand queue retry --all-parked`",
    "NORM_TABLE_INVALID": "rätta riksnormen för ansökans år (resources/norm/<år>.yaml) "
                          "och kör `python -m bistand queue retry --all-parked`",
}

CLAIMS_EXHAUSTED = "CLAIMS_EXHAUSTED"
CLAIMS_EXHAUSTED_MESSAGE = (
    "Ärendet påbörjades {claims} gånger utan att avslutas: roboten som arbetade med det avbröts varje "
    "gång (kraschade, stängdes av eller tappade kontakten). Åtgärd: kontrollera ärendet och kör "
    "`python -m bistand queue retry <ärende>` (ett nytt försök) eller hoppa över det."
)

MIGRATIONS: list[list[str]] = [
    [  # 1: the work items
        """CREATE TABLE work_items (
            application_id TEXT PRIMARY KEY,
            payload TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            claims INTEGER NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            next_try_at DOUBLE PRECISION NOT NULL,
            lease_owner TEXT,
            lease_until DOUBLE PRECISION,
            error_type TEXT NOT NULL DEFAULT '',
            error_code TEXT NOT NULL DEFAULT '',
            error_message TEXT NOT NULL DEFAULT '',
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX work_items_ready ON work_items (state, next_try_at)",
    ],
    [  # 2: what the team lead's dashboard draws (masked: codes and figures only, no personal data)
        """CREATE TABLE item_outcomes (
            outcome_id TEXT PRIMARY KEY,
            application_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            code TEXT NOT NULL DEFAULT '',
            proposal TEXT NOT NULL DEFAULT '',
            findings TEXT NOT NULL DEFAULT '[]',
            decided_by TEXT NOT NULL DEFAULT '',
            mode TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 1,
            runner TEXT NOT NULL DEFAULT '',
            run_dir TEXT NOT NULL DEFAULT '',
            started_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION NOT NULL,
            seconds DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX item_outcomes_finished ON item_outcomes (finished_at)",
        "CREATE INDEX item_outcomes_item ON item_outcomes (application_id, finished_at)",
        """CREATE TABLE operator_actions (
            action_id TEXT PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL,
            username TEXT NOT NULL,
            action TEXT NOT NULL,
            application_id TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX operator_actions_at ON operator_actions (at)",
    ],
    [  # 3: the fencing token (a new lease generation per claim) and claims not followed by a release
        "ALTER TABLE work_items ADD COLUMN lease_generation INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE work_items ADD COLUMN open_claims INTEGER NOT NULL DEFAULT 0",
    ],
]
# 4: the dashboard's server-side sessions, login throttling and audit log (issue 16): kept as a
# list of its own so it can be renumbered at a merge without touching its statements.
SECURITY_MIGRATION: list[str] = [
    """CREATE TABLE dashboard_sessions (
        session_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        user_fingerprint TEXT NOT NULL,
        csrf TEXT NOT NULL,
        flash TEXT NOT NULL DEFAULT '',
        client TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL,
        last_seen_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX dashboard_sessions_user ON dashboard_sessions (username)",
    """CREATE TABLE login_failures (
        scope TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE audit_log (
        event_id TEXT PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        username TEXT NOT NULL,
        event TEXT NOT NULL,
        client TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX audit_log_at ON audit_log (at)",
]
MIGRATIONS.append(SECURITY_MIGRATION)
# 5: the robot farm seen and heard (issue 17): the runners and their heartbeats, the portals'
# health per minute (counts and a latency histogram per system and outcome class, no personal
# data), and the alerts' incidents (the open incident's row is the lock that lets several
# evaluators send one alert). Kept as a list of its own, like 4, for a renumbering at a merge.
HEALTH_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds (seconds) of the portal-health latency buckets; one more bucket above the last."""
FARM_MIGRATION: list[str] = [
    """CREATE TABLE runners (
        runner_key TEXT PRIMARY KEY,
        runner_id TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        version TEXT NOT NULL,
        mode TEXT NOT NULL,
        lease_seconds DOUBLE PRECISION NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        last_seen_at DOUBLE PRECISION NOT NULL,
        held TEXT NOT NULL DEFAULT '[]',
        stopped_at DOUBLE PRECISION,
        exit_code INTEGER,
        last_run_code INTEGER,
        last_run_at DOUBLE PRECISION,
        last_run_system TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX runners_seen ON runners (last_seen_at)",
    """CREATE TABLE portal_health (
        system TEXT NOT NULL,
        minute DOUBLE PRECISION NOT NULL,
        outcome TEXT NOT NULL,
        requests INTEGER NOT NULL,
        seconds_total DOUBLE PRECISION NOT NULL,
        """ + ",\n        ".join(f"b{i} INTEGER NOT NULL DEFAULT 0" for i in range(len(HEALTH_BUCKETS) + 1)) + """,
        PRIMARY KEY (system, minute, outcome)
    )""",
    "CREATE INDEX portal_health_minute ON portal_health (minute)",
    """CREATE TABLE portal_state (
        system TEXT PRIMARY KEY,
        ok_streak INTEGER NOT NULL DEFAULT 0,
        last_ok_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        last_error_at DOUBLE PRECISION NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE incidents (
        incident_id TEXT PRIMARY KEY,
        alert_key TEXT NOT NULL,
        rule TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        opened_at DOUBLE PRECISION NOT NULL,
        last_seen_at DOUBLE PRECISION NOT NULL,
        last_sent_at DOUBLE PRECISION,
        sends INTEGER NOT NULL DEFAULT 0,
        resolved_at DOUBLE PRECISION,
        resolved_sent_at DOUBLE PRECISION
    )""",
    "CREATE UNIQUE INDEX incidents_one_open ON incidents (alert_key) WHERE resolved_at IS NULL",
    "CREATE INDEX incidents_opened ON incidents (opened_at)",
]
MIGRATIONS.append(FARM_MIGRATION)

_COLUMNS = ("application_id, payload, state, claims, failures, next_try_at, lease_owner, lease_until, "
            "error_type, error_code, error_message, updated_at, lease_generation, open_claims")
_HELD = "application_id = ? AND lease_owner = ? AND lease_generation = ? AND state = 'in_progress'"
"""The holder's condition: owner and generation in the same statement as the write."""


class Lease(BaseModel):
    """Whose an item is: the runner and the generation its claim gave the item."""

    application_id: str
    owner: str
    generation: int

    def key(self) -> tuple[str, str, int]:
        return self.application_id, self.owner, self.generation


class QueueItem(BaseModel):
    application_id: str
    payload: dict[str, Any]
    state: ItemState
    claims: int = 0
    failures: int = 0
    next_try_at: float = 0
    lease_owner: str | None = None
    lease_until: float | None = None
    error_type: str = ""
    error_code: str = ""
    error_message: str = ""
    updated_at: float = 0
    lease_generation: int = 0
    open_claims: int = 0
    """Claims since the last release: how many runners took the item and died with it."""

    @classmethod
    def from_row(cls, row: tuple) -> QueueItem:
        values = dict(zip([c.strip() for c in _COLUMNS.split(",")], row, strict=True))
        values["payload"] = json.loads(values["payload"])
        return cls.model_validate(values)

    @property
    def lease(self) -> Lease:
        """The lease this item's claim gave (meaningful on the item `claim` returned)."""
        return Lease(application_id=self.application_id, owner=self.lease_owner or "",
                     generation=self.lease_generation)


Outcome = Literal["DONE", "BUSINESS", "APPLICATION", "PARKED"]
DecidedBy = Literal["robot", "caseworker", ""]
_OUTCOME_COLUMNS = ("outcome_id, application_id, outcome, code, proposal, findings, decided_by, mode, attempts, "
                    "runner, run_dir, started_at, finished_at, seconds")


class ItemOutcome(BaseModel):
    """One runner's work on one item, as the dashboard draws it: codes and figures, never an amount,
    a name or a personnummer. `decided_by` is `robot` when the bot decided (automated mode),
    `caseworker` when the item went to a caseworker, '' when nothing was decided (a system error).
    `run_dir` is relative to the output folder (output/runs/<UTC time>-<runner>/)."""

    application_id: str
    outcome: Outcome
    code: str = ""
    proposal: str = ""
    findings: list[str] = []
    decided_by: DecidedBy = ""
    mode: str = ""
    attempts: int = 1
    runner: str = ""
    run_dir: str = ""
    started_at: float = 0
    finished_at: float = 0
    seconds: float = 0

    @classmethod
    def from_row(cls, row: tuple) -> ItemOutcome:
        values = dict(zip([c.strip() for c in _OUTCOME_COLUMNS.split(",")], row, strict=True))
        values.pop("outcome_id")
        values["findings"] = json.loads(values["findings"] or "[]")
        return cls.model_validate(values)


class OperatorAction(BaseModel):
    """A retry or skip from the dashboard, and who did it."""

    at: float
    username: str
    action: Literal["retry", "skip"]
    application_id: str
    reason: str = ""


class LeaseLost(Exception):
    """The item is no longer this runner's (its lease expired and another runner took it)."""


class ActionRefused(Exception):
    """An operator's action the state table does not allow; the message (Swedish) says why."""


class QueueStore:
    """The interface both backends share; SQL with `?` placeholders.

    `clock` (Unix seconds) replaces the database's clock: for tests that move time themselves."""

    url: str

    def __init__(self, retry_delays: list[float] | None = None, max_failures: int = 5, max_claims: int = 3,
                 clock: Callable[[], float] | None = None) -> None:
        self.retry_delays = list(retry_delays or [30, 120, 600, 3600])
        self.max_failures = max_failures
        self.max_claims = max_claims
        self._clock = clock
        self._lock = threading.RLock()  # one connection, shared by a runner and its heartbeat

    # -- backend hooks -------------------------------------------------------------------
    @contextmanager
    def _transaction(self, claim: bool = False) -> Iterator[Callable[..., Any]]:
        raise NotImplementedError

    def _now(self, execute: Callable[..., Any]) -> float:
        return self._clock() if self._clock is not None else self._database_now(execute)

    def _database_now(self, execute: Callable[..., Any]) -> float:
        return time.time()

    _skip_locked = ""
    _row_lock = ""

    def is_connection_error(self, exc: BaseException) -> bool:
        """True for an error a new try may not meet (a dropped connection, a busy database)."""
        return isinstance(exc, sqlite3.OperationalError)

    def close(self) -> None:
        raise NotImplementedError

    # -- for the store's neighbours (runners, portal health, alerts: bistand.monitoring) ---
    @contextmanager
    def transaction(self) -> Iterator[Callable[..., Any]]:
        """One transaction, `execute(sql, params)` with `?` placeholders, on this store's connection."""
        with self._transaction() as execute:
            yield execute

    def now(self, execute: Callable[..., Any]) -> float:
        """The queue's clock (the database server's on PostgreSQL) inside a transaction."""
        return self._now(execute)

    # -- schema --------------------------------------------------------------------------
    def migrate(self) -> int:
        """Applies the migrations this database lacks; returns the schema version."""
        with self._transaction(claim=True) as execute:
            self._lock_schema(execute)
            execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version, statements in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in statements:
                    execute(statement)
                execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            return max(current, len(MIGRATIONS))

    def _lock_schema(self, execute: Callable[..., Any]) -> None:
        """Serialises concurrent migrations (SQLite: BEGIN IMMEDIATE already does)."""

    # -- producing -----------------------------------------------------------------------
    def add(self, application_id: str, payload: dict[str, Any]) -> bool:
        """Queues an application once, ever; False when it was already queued."""
        with self._transaction() as execute:
            now = self._now(execute)
            cursor = execute(
                "INSERT INTO work_items (application_id, payload, next_try_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (application_id) DO NOTHING",
                (application_id, json.dumps(payload, sort_keys=True), now, now, now),
            )
            return cursor.rowcount == 1

    # -- working -------------------------------------------------------------------------
    def claim(self, owner: str, lease_seconds: float) -> QueueItem | None:
        """The pending item due first (or one whose holder's lease ran out), leased to `owner`
        under a new generation. Items whose lease ran out after `max_claims` claims without a
        release are parked (CLAIMS_EXHAUSTED) in the same transaction instead of taken over."""
        with self._transaction(claim=True) as execute:
            now = self._now(execute)
            self._park_exhausted(execute, now)
            sql = (  # constants only; every value is bound
                f"UPDATE work_items SET state = 'in_progress', lease_owner = ?, lease_until = ?, "  # noqa: S608
                f"claims = claims + 1, open_claims = open_claims + 1, lease_generation = lease_generation + 1, "
                f"updated_at = ? WHERE application_id = ("
                f"SELECT application_id FROM work_items WHERE (state = 'pending' AND next_try_at <= ?) "
                f"OR (state = 'in_progress' AND lease_until < ? AND open_claims < ?) "
                f"ORDER BY next_try_at, application_id LIMIT 1{self._skip_locked}) RETURNING {_COLUMNS}"
            )
            row = execute(sql, (owner, now + lease_seconds, now, now, now, self.max_claims)).fetchone()
            return QueueItem.from_row(row) if row else None

    def _park_exhausted(self, execute: Callable[..., Any], now: float) -> None:
        sql = (  # constants only; every value is bound
            "UPDATE work_items SET state = 'parked', lease_owner = NULL, lease_until = NULL, "  # noqa: S608
            "error_type = 'APPLICATION', error_code = ?, error_message = ?, updated_at = ? "
            "WHERE application_id IN (SELECT application_id FROM work_items WHERE state = 'in_progress' "
            f"AND lease_until < ? AND open_claims >= ?{self._skip_locked}) RETURNING application_id, open_claims"
        )
        message = CLAIMS_EXHAUSTED_MESSAGE.format(claims=self.max_claims)
        for application_id, claims in execute(sql, (CLAIMS_EXHAUSTED, message, now, now, self.max_claims)).fetchall():
            LOG.warning("%s parked (%s): claimed %d times, never released", application_id, CLAIMS_EXHAUSTED, claims)

    def heartbeat(self, lease: Lease, lease_seconds: float) -> bool:
        """Extends the lease; False when the item is no longer this lease's (taken over, released)."""
        with self._transaction() as execute:
            now = self._now(execute)
            cursor = execute(f"UPDATE work_items SET lease_until = ?, updated_at = ? WHERE {_HELD}",  # noqa: S608
                             (now + lease_seconds, now, *lease.key()))
            return cursor.rowcount == 1

    def unclaim(self, lease: Lease) -> bool:
        """Hands a leased item back untouched (taken ahead, never worked on here): pending again,
        due when it was, no failure and no claim counted."""
        with self._transaction() as execute:
            now = self._now(execute)
            cursor = execute(
                "UPDATE work_items SET state = 'pending', lease_owner = NULL, lease_until = NULL, "  # noqa: S608
                f"claims = claims - 1, open_claims = open_claims - 1, updated_at = ? WHERE {_HELD}",
                (now, *lease.key()),
            )
            return cursor.rowcount == 1

    def complete(self, lease: Lease) -> ItemState:
        return self._release(lease, "done", "", "", "")

    def fail(self, lease: Lease, error_type: str, code: str, message: str) -> ItemState:
        """BUSINESS: failed for good. APPLICATION: rescheduled after the next delay of the
        schedule, or parked when out of tries or when the code is a configuration gap."""
        message = mask_personnummer_in_text(message or "")[:500]
        if error_type.upper() == "BUSINESS":
            return self._release(lease, "failed_business", "BUSINESS", code, message)
        hint = PARK_AT_ONCE.get(code)
        if hint:
            return self._release(lease, "parked", "APPLICATION", code, f"{message} Åtgärd: {hint}")
        return self._release(lease, "retry", "APPLICATION", code, message)

    def _release(self, lease: Lease, state: str, error_type: str, code: str, message: str) -> ItemState:
        """The holder's last write: read under a row lock (PostgreSQL) and written under the same
        owner-and-generation condition, so a runner whose lease was taken over changes nothing."""
        with self._transaction() as execute:
            now = self._now(execute)
            row = execute(f"SELECT failures FROM work_items WHERE {_HELD}{self._row_lock}",  # noqa: S608
                          lease.key()).fetchone()
            if row is None:
                raise LeaseLost(f"{lease.application_id} is no longer leased to {lease.owner} "
                                f"(generation {lease.generation})")
            failures = row[0] + (1 if error_type == "APPLICATION" else 0)
            next_try = now
            if state == "retry":
                if failures >= self.max_failures:
                    state = "parked"
                    tries = (f"försök {failures} av {self.max_failures}" if failures <= self.max_failures else
                             f"försök {failures}: {self.max_failures} och de nya försök som köats om för hand")
                    message = f"{message} ({tries})"
                else:
                    state = "pending"
                    next_try = now + self.retry_delays[min(failures, len(self.retry_delays)) - 1]
            cursor = execute(
                "UPDATE work_items SET state = ?, failures = ?, next_try_at = ?, lease_owner = NULL, "  # noqa: S608
                "lease_until = NULL, open_claims = 0, error_type = ?, error_code = ?, error_message = ?, "
                f"updated_at = ? WHERE {_HELD}",
                (state, failures, next_try, error_type, code, message, now, *lease.key()),
            )
            if cursor.rowcount != 1:
                raise LeaseLost(f"{lease.application_id} is no longer leased to {lease.owner}")
            return state  # type: ignore[return-value]

    # -- operating -----------------------------------------------------------------------
    def get(self, application_id: str) -> QueueItem | None:
        with self._transaction() as execute:
            row = execute(f"SELECT {_COLUMNS} FROM work_items WHERE application_id = ?",  # noqa: S608
                          (application_id,)).fetchone()
            return QueueItem.from_row(row) if row else None

    def items(self, state: str | None = None) -> list[QueueItem]:
        with self._transaction() as execute:
            where, params = ("WHERE state = ?", (state,)) if state else ("", ())
            sql = f"SELECT {_COLUMNS} FROM work_items {where} ORDER BY next_try_at, application_id"  # noqa: S608
            rows = execute(sql,
                           params).fetchall()
            return [QueueItem.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._transaction() as execute:
            rows = execute("SELECT state, COUNT(*) FROM work_items GROUP BY state").fetchall()
            found = {state: count for state, count in rows}
            return {state: found.get(state, 0) for state in STATES}

    def ready_count(self) -> int:
        """Items a runner could claim now."""
        with self._transaction() as execute:
            now = self._now(execute)
            return execute(
                "SELECT COUNT(*) FROM work_items WHERE (state = 'pending' AND next_try_at <= ?) "
                "OR (state = 'in_progress' AND lease_until < ?)", (now, now),
            ).fetchone()[0]

    def retry(self, application_id: str) -> QueueItem:
        """A parked, failed or skipped item back to pending, due now. Its counts of failures and
        of claims are kept: an item parked for running out of tries gets one more try (its next
        system failure, or its next runner dying, parks it again). Raises ActionRefused."""
        with self._transaction() as execute:
            now = self._now(execute)
            row = execute(
                "UPDATE work_items SET state = 'pending', next_try_at = ?, updated_at = ? "  # noqa: S608
                f"WHERE application_id = ? AND state IN {sql_states('retry')} RETURNING {_COLUMNS}",
                (now, now, application_id),
            ).fetchone()
            if row is None:
                raise ActionRefused(refusal("retry", application_id, self._state_of(execute, application_id)))
            return QueueItem.from_row(row)

    def retry_all_parked(self) -> int:
        """Every parked item back to pending, counts kept (as `retry`)."""
        with self._transaction() as execute:
            now = self._now(execute)
            cursor = execute(
                "UPDATE work_items SET state = 'pending', next_try_at = ?, updated_at = ? WHERE state = 'parked'",
                (now, now),
            )
            return cursor.rowcount

    def skip(self, application_id: str, reason: str) -> QueueItem:
        """An operator's decision: never process this item (it is handled by hand). Only a
        pending, parked or failed item; raises ActionRefused otherwise."""
        with self._transaction() as execute:
            now = self._now(execute)
            row = execute(
                "UPDATE work_items SET state = 'skipped', lease_owner = NULL, lease_until = NULL, "  # noqa: S608
                "error_type = '', error_code = 'SKIPPED', error_message = ?, updated_at = ? "
                f"WHERE application_id = ? AND state IN {sql_states('skip')} RETURNING {_COLUMNS}",
                (mask_personnummer_in_text(reason)[:500], now, application_id),
            ).fetchone()
            if row is None:
                raise ActionRefused(refusal("skip", application_id, self._state_of(execute, application_id)))
            return QueueItem.from_row(row)

    def _state_of(self, execute: Callable[..., Any], application_id: str) -> str | None:
        row = execute("SELECT state FROM work_items WHERE application_id = ?", (application_id,)).fetchone()
        return row[0] if row else None

    # -- outcomes and statistics (the dashboard) -----------------------------------------
    def record_outcome(self, outcome: ItemOutcome) -> ItemOutcome:
        """Appends one finished piece of work; `finished_at` is the database's clock now and
        `started_at` that minus `seconds`, so every runner's times share one clock."""
        with self._transaction() as execute:
            now = self._now(execute)
            recorded = outcome.model_copy(update={"finished_at": now, "started_at": now - outcome.seconds})
            execute(
                f"INSERT INTO item_outcomes ({_OUTCOME_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (uuid.uuid4().hex, recorded.application_id, recorded.outcome, recorded.code[:80],
                 recorded.proposal[:40], json.dumps(recorded.findings), recorded.decided_by, recorded.mode[:20],
                 recorded.attempts, recorded.runner[:120], recorded.run_dir[:300], recorded.started_at,
                 recorded.finished_at, recorded.seconds),
            )
            return recorded

    def outcomes_between(self, start: float, end: float) -> list[ItemOutcome]:
        """Every piece of work finished in [start, end), oldest first (a retried item counts each time)."""
        with self._transaction() as execute:
            rows = execute(
                f"SELECT {_OUTCOME_COLUMNS} FROM item_outcomes WHERE finished_at >= ? AND finished_at < ? "  # noqa: S608
                "ORDER BY finished_at, application_id", (start, end),
            ).fetchall()
            return [ItemOutcome.from_row(r) for r in rows]

    def outcomes_of(self, application_id: str) -> list[ItemOutcome]:
        """One item's history, newest first."""
        with self._transaction() as execute:
            rows = execute(
                f"SELECT {_OUTCOME_COLUMNS} FROM item_outcomes WHERE application_id = ? "  # noqa: S608
                "ORDER BY finished_at DESC", (application_id,),
            ).fetchall()
            return [ItemOutcome.from_row(r) for r in rows]

    def latest_outcomes(self) -> list[tuple[str, ItemOutcome | None]]:
        """Every item's state with its latest outcome (None when none was recorded), so figures
        drawn from it add up to the state counts of `counts()`."""
        columns = ", ".join(f"o.{c.strip()}" for c in _OUTCOME_COLUMNS.split(","))
        with self._transaction() as execute:
            rows = execute(
                f"SELECT w.state, {columns} FROM work_items w LEFT JOIN item_outcomes o ON o.outcome_id = ("  # noqa: S608
                "SELECT o2.outcome_id FROM item_outcomes o2 WHERE o2.application_id = w.application_id "
                "ORDER BY o2.finished_at DESC, o2.outcome_id LIMIT 1) ORDER BY w.application_id"
            ).fetchall()
            return [(row[0], ItemOutcome.from_row(row[1:]) if row[1] is not None else None) for row in rows]

    def recent_outcomes(self, limit: int = 20) -> list[ItemOutcome]:
        with self._transaction() as execute:
            rows = execute(
                f"SELECT {_OUTCOME_COLUMNS} FROM item_outcomes ORDER BY finished_at DESC, outcome_id LIMIT ?",  # noqa: S608
                (limit,),
            ).fetchall()
            return [ItemOutcome.from_row(r) for r in rows]

    def log_action(self, username: str, action: str, application_id: str, reason: str = "") -> OperatorAction:
        """Who retried or skipped what, and why (personnummer masked)."""
        with self._transaction() as execute:
            logged = OperatorAction(at=self._now(execute), username=username[:80], action=action,
                                    application_id=application_id, reason=mask_personnummer_in_text(reason)[:500])
            execute(
                "INSERT INTO operator_actions (action_id, at, username, action, application_id, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, logged.at, logged.username, logged.action, logged.application_id, logged.reason),
            )
            return logged

    def recent_actions(self, limit: int = 20) -> list[OperatorAction]:
        with self._transaction() as execute:
            rows = execute(
                "SELECT at, username, action, application_id, reason FROM operator_actions "
                "ORDER BY at DESC, action_id LIMIT ?", (limit,),
            ).fetchall()
            return [OperatorAction(at=r[0], username=r[1], action=r[2], application_id=r[3], reason=r[4])
                    for r in rows]

    def clear(self) -> None:
        """Empties the queue (the demo reseeds its world, so its old items mean nothing)."""
        with self._transaction() as execute:
            execute("DELETE FROM work_items")
            execute("DELETE FROM item_outcomes")
            execute("DELETE FROM operator_actions")
            execute("DELETE FROM portal_health")
            execute("DELETE FROM portal_state")
            execute("DELETE FROM incidents")
            execute("DELETE FROM runners")


class SqliteQueue(QueueStore):
    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = f"sqlite:///{path}"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA busy_timeout=60000")

    @contextmanager
    def _transaction(self, claim: bool = False) -> Iterator[Callable[..., Any]]:
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")  # writers queue up here, not halfway through
            try:
                yield connection.execute
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()


class PostgresQueue(QueueStore):
    _skip_locked = " FOR UPDATE SKIP LOCKED"
    _row_lock = " FOR UPDATE"

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = url
        self._connection = None
        self._connect()

    def _connect(self) -> None:
        import psycopg  # deferred here and below: psycopg loads only for a PostgreSQL queue

        self._connection = psycopg.connect(self.url, autocommit=True, connect_timeout=15)

    @contextmanager
    def _transaction(self, claim: bool = False) -> Iterator[Callable[..., Any]]:
        import psycopg

        with self._lock:
            if self._connection is None or self._connection.closed or self._connection.broken:
                self._reconnect()
            try:
                with self._connection.transaction():
                    yield self._execute
            except psycopg.OperationalError:
                self._connection.close()  # next call reconnects
                raise

    def _reconnect(self) -> None:
        """A restarted database or a dropped connection: try again for up to half a minute."""
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                self._connect()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)  # backoff: the database is restarting

    def _execute(self, sql: str, params: tuple = ()):
        return self._connection.execute(sql.replace("?", "%s"), params)

    def _database_now(self, execute: Callable[..., Any]) -> float:
        return float(execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())").fetchone()[0])

    def is_connection_error(self, exc: BaseException) -> bool:
        import psycopg

        return isinstance(exc, psycopg.OperationalError)

    def _lock_schema(self, execute: Callable[..., Any]) -> None:
        execute("SELECT pg_advisory_xact_lock(72163)")  # one migrating runner at a time

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def open_queue(url: str, retry_delays: list[float] | None = None, max_failures: int = 5, max_claims: int = 3,
               clock: Callable[[], float] | None = None) -> QueueStore:
    """The store for a `BISTAND_QUEUE_URL`, schema migrated."""
    kwargs = {"retry_delays": retry_delays, "max_failures": max_failures, "max_claims": max_claims, "clock": clock}
    if url.startswith("sqlite:///"):
        store: QueueStore = SqliteQueue(Path(url.removeprefix("sqlite:///")), **kwargs)
    elif url.startswith(("postgresql://", "postgres://")):
        store = PostgresQueue(url, **kwargs)
    else:
        raise ValueError(f"unsupported queue URL (sqlite:///PATH or postgresql://...): {url.split('@')[-1]}")
    store.migrate()
    return store


def open_configured_queue(settings: QueueSettings | Mapping[str, str] | None = None) -> QueueStore:
    """The queue `Settings.queue` names; a mapping of variables (older callers) is loaded first."""
    queue = settings if isinstance(settings, QueueSettings) else settings_of(settings).queue
    return open_queue(queue.url, queue.retry_delays_seconds, queue.max_failures, queue.max_claims)
