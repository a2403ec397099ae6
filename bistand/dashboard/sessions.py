"""The dashboard's server-side sessions, login throttling and audit log, kept in the queue database.

Why in the queue database: every dashboard process (several behind a load balancer, or a restart)
sees the same sessions, so a logout, a removed user or a time-out ends a session everywhere.
The cookie holds only an opaque random id (256 bits); the table keeps its SHA-256, so a copy of
the database does not hold usable cookies. The tables are the queue's migration 4
(`SECURITY_MIGRATION` in bistand/queue/store.py).

Starlette's `request.session` stays the handlers' interface: `SessionMiddleware` here loads the
row into a dict before the handler and writes what the handler changed (sign-in, sign-out, the
flash message) after it, so the pages' code is the same as with a cookie session.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

import anyio.to_thread
from pydantic import BaseModel

from bistand.core.personnummer import mask_personnummer_in_text
from bistand.queue.store import QueueStore

SESSION_COOKIE = "bistand_session"
SECURE_SESSION_COOKIE = "__Host-bistand_session"  # the __Host- prefix: Secure, path /, no domain
LOGIN_CSRF_COOKIE = "bistand_login_csrf"
SECURE_LOGIN_CSRF_COOKIE = "__Host-bistand_login_csrf"
TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    """Time-outs and limits (docs/security.md, Sessions)."""

    idle_seconds: float = 30 * 60
    absolute_seconds: float = 8 * 3600
    free_failures: int = 3
    """Failed logins per user or per client address before a delay starts."""
    first_delay_seconds: float = 2
    max_delay_seconds: float = 15 * 60
    failures_forgotten_after_seconds: float = 3600

    def delay_after(self, failures: int) -> float:
        """The wait before the next try: none for the first few failures, then doubling to the cap."""
        if failures < self.free_failures:
            return 0.0
        return min(self.first_delay_seconds * 2 ** (failures - self.free_failures), self.max_delay_seconds)


@dataclass
class Session:
    token: str
    username: str
    csrf: str
    flash: dict[str, str] | None
    created_at: float


class AuditEvent(BaseModel):
    """One line of the audit log, masked as it is stored (a typed personnummer never lands there)."""

    at: float
    username: str
    event: str
    client: str
    detail: str = ""


AUDIT_LABELS = {
    "sign_in": "Inloggning", "sign_in_failed": "Misslyckad inloggning", "sign_in_throttled": "Inloggning spärrad",
    "sign_out": "Utloggning", "session_ended": "Session avslutad", "retry": "Försök igen",
    "skip": "Hoppa över", "evidence_opened": "Öppnade bevis",
}


class SecurityStore:
    """Sessions, failed-login counters and the audit log over one queue store's database."""

    def __init__(self, store: QueueStore, policy: SessionPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.policy = policy or SessionPolicy()
        self.clock = clock

    def _transaction(self):
        return self.store._transaction()  # noqa: SLF001 - the queue's own connection and locking

    # -- sessions -------------------------------------------------------------------------
    def start(self, username: str, user_fingerprint: str, client: str) -> Session:
        """A new session with a new id and CSRF token (never the pre-login ones: no fixation)."""
        token, csrf, now = secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES), self.clock()
        with self._transaction() as execute:  # abandoned sessions go when a new one starts
            execute("DELETE FROM dashboard_sessions WHERE last_seen_at < ? OR created_at < ?",
                    (now - self.policy.idle_seconds, now - self.policy.absolute_seconds))
            execute("INSERT INTO dashboard_sessions (session_hash, username, user_fingerprint, csrf, flash, client, "
                    "created_at, last_seen_at) VALUES (?, ?, ?, ?, '', ?, ?, ?)",
                    (_digest(token), username, user_fingerprint, csrf, client[:64], now, now))
        return Session(token, username, csrf, None, now)

    def load(self, token: str, fingerprint_of: Callable[[str], str | None], client: str) -> Session | None:
        """The live session for this cookie, its idle clock reset; None (and the row gone) when it
        timed out or its user was removed or changed."""
        if not token or len(token) > 128:
            return None
        now = self.clock()
        with self._transaction() as execute:
            row = execute("SELECT username, user_fingerprint, csrf, flash, created_at, last_seen_at "
                          "FROM dashboard_sessions WHERE session_hash = ?", (_digest(token),)).fetchone()
            if row is None:
                return None
            username, fingerprint, csrf, flash, created_at, last_seen_at = row
            why = ("idle" if now - last_seen_at > self.policy.idle_seconds
                   else "absolute" if now - created_at > self.policy.absolute_seconds
                   else "user changed" if fingerprint_of(username) != fingerprint else "")
            if why:
                execute("DELETE FROM dashboard_sessions WHERE session_hash = ?", (_digest(token),))
                self._audit(execute, username, "session_ended", client, why)
                return None
            execute("UPDATE dashboard_sessions SET last_seen_at = ? WHERE session_hash = ?", (now, _digest(token)))
        return Session(token, username, csrf, json.loads(flash) if flash else None, created_at)

    def save_flash(self, token: str, flash: dict[str, str] | None) -> None:
        with self._transaction() as execute:
            execute("UPDATE dashboard_sessions SET flash = ? WHERE session_hash = ?",
                    (json.dumps(flash) if flash else "", _digest(token)))

    def end(self, token: str) -> None:
        with self._transaction() as execute:
            execute("DELETE FROM dashboard_sessions WHERE session_hash = ?", (_digest(token),))

    def end_sessions_of_other_users(self, fingerprint_of: Callable[[str], str | None]) -> int:
        """Ends every session whose user is gone or changed (called when the users are reloaded)."""
        with self._transaction() as execute:
            rows = execute("SELECT session_hash, username, user_fingerprint FROM dashboard_sessions").fetchall()
            stale = [(digest, name) for digest, name, fingerprint in rows if fingerprint_of(name) != fingerprint]
            for digest, name in stale:
                execute("DELETE FROM dashboard_sessions WHERE session_hash = ?", (digest,))
                self._audit(execute, name, "session_ended", "", "user removed or changed")
        return len(stale)

    def live_sessions(self) -> int:
        with self._transaction() as execute:
            return execute("SELECT COUNT(*) FROM dashboard_sessions").fetchone()[0]

    # -- failed logins -------------------------------------------------------------------------
    def wait_before_login(self, scopes: list[str]) -> float:
        """Seconds before another login may be tried for any of these scopes (`user:…`, `client:…`)."""
        now, wait = self.clock(), 0.0
        with self._transaction() as execute:
            for scope in scopes:
                row = execute("SELECT failures, last_failure_at FROM login_failures WHERE scope = ?",
                              (scope,)).fetchone()
                if row and now - row[1] < self.policy.failures_forgotten_after_seconds:
                    wait = max(wait, row[1] + self.policy.delay_after(row[0]) - now)
        return max(wait, 0.0)

    def login_failed(self, scopes: list[str]) -> None:
        now = self.clock()
        with self._transaction() as execute:
            for scope in scopes:
                row = execute("SELECT failures, last_failure_at FROM login_failures WHERE scope = ?",
                              (scope,)).fetchone()
                if row is None:
                    execute("INSERT INTO login_failures (scope, failures, last_failure_at) VALUES (?, 1, ?)",
                            (scope, now))
                else:
                    fresh = now - row[1] >= self.policy.failures_forgotten_after_seconds
                    execute("UPDATE login_failures SET failures = ?, last_failure_at = ? WHERE scope = ?",
                            (1 if fresh else row[0] + 1, now, scope))

    def login_succeeded(self, scope: str) -> None:
        with self._transaction() as execute:
            execute("DELETE FROM login_failures WHERE scope = ?", (scope,))

    # -- audit -----------------------------------------------------------------------------
    def audit(self, username: str, event: str, client: str, detail: str = "") -> None:
        with self._transaction() as execute:
            self._audit(execute, username, event, client, detail)

    def _audit(self, execute: Callable[..., Any], username: str, event: str, client: str, detail: str) -> None:
        execute("INSERT INTO audit_log (event_id, at, username, event, client, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, self.clock(), mask_personnummer_in_text(username)[:80], event,
                 (client or "")[:64], mask_personnummer_in_text(detail)[:300]))

    def audit_events(self, limit: int = 200) -> list[AuditEvent]:
        with self._transaction() as execute:
            rows = execute("SELECT at, username, event, client, detail FROM audit_log ORDER BY at DESC, event_id "
                           "LIMIT ?", (limit,)).fetchall()
        return [AuditEvent(at=r[0], username=r[1], event=r[2], client=r[3], detail=r[4]) for r in rows]


