"""The watcher's health check: `GET http://127.0.0.1:PORT/health` (`work --watch N --health-port PORT`).

200 with `{"status": "ok", …}` while the watcher's run works, 503 with `{"status": "failing",
"reason": …}` when it has stopped working (its last run ended badly and it waits to start the
next, or the run in hand has shown no progress for `--health-stale-seconds`). Loopback only, the
standard library's HTTP server on a thread of its own; no personal data, only counts and codes.
For a load balancer, a monitoring agent or a systemd timer that restarts the unit (docs/operations.md).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Check = Callable[[], tuple[bool, dict[str, object]]]


class HealthEndpoint:
    def __init__(self, check: Check, port: int = 0, host: str = "127.0.0.1") -> None:
        self.check = check

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                if self.path.split("?")[0] != "/health":
                    self.send_error(404)
                    return
                healthy, detail = check()
                body = json.dumps({"status": "ok" if healthy else "failing", **detail}).encode()
                self.send_response(200 if healthy else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:  # no access log on the console
                return None

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/health"

    def start(self) -> HealthEndpoint:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
