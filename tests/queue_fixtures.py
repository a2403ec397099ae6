"""The queue's backends for tests: SQLite in a temporary directory, a fresh database in the
project's own PostgreSQL cluster (started by tools/postgres.sh, the script `make postgres` runs),
and a private cluster for tests that restart or move PostgreSQL (`private_postgres`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from bistand.queue.store import open_queue
from tests.simulator_process import ROOT


def postgres_url() -> str:
    result = subprocess.run(["bash", str(ROOT / "tools" / "postgres.sh")], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("BISTAND_QUEUE_URL=postgresql://"), last
    return last.split("=", 1)[1]


@pytest.fixture(scope="session")
def postgres_server_url():
    return postgres_url()


@pytest.fixture
def postgres_database(postgres_server_url):
    """A database of its own for one test, dropped afterwards."""
    import psycopg

    name = f"bistand_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def queue_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    return request.getfixturevalue("postgres_database")


def wait_for_lease(url: str, owner: str, timeout: float = 300) -> str:
    """The application id `owner` holds a lease on, as soon as it holds one."""
    store = open_queue(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            held = [i.application_id for i in store.items("in_progress") if i.lease_owner == owner]
            if held:
                return held[0]
            time.sleep(0.05)  # poll the queue
    finally:
        store.close()
    raise AssertionError(f"{owner} never held a lease")


class PrivatePostgres:
    """A PostgreSQL cluster of one test's own (tools/postgres.sh with BISTAND_PG_DIR and its own
    port), so the test may restart or stop it without touching the shared cluster that other tests
    use at the same time. `host`, `netns` and `clients` put it on another address, inside a network
    namespace, open to a network (see tools/postgres.sh)."""

    def __init__(self, host: str = "127.0.0.1", netns: str | None = None, clients: str | None = None) -> None:
        import tempfile

        # Under /tmp itself: the `postgres` user cannot reach pytest's tmp_path (0700, root's).
        self.root = Path(tempfile.mkdtemp(prefix="bistand-pg-"))
        self.env = {**os.environ, "BISTAND_PG_DIR": str(self.root), "BISTAND_PG_HOST": host}
        if netns:
            self.env["BISTAND_PG_NETNS"] = netns
        if clients:
            self.env["BISTAND_PG_CLIENTS"] = clients
        self.url = ""

    def _script(self, action: str) -> str:
        result = subprocess.run(["bash", str(ROOT / "tools" / "postgres.sh"), action], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"tools/postgres.sh {action}: {result.stderr[-2000:]}"
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""

    def start(self) -> PrivatePostgres:
        last = self._script("start")
        assert last.startswith("BISTAND_QUEUE_URL=postgresql://"), last
        self.url = last.split("=", 1)[1]
        return self

    def restart(self) -> float:
        """Fast stop and start (`pg_ctl -m fast`): every connection drops. Returns the seconds it took."""
        started = time.monotonic()
        assert self._script("restart") == f"BISTAND_QUEUE_URL={self.url}"  # same address, same port
        return time.monotonic() - started

    def remove(self) -> None:
        """Stops the cluster and deletes its files."""
        try:
            self._script("stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres():
    """A started private cluster (database `bistand`) for one test; stopped and removed afterwards."""
    cluster = PrivatePostgres()
    try:
        yield cluster.start()
    finally:
        cluster.remove()


def wait_until_each_holds(url: str, owners: list[str], timeout: float = 300) -> dict[str, str]:
    """Owner → an application id it holds, as soon as every one of `owners` holds a lease at once."""
    store = open_queue(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            held = {i.lease_owner: i.application_id for i in store.items("in_progress")}
            if all(owner in held for owner in owners):
                return {owner: held[owner] for owner in owners}
            time.sleep(0.05)  # poll the queue
    finally:
        store.close()
    raise AssertionError(f"{', '.join(owners)} never held leases at the same time")
