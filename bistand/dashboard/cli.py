"""`python -m bistand dashboard [--port 8480] [--host 127.0.0.1] [--demo]` and
`python -m bistand dashboard hash-password`: serve the team lead's dashboard (docs/dashboard.md).

The queue is `BISTAND_QUEUE_URL` (as for `work` and `queue status`); `--demo` reads the queue
`make run` left in state/demo-run/bot/ unless a queue URL is set. Users: bistand.dashboard.auth.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import logging
import sys
import threading

from bistand.core.personnummer import MaskingLogFilter
from bistand.dashboard.auth import LiveUsers, NoUsers, hash_password
from bistand.monitoring.presence import evaluator_for
from bistand.queue.store import open_configured_queue
from bistand.run.exit_codes import ExitCode
from bistand.settings import ROOT, QueueSettings, Settings, load_or_exit


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(args: argparse.Namespace, settings: Settings) -> int:
    # deferred: FastAPI, uvicorn and matplotlib load only to serve (not for hash-password, not for
    # `python -m bistand` building its command tree)
    import uvicorn

    from bistand.dashboard.app import create_app

    try:
        users = LiveUsers(settings)
    except NoUsers as exc:
        print(f"Not started: {exc}", file=sys.stderr, flush=True)
        return ExitCode.USAGE
    try:
        store = open_configured_queue(settings.queue)
    except ValueError as exc:
        print(f"Not started: {exc}", file=sys.stderr, flush=True)
        return ExitCode.USAGE
    output_dir = settings.output_dir
    tls = bool(args.tls_cert and args.tls_key)
    behind_proxy = settings.dashboard.behind_https_proxy
    if not (tls or behind_proxy or is_loopback(args.host)):
        print(f"Not started: plain HTTP on {args.host} would send the session cookie unencrypted; give --tls-cert "
              "and --tls-key, or set BISTAND_DASHBOARD_BEHIND_HTTPS_PROXY=1 behind an HTTPS reverse proxy, "
              "or listen on 127.0.0.1 (docs/dashboard.md)", file=sys.stderr, flush=True)
        store.close()
        return ExitCode.USAGE
    secure = tls or behind_proxy
    alerts = settings.alerts
    token = settings.metrics.token.get_secret_value()
    app = create_app(store, users, output_dir, secure_cookie=secure, alerts=alerts,
                     metrics_token=token)  # open_queue migrated the session tables
    evaluating = start_alert_evaluation(settings.queue, alerts) if alerts.enabled and alerts.can_send and \
        not args.no_alerts else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskingLogFilter())
    print(f"Dashboard on {'https' if tls else 'http'}://{args.host}:{args.port}/ (queue {store.url.split('@')[-1]}, "
          f"{len(users)} user{'s' if len(users) != 1 else ''})", flush=True)
    print("Session cookies are Secure (HTTPS only)" if secure else
          "Plain HTTP on loopback only: session cookies without Secure (this machine only)", flush=True)
    print(f"/metrics: {'bearer token required' if token else 'off (set BISTAND_METRICS_TOKEN)'}; alerts: "
          f"{'evaluated here too' if evaluating else 'not evaluated here'}", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                    ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key,
                    proxy_headers=behind_proxy, forwarded_allow_ips=settings.dashboard.proxy_ips)
    finally:
        if evaluating is not None:
            evaluating.set()
        store.close()
    return ExitCode.OK


def start_alert_evaluation(queue: QueueSettings, alerts):
    """The alerts evaluated from a thread of the dashboard's own, on a connection of its own; returns
    the event that stops it. Several dashboards and runners may evaluate: one alert per incident."""
    stop = threading.Event()

    def evaluate() -> None:
        store = open_configured_queue(queue)
        evaluator = evaluator_for(store, alerts, name="dashboard")
        try:
            while not stop.wait(alerts.evaluate_every_seconds):
                try:
                    evaluator.evaluate()
                except Exception as exc:  # noqa: BLE001 - the next round tries again
                    logging.getLogger("bistand.dashboard").warning("alerts not evaluated: %s", type(exc).__name__)
        finally:
            store.close()

    threading.Thread(target=evaluate, name="alerts", daemon=True).start()
    return stop


def hash_password_command() -> int:
    password = getpass.getpass("Lösenord: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if not password:
        print("empty password", file=sys.stderr)
        return ExitCode.USAGE
    print(hash_password(password))
    return ExitCode.OK


def register(commands: argparse._SubParsersAction) -> None:
    """`dashboard [hash-password]` in `python -m bistand`'s command tree."""
    parser = commands.add_parser("dashboard", help="the team lead's dashboard over the queue "
                                                   "[--port 8480] [--host 127.0.0.1] [--demo]",
                                 description="The team lead's dashboard over the work queue.")
    parser.add_argument("--port", type=int, default=8480, help="default 8480")
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    parser.add_argument("--tls-cert", default=None, help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", default=None, help="the certificate's private key (PEM)")
    parser.add_argument("--demo", action="store_true", help="the queue of the last `make run` (state/demo-run/bot)")
    parser.add_argument("--no-alerts", action="store_true", help="do not evaluate the alert rules in this process")
    parser.add_argument("command", nargs="?", choices=["hash-password"],
                        help="hash-password: print a password hash for the users file or the vault")
    parser.set_defaults(handler=dashboard)


def dashboard(args: argparse.Namespace) -> int:
    if args.command == "hash-password":
        return hash_password_command()
    # --demo: the demo's users (devdata/vault.json) are allowed for the demo only; the queue of the
    # last `make run` unless one is configured (its default lies in the state folder)
    demo = {"demo": True, "state_dir": ROOT / "state" / "demo-run" / "bot"} if args.demo else {}
    return serve(args, load_or_exit(**demo))
