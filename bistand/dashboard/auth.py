"""Who may open the dashboard: user names and scrypt password hashes, checked in constant time.

Users come from `BISTAND_DASHBOARD_USERS` (a JSON or YAML file `{"name": "scrypt$..."}`) or
from the `dashboard` secret in the vault the bot uses (RPA.Robocorp.Vault: Control Room's vault or
the installation's vault file): `"dashboard": {"name": "scrypt$..."}`. The committed
devdata/vault.json is the demo's only (`--demo`); without users the dashboard does not start.
Only hashes are stored; `python -m bistand dashboard hash-password` makes one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import yaml

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class NoUsers(Exception):
    """No dashboard user is configured: the dashboard refuses to start rather than run open."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash` (base64): hashlib's memory-hard KDF, a fresh salt each time."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    encode = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt)}${encode(digest)}"


def password_matches(password: str, stored: str) -> bool:
    """Constant-time comparison of the password's hash with the stored one; False for a malformed entry."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        wanted = base64.b64decode(expected)
        digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(wanted), maxmem=2**27)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, wanted)


_DUMMY_HASH = hash_password(secrets.token_urlsafe(12))


class UserBook:
    """The configured users; `check` takes as long for an unknown name as for a known one."""

    def __init__(self, users: dict[str, str]) -> None:
        if not users:
            raise NoUsers("no dashboard users configured")
        self._users = dict(users)

    def check(self, username: str, password: str) -> bool:
        stored = self._users.get(username)
        matches = password_matches(password, stored or _DUMMY_HASH)
        return stored is not None and matches

    def fingerprint(self, username: str) -> str | None:
        """Changes when the user's password hash changes, None for no such user: a session made
        for another fingerprint has ended (bistand.dashboard.sessions)."""
        stored = self._users.get(username)
        return hashlib.sha256(stored.encode()).hexdigest() if stored is not None else None

    @classmethod
    def nobody(cls) -> UserBook:
        """No one may sign in (the configured users could not be read: fail closed)."""
        book = cls.__new__(cls)
        book._users = {}
        return book

    def __len__(self) -> int:
        return len(self._users)


class LiveUsers:
    """The users as configured now: the users file is read again when it changes, the vault's
    `dashboard` secret every `vault_seconds`. A removed or changed user's sessions end at their
    next request; users that cannot be read any more let nobody in."""

    def __init__(self, environ: dict[str, str], vault_seconds: float = 60,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.environ = dict(environ)
        self.vault_seconds = vault_seconds
        self.clock = clock
        self.book = load_users(self.environ)
        self._stamp = self._source_stamp()
        self._loaded_at = clock()

    def _source_stamp(self) -> tuple[int, int, int] | None:
        path = self.environ.get("BISTAND_DASHBOARD_USERS")
        if not path:
            return None
        try:
            found = os.stat(path)
        except OSError:
            return None
        return (found.st_mtime_ns, found.st_size, found.st_ino)

    def current(self) -> UserBook:
        from_file = bool(self.environ.get("BISTAND_DASHBOARD_USERS"))
        stamp = self._source_stamp() if from_file else None
        if (stamp != self._stamp) if from_file else (self.clock() - self._loaded_at > self.vault_seconds):
            try:
                self.book = load_users(self.environ)
            except NoUsers:
                self.book = UserBook.nobody()
            self._stamp, self._loaded_at = stamp, self.clock()
        return self.book

    def check(self, username: str, password: str) -> bool:
        return self.current().check(username, password)

    def fingerprint(self, username: str) -> str | None:
        return self.current().fingerprint(username)

    def __len__(self) -> int:
        return len(self.current())


def _parse_users(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise NoUsers("dashboard users must map user names to password hashes")
    return raw


USERS_HOW_TO = ("set BISTAND_DASHBOARD_USERS=<a users file> or put a `dashboard` secret in the installation's vault "
                "(RPA_SECRET_MANAGER and RPA_SECRET_FILE, or Control Room); only `--demo` uses devdata/vault.json "
                "(docs/operations.md)")


def load_users(environ: dict[str, str] | None = None) -> UserBook:
    """From `BISTAND_DASHBOARD_USERS` (a file) or the configured vault's `dashboard` secret.

    No default users: the committed dev vault is read only for the demo (`BISTAND_DEMO=1`, which
    `dashboard --demo` sets); anything else without users raises NoUsers naming what to configure."""
    env = dict(os.environ if environ is None else environ)
    path = env.get("BISTAND_DASHBOARD_USERS")
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise NoUsers(f"cannot read the users file {path}: {type(exc).__name__}") from exc
        return UserBook(_parse_users(yaml.safe_load(text) or {}))
    from bistand.bot.secrets import use_demo_vault, vault_file, vault_problem

    use_demo_vault(env)
    problem = vault_problem(env)
    if problem:
        raise NoUsers(f"no dashboard users configured: {USERS_HOW_TO}")
    try:
        file = vault_file(env)
        if file is not None:  # read the file named here, not whatever the process environment says
            from RPA.Robocorp.Vault import FileSecrets  # deferred: rpaframework only when a vault is read

            users = dict(FileSecrets(str(file)).get_secret("dashboard"))
        else:
            from RPA.Robocorp.Vault import Vault

            users = dict(Vault().get_secret("dashboard"))
    except Exception as exc:  # noqa: BLE001 - any vault trouble: no users
        raise NoUsers(f"no `dashboard` secret in the vault: {USERS_HOW_TO}") from exc
    return UserBook(_parse_users(users))
