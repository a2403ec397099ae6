"""Screenshots of the dashboard's *Robotar* and *Portalernas hälsa* after a real farm session, for docs/.

`python tools/farm_screenshots.py [--world devdata/worlds/demo.json] [--applications 12] [--out-dir docs/img]`

Starts the simulators (with their fault switch) on the first N applications of the demo world in a
state folder of its own (state/farm-shots/), queues the inbox, starts three runners (`work`, polling),
turns Försäkringskassan off for 60 s and kills the third runner with SIGKILL while it holds an item
(it falls silent; its item is taken over). The runners send their alerts to a local webhook
receiver of this tool. It saves `portals.png` while fk is down, and `runners.png` once every item
is done while the two other runners are still alive; then stops everything. Refuses to save a
page holding a personnummer or a name of the world (the same check as tools/dashboard_screenshot.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bistand.browser import choose_browser, launch_args  # noqa: E402
from bistand.dashboard.app import create_app  # noqa: E402
from bistand.dashboard.auth import load_users  # noqa: E402
from bistand.dashboard.server import BackgroundServer  # noqa: E402
from bistand.monitoring.health import system_health  # noqa: E402
from bistand.queue.store import open_queue  # noqa: E402
from bistand.settings import SYSTEMS  # noqa: E402
from tools.dashboard_screenshot import DEMO_PASSWORD, DEMO_USER, personal_data_on  # noqa: E402


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)  # poll the queue the runners write
    raise SystemExit(f"{what}: not within {timeout:.0f} s")


class Webhook(BaseHTTPRequestHandler):
    """Takes the runners' alerts (and keeps nothing)."""

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args) -> None:
        return None


def shoot(page, url: str, out: Path, world: Path) -> None:
    page.goto(url)
    leaks = personal_data_on(page.content(), world)
    if leaks:
        raise SystemExit(f"Not saved: {url} shows {', '.join(leaks)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out), full_page=True)
    print(f"Screenshot: {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, default=ROOT / "devdata" / "worlds" / "demo.json")
    parser.add_argument("--applications", type=int, default=12)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--base-port", type=int, default=8600)
    args = parser.parse_args(argv)
    state = ROOT / "state" / "farm-shots"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    world = json.loads(args.world.read_text(encoding="utf-8"))
    world["applications"] = world["applications"][:args.applications]
    kept = {a["application_id"] for a in world["applications"]}
    world["expected"] = {k: v for k, v in world.get("expected", {}).items() if k in kept}
    world_path = state / "world.json"
    world_path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    urls = {system: f"http://127.0.0.1:{args.base_port + i}" for i, system in enumerate(SYSTEMS)}
    sims = subprocess.Popen([sys.executable, "-m", "simulators", "--world", str(world_path), "--state-dir",
                             str(state / "sims"), "--base-port", str(args.base_port), "--reset", "--faults"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in sims.stdout:
        if line.strip() == "ready":
            break
    threading.Thread(target=sims.stdout.read, daemon=True).start()  # keep the pipe drained
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    env = {**os.environ, "BISTAND_DEMO": "1", "BISTAND_FRAMES_DIR": str(state / "sims" / "frames"),
           "BISTAND_STATE_DIR": str(state / "bot"), "BISTAND_OUTPUT_DIR": str(state / "output"),
           "BISTAND_LEASE_SECONDS": "10", "BISTAND_QUEUE_POLL_SECONDS": "2", "BISTAND_RETRY_DELAYS": "5,5,5,5",
           "BISTAND_MAX_FAILURES": "50", "BISTAND_MAX_CONSECUTIVE_ERRORS": "500", "BISTAND_ATTEMPTS": "2",
           "BISTAND_BACKOFF": "0.5", "BISTAND_BACKOFF_MAX": "1", "BISTAND_ALERT_EVERY_SECONDS": "2",
           "BISTAND_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{hook.server_address[1]}/larm",
           "BISTAND_ALERT_RULE_SYSTEM_DOWN_WINDOW_MINUTES": "1", "BISTAND_ALERT_RULE_NO_RUNNER_ENABLED": "false"}
    env.update({f"BISTAND_URL_{system.upper()}": url for system, url in urls.items()})
    runners: list[subprocess.Popen] = []
    store = None
    try:
        subprocess.run([sys.executable, "-m", "bistand", "produce"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        store = open_queue(f"sqlite:///{state / 'bot' / 'queue.db'}")
        for number in (1, 2, 3):
            runners.append(subprocess.Popen([sys.executable, "-m", "bistand", "work"], cwd=ROOT,
                                            env={**env, "BISTAND_RUNNER_ID": f"robot-{number}"},
                                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                            start_new_session=True))
        wait_until(lambda: store.counts()["done"] >= 2, 300, "the first items done")
        httpx.post(f"{urls['fk']}/_sim/faults", json={"outage_seconds": 60}, timeout=10).raise_for_status()
        wait_until(lambda: any(i.lease_owner == "robot-3" and i.updated_at > time.time() - 0.5  # just claimed
                               for i in store.items("in_progress")), 120, "robot-3 holds")
        os.killpg(runners[2].pid, signal.SIGKILL)
        app = create_app(store, load_users(env), state / "output", secure_cookie=False)
        from playwright.sync_api import sync_playwright

        _kind, executable = choose_browser(headless=True)
        with BackgroundServer(app) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(headless=True, executable_path=executable, args=launch_args())
            page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            page.goto(f"{server.url}/login")
            page.get_by_label("Användarnamn").fill(DEMO_USER)
            page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Logga in").click()
            page.wait_for_url(f"{server.url}/")
            wait_until(lambda: system_health(store, ("fk",), window_minutes=1, min_requests=3)[0].status == "failing",
                       120, "fk failing")
            shoot(page, f"{server.url}/portaler", args.out_dir / "portals.png", args.world)
            wait_until(lambda: store.counts()["done"] == args.applications, 900, "every item done")
            shoot(page, f"{server.url}/robotar", args.out_dir / "runners.png", args.world)
            browser.close()
        hook.shutdown()
    finally:
        for runner in runners:
            if runner.poll() is None:
                os.killpg(runner.pid, signal.SIGTERM)
                runner.wait(timeout=120)
        if store is not None:
            store.close()
        sims.send_signal(signal.SIGTERM)
        sims.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