def cookie_value(headers: list[tuple[bytes, bytes]], name: str) -> str:
    for key, value in headers:
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # noqa: S112 - a malformed cookie header is no cookie
                continue
            if name in jar:
                return jar[name].value
    return ""


def set_cookie_header(name: str, value: str, *, secure: bool, max_age: int | None = None) -> tuple[bytes, bytes]:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return b"set-cookie", "; ".join(parts).encode("latin-1")


class SessionMiddleware:
    """ASGI middleware: the server-side session as `request.session` (a dict), and its cookie.

    Before the handler: the cookie's session (or, before login, the login form's CSRF token from
    its own cookie). After it: a `user` that appeared starts a new session (new id, new CSRF
    token), a `user` that disappeared ends it, a changed `flash` is stored."""

    def __init__(self, app, security: SecurityStore, fingerprint_of: Callable[[str], str | None],
                 secure: bool) -> None:
        self.app = app
        self.security = security
        self.fingerprint_of = fingerprint_of
        self.secure = secure
        self.session_cookie = SECURE_SESSION_COOKIE if secure else SESSION_COOKIE
        self.login_cookie = SECURE_LOGIN_CSRF_COOKIE if secure else LOGIN_CSRF_COOKIE

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("", 0))[0] or ""
        token = cookie_value(scope.get("headers", []), self.session_cookie)
        session = (await anyio.to_thread.run_sync(self.security.load, token, self.fingerprint_of, client)
                   if token else None)
        if session is not None:
            data: dict[str, Any] = {"user": session.username, "csrf": session.csrf}
            if session.flash:
                data["flash"] = session.flash
        else:
            login_csrf = cookie_value(scope.get("headers", []), self.login_cookie)
            data = {"csrf": login_csrf} if 20 <= len(login_csrf) <= 64 else {}
        before = dict(data)
        scope["session"] = data

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += await anyio.to_thread.run_sync(self._after, session, token, before, data, client)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _after(self, session: Session | None, token: str, before: dict, data: dict,
               client: str) -> list[tuple[bytes, bytes]]:
        user = data.get("user")
        headers: list[tuple[bytes, bytes]] = []
        if session is not None and user == session.username:
            if data.get("flash") != before.get("flash"):
                self.security.save_flash(session.token, data.get("flash"))
            return headers
        if session is not None:  # signed out (or another user signed in over it)
            self.security.end(session.token)
            headers.append(set_cookie_header(self.session_cookie, "", secure=self.secure, max_age=0))
        elif token:  # a cookie for a session that is gone: drop it
            headers.append(set_cookie_header(self.session_cookie, "", secure=self.secure, max_age=0))
        if user:
            fingerprint = self.fingerprint_of(user)
            if fingerprint is None:
                return headers
            started = self.security.start(user, fingerprint, client)
            if data.get("flash"):
                self.security.save_flash(started.token, data["flash"])
            headers.append(set_cookie_header(self.session_cookie, started.token, secure=self.secure,
                                             max_age=int(self.security.policy.absolute_seconds)))
            headers.append(set_cookie_header(self.login_cookie, "", secure=self.secure, max_age=0))
        elif data.get("csrf") and data.get("csrf") != before.get("csrf"):
            headers.append(set_cookie_header(self.login_cookie, data["csrf"], secure=self.secure))
        return headers


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is refused with 413 before any handler (and
    so before any password is hashed); a declared Content-Length over it is refused unread."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
        delivered = False

        async def replay():
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send) -> None:
        text = "För stor förfrågan.".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(text)).encode())]})
        await send({"type": "http.response.body", "body": text})
