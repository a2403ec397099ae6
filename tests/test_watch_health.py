"""The watcher's health check over HTTP on loopback: 200 while its run works, 503 when the last
run ended badly and the next waits, or when the run in hand shows no progress for too long."""

from __future__ import annotations

import os
import time

import httpx

from bistand.run.health_endpoint import HealthEndpoint
from bistand.run.watch import Watcher
from bistand.settings import load


class Running:
    """Stands in for the consumer run's process while it runs."""

    def poll(self):
        return None


def test_the_health_check_follows_the_watchers_runs(tmp_path):
    watcher = Watcher(load(environ={"BISTAND_RUNNER_ID": "watcher-1"}), seconds=2, rotate_items=100, rotate_minutes=60,
                      stale_seconds=30)
    endpoint = HealthEndpoint(watcher.health).start()
    try:
        answer = httpx.get(endpoint.url, timeout=5)
        assert (answer.status_code, answer.json()["status"]) == (200, "ok")  # starting: nothing wrong yet
        watcher.process, watcher.alive_file = Running(), tmp_path / "alive"
        watcher.alive_file.touch()
        assert httpx.get(endpoint.url, timeout=5).status_code == 200
        quiet = time.time() - 31
        os.utime(watcher.alive_file, (quiet, quiet))  # the run has shown nothing for 31 s
        answer = httpx.get(endpoint.url, timeout=5)
        assert answer.status_code == 503 and answer.json()["reason"].startswith("no progress for 31")
        watcher.process, watcher.last_run_healthy, watcher.last_run_code = None, False, 3  # stopped: back-off
        answer = httpx.get(endpoint.url, timeout=5)
        assert answer.status_code == 503 and answer.json()["last_run_code"] == 3
        watcher.last_run_healthy = True
        assert httpx.get(endpoint.url, timeout=5).status_code == 200
        assert httpx.get(endpoint.url.replace("/health", "/annat"), timeout=5).status_code == 404
        assert endpoint.url.startswith("http://127.0.0.1:")
    finally:
        endpoint.stop()
