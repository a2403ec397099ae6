"""The dashboard served from a background thread (tests and tools/dashboard_screenshot.py)."""

from __future__ import annotations

import threading

import uvicorn
from fastapi import FastAPI


class _Server(uvicorn.Server):
    """uvicorn's server that says when it is listening (uvicorn only sets a flag)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.settled = threading.Event()
        """Set once it listens, or once its thread ends (it could not start)."""

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        self.settled.set()

    def run(self, sockets=None) -> None:
        try:
            super().run(sockets=sockets)
        finally:
            self.settled.set()


class BackgroundServer:
    """uvicorn on a free loopback port (port 0: the system picks one), in a daemon thread."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)
        self.host = host

    def start(self, timeout: float = 30) -> BackgroundServer:
        self.thread.start()
        if not self.server.settled.wait(timeout) or not self.server.started:
            raise RuntimeError("the dashboard did not start")
        return self

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
