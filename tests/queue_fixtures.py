"""The queue's backends for tests: SQLite in a temporary directory, and a fresh database in the
project's own PostgreSQL cluster (started by tools/postgres.sh, the script `make postgres` runs)."""

from __future__ import annotations

import subprocess
import time
import uuid

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
