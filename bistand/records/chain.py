"""The sealed chain of records in one records folder: append, verify, purge.

Each record file holds its record as one line of compact JSON (UTF-8) with a `seal`: its sequence
number, when it was sealed, the SHA-256 of the record before it and its own SHA-256, taken over
the record's canonical form (sorted keys, no whitespace, UTF-8) without `seal.sha256`.
`head.json` names the last record. Every change of the folder (an append, a purge) happens
under one exclusive file lock (`.lock`, fcntl), so several runners, or several applications in
flight, never fork the chain or lose a link; `verify` takes the same lock shared, so it never sees half an append.

What `verify` finds, slot by slot from the chain's start (the latest purge marker, else the
first record) to the head: a missing sequence number is a removed record; a record whose bytes
are not its sealed canonical form, or that is not the version the next record (or the head) was
sealed over, is a changed record; a second record in a slot, a record after the head or before
the start is an inserted record. The text and HTML report sealed with each application's latest
record must still be there, unchanged. The head itself is not protected against someone who rewrites
the whole chain: keep the head hash `records verify` prints somewhere else (docs/records.md).

Every file is written owner-only (0600) to a temporary name and renamed into place.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bistand.records.record import GENESIS, SCHEMA_ID

HEAD_FILE = "head.json"
LOCK_FILE = ".lock"
RECORD_NAME = re.compile(r"^(?P<sequence>\d{8})-(?P<name>[A-Za-z0-9-]+)\.json$")


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 (not ASCII-escaped). What the seal hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def file_form(record: dict[str, Any]) -> bytes:
    """How a record is stored: compact JSON in the record's own key order, UTF-8, one line.

    The key order is kept because the report lays some data out in that order (a finding's data);
    `explain` re-renders the report from the record and compares it with the sealed report hash.
    """
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode() + b"\n"


def seal_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the record's canonical form without its own `seal.sha256`."""
    seal = {k: v for k, v in record.get("seal", {}).items() if k != "sha256"}
    return hashlib.sha256(canonical({**record, "seal": seal})).hexdigest()


def write_private(path: Path, data: bytes, durable: bool = True) -> Path:
    """`data` in a temporary owner-only file beside `path`, flushed (and with `durable`, on disk
    before it is renamed: fsync); returns the temporary path."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            if durable:
                os.fsync(out.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def replace_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` owner-only and atomically (a reader sees the old file or the new)."""
    os.replace(write_private(path, data), path)


@dataclass
class Entry:
    """One record file as found on disk."""

    path: Path
    sequence: int
    record: dict[str, Any] | None
    problem: str = ""
    """Why its content is not the sealed record ('' when it is)."""

    @property
    def stored_hash(self) -> str:
        return str((self.record or {}).get("seal", {}).get("sha256", ""))

    @property
    def previous(self) -> str:
        return str((self.record or {}).get("seal", {}).get("previous_sha256", ""))

    @property
    def sealed_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat((self.record or {})["seal"]["sealed_at"])
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def kind(self) -> str:
        return str((self.record or {}).get("kind", ""))


def read_entry(path: Path) -> Entry:
    """A record file, checked on its own: canonical bytes and the seal's hash."""
    sequence = int(RECORD_NAME.match(path.name)["sequence"])
    data = path.read_bytes()
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return Entry(path, sequence, None, "kan inte läsas som JSON")
    if not isinstance(record, dict) or not isinstance(record.get("seal"), dict):
        return Entry(path, sequence, None, "saknar försegling")
    entry = Entry(path, sequence, record)
    if record["seal"].get("sequence") != sequence:
        entry.problem = "sekvensnumret i filen stämmer inte med filnamnet"
    elif data != file_form(record):
        entry.problem = "filens byte är inte postens lagrade form"
    elif seal_hash(record) != entry.stored_hash:
        entry.problem = "innehållet stämmer inte med förseglingens hash"
    return entry


@dataclass(frozen=True)
class Problem:
    kind: str
    """changed | removed | inserted"""
    sequence: int
    name: str
    detail: str
    sealed_at: datetime | None = None

    KIND_LABELS = {"changed": "ändrad", "removed": "borttagen", "inserted": "tillagd"}

    def line(self) -> str:
        return f"{self.KIND_LABELS.get(self.kind, self.kind)}: nr {self.sequence} {self.name}: {self.detail}"


@dataclass
class Verification:
    problems: list[Problem] = field(default_factory=list)
    checked: int = 0
    first_sequence: int = 1
    head_sequence: int = 0
    head_sha256: str = GENESIS

    @property
    def intact(self) -> bool:
        return not self.problems


class RecordChain:
    """The records of one folder (output/records by default)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    # --- locking and reading -------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, exclusive: bool = True) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def record_paths(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if RECORD_NAME.match(p.name))

    def entries(self) -> list[Entry]:
        return [read_entry(path) for path in self.record_paths()]

    def head(self) -> dict[str, Any] | None:
        """head.json when it is there and names a sequence number and a hash; else None."""
        try:
            head = json.loads((self.directory / HEAD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(head, dict) or not isinstance(head.get("sequence"), int) \
                or not isinstance(head.get("sha256"), str):
            return None
        return head

    def _current_head(self) -> tuple[int, str]:
        """(sequence, sha256) of the last record: from head.json, or the last file when it is gone."""
        head = self.head()
        if head is not None:
            return int(head["sequence"]), str(head["sha256"])
        paths = self.record_paths()
        if not paths:
            return 0, GENESIS
        last = read_entry(paths[-1])
        return last.sequence, last.stored_hash

    # --- appending -----------------------------------------------------------------------------

    def append(self, record: dict[str, Any], name: str, *,
               with_files: Callable[[dict[str, Any]], list[tuple[Path, Path]]] | None = None,
               now: datetime | None = None) -> tuple[dict[str, Any], Path]:
        """Seal `record` as the next link and write it as `<sequence>-<name>.json`.

        `with_files(sealed)` may return (temporary, final) pairs, already written: they are renamed
        into place right after the record, under the same lock, so what belongs to a record (its
        reports) appears with it. Returns the sealed record and its path.
        """
        with self.locked():
            return self._append_locked(record, name, with_files, now or datetime.now(UTC))

    def _append_locked(self, record: dict[str, Any], name: str,
                       with_files: Callable[[dict[str, Any]], list[tuple[Path, Path]]] | None,
                       now: datetime) -> tuple[dict[str, Any], Path]:
        sequence, previous = self._current_head()
        sequence += 1
        sealed = {**record, "seal": {"sequence": sequence, "sealed_at": now.isoformat(), "previous_sha256": previous}}
        sealed["seal"]["sha256"] = seal_hash(sealed)
        path = self.directory / f"{sequence:08d}-{name}.json"
        temporary = write_private(path, file_form(sealed))
        try:
            pending = with_files(sealed) if with_files is not None else []
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        try:
            os.replace(temporary, path)
        except BaseException:
            for other in (temporary, *(staged for staged, _ in pending)):
                other.unlink(missing_ok=True)
            raise
        for other, final in pending:
            os.replace(other, final)
        self._write_head(sealed)
        return sealed, path

    def _write_head(self, sealed: dict[str, Any]) -> None:
        seal = sealed["seal"]
        head = {"schema": SCHEMA_ID, "sequence": seal["sequence"], "sha256": seal["sha256"],
                "sealed_at": seal["sealed_at"]}
        replace_private(self.directory / HEAD_FILE, json.dumps(head, indent=2).encode() + b"\n")

    # --- verifying -----------------------------------------------------------------------------

    def verify(self, since: datetime | None = None) -> Verification:
        """Every changed, removed or inserted record (only those sealed at or after `since`)."""
        if not self.directory.is_dir():
            return Verification()
        with self.locked(exclusive=False):
            entries = self.entries()
            head = self.head()
        result = Verification(checked=len(entries))
        problems: list[Problem] = []
        if head is None:
            if entries:
                problems.append(Problem("removed", 0, HEAD_FILE, "kedjans huvud saknas"))
            head_sequence = max((e.sequence for e in entries), default=0)
            head_hash = next((e.stored_hash for e in entries if e.sequence == head_sequence), GENESIS)
        else:
            head_sequence, head_hash = int(head["sequence"]), str(head["sha256"])
        first_sequence, start_hash = self._start(entries)
        result.first_sequence, result.head_sequence, result.head_sha256 = first_sequence, head_sequence, head_hash

        slots: dict[int, list[Entry]] = {}
        for entry in entries:
            if entry.sequence < first_sequence:
                problems.append(_problem("inserted", entry, "ligger före kedjans början (gallrad post?)"))
            elif entry.sequence > head_sequence:
                problems.append(_problem("inserted", entry, "ligger efter kedjans huvud"))
            else:
                slots.setdefault(entry.sequence, []).append(entry)

        endorsed_by: dict[int, set[str]] = {head_sequence: {head_hash}}
        for sequence, here in slots.items():
            endorsed_by[sequence - 1] = {e.previous for e in here}
        previous_sealed_at: datetime | None = None
        for sequence in range(first_sequence, head_sequence + 1):
            here = slots.get(sequence, [])
            if not here:
                problems.append(Problem("removed", sequence, f"{sequence:08d}-*.json", "posten saknas",
                                        previous_sealed_at))
                continue
            expected = endorsed_by.get(sequence)  # None: the next slot is empty, nothing to compare with
            genuine = [e for e in here if not e.problem and (expected is None or e.stored_hash in expected)]
            keep = genuine[0] if genuine else here[0]
            for entry in here:
                if entry is not keep:
                    problems.append(_problem("inserted", entry, "en annan post har samma sekvensnummer"))
                elif entry.problem:
                    problems.append(_problem("changed", entry, entry.problem))
                elif expected is not None and entry.stored_hash not in expected:
                    problems.append(_problem("changed", entry, "förseglades om: nästa post bygger på en annan "
                                                               "version av den"))
                elif sequence == first_sequence and entry.previous != start_hash:
                    problems.append(_problem("changed", entry, "bygger inte på kedjans början"))
            previous_sealed_at = keep.sealed_at or previous_sealed_at
        inserted = {p.name for p in problems if p.kind == "inserted"}
        problems += self._report_problems([e for e in entries if e.path.name not in inserted])
        if since is not None:
            problems = [p for p in problems if p.sealed_at is None or p.sealed_at >= since]
        result.problems = sorted(problems, key=lambda p: (p.sequence, p.name))
        return result

    def _report_problems(self, entries: list[Entry]) -> list[Problem]:
        """The report files sealed with each application's latest record: changed or gone since."""
        latest: dict[str, Entry] = {}
        for entry in sorted(entries, key=lambda e: e.sequence):
            if entry.kind == "decision" and not entry.problem:
                latest[str(entry.record.get("application_id"))] = entry
        problems = []
        for entry in latest.values():
            for meta in entry.record.get("report", {}).get("files", {}).values():
                path = (self.directory / meta["path"]).resolve()
                try:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                except FileNotFoundError:
                    problems.append(Problem("removed", entry.sequence, path.name,
                                            f"rapporten som förseglades med {entry.path.name} saknas", entry.sealed_at))
                    continue
                if digest != meta["sha256"]:
                    problems.append(Problem("changed", entry.sequence, path.name,
                                            f"rapporten har ändrats sedan den förseglades med {entry.path.name}",
                                            entry.sealed_at))
        return problems

    @staticmethod
    def _start(entries: list[Entry]) -> tuple[int, str]:
        """(first sequence, the hash it builds on): after the latest intact purge marker, else 1 on genesis."""
        markers = [e for e in entries if e.kind == "purge" and not e.problem]
        if not markers:
            return 1, GENESIS
        purge = max(markers, key=lambda e: e.sequence).record["purge"]
        return int(purge["purged_through_sequence"]) + 1, str(purge["last_purged_sha256"])

    # --- purging -------------------------------------------------------------------------------

    def purge(self, older_than_days: int, *, now: datetime | None = None,
              on_remove: Callable[[Entry], None] | None = None) -> int:
        """Remove the records sealed more than `older_than_days` ago, oldest first, and chain a purge
        marker that holds the last removed record's hash, so the rest still verifies.

        Only a prefix of the chain goes (it stops at the first newer record). `on_remove(entry)` is
        called for each removed decision record (to remove its report files). Returns how many went.
        """
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(days=older_than_days)
        with self.locked():
            entries = sorted(self.entries(), key=lambda e: e.sequence)
            first_sequence, _ = self._start(entries)
            old: list[Entry] = []
            for entry in entries:
                if entry.sequence < first_sequence:
                    continue
                when = entry.sealed_at
                if when is None or when >= cutoff:
                    break
                old.append(entry)
            if not old:
                return 0
            last = old[-1]
            marker = {
                "schema": SCHEMA_ID,
                "kind": "purge",
                "purge": {
                    "purged_through_sequence": last.sequence,
                    "last_purged_sha256": last.stored_hash,
                    "count": len(old),
                    "older_than_days": older_than_days,
                    "cutoff": cutoff.isoformat(),
                },
            }
            self._append_locked(marker, "purge", None, now)
            for entry in old:
                if on_remove is not None and entry.kind == "decision":
                    on_remove(entry)
                entry.path.unlink(missing_ok=True)
        return len(old)


def _problem(kind: str, entry: Entry, detail: str) -> Problem:
    return Problem(kind, entry.sequence, entry.path.name, detail, entry.sealed_at)
