"""Screenshot of the team lead's dashboard after a demo run, for the README.

`python tools/dashboard_screenshot.py [--out docs/img/dashboard.png]` (after `make run`)

Serves the dashboard over the queue `make run` left (state/demo-run/bot/queue.db, or
`BISTAND_QUEUE_URL`) and the output folder, logs in as the demo user in Chromium (Debian's
headless shell, launched as the bot launches it) and saves the whole page. Refuses to save when
the page holds an unmasked personnummer or a name of the demo world.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bistand.browser import choose_browser, launch_args  # noqa: E402
from bistand.core.personnummer import mask_personnummer_in_text  # noqa: E402
from bistand.dashboard.app import create_app  # noqa: E402
from bistand.dashboard.auth import load_users  # noqa: E402
from bistand.dashboard.server import BackgroundServer  # noqa: E402
from bistand.queue.store import open_configured_queue  # noqa: E402
from bistand.settings import load  # noqa: E402

DEMO_USER, DEMO_PASSWORD = "teamledare", "demo"  # noqa: S105 - the documented demo login


def personal_data_on(html: str, world: Path) -> list[str]:
    """Unmasked personnummer (the project's pattern) and the world's names found in the page."""
    found = ["a personnummer"] if mask_personnummer_in_text(html) != html else []
    data = json.loads(world.read_text(encoding="utf-8"))
    people = [m for h in data["households"] for m in h["members"]]
    people += data["registers"].get("skv", {}).get("population", [])
    for person in people:
        twelve = person["personnummer"].replace("-", "")
        ten = twelve[2:]
        spellings = {twelve, f"{twelve[:8]}-{twelve[8:]}", ten, f"{ten[:6]}-{ten[6:]}"}
        if any(re.search(rf"(?<!\d){re.escape(s)}(?!\d)", html) for s in spellings):
            found.append("a personnummer")
        name = f"{person['first_name']} {person['last_name']}"
        if name in html:
            found.append("a name")
    return sorted(set(found))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "dashboard.png")
    parser.add_argument("--world", type=Path, default=ROOT / "devdata" / "worlds" / "demo.json")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)
    env = {**os.environ, "BISTAND_DEMO": "1"}  # the demo's queue and its demo user (devdata/vault.json)
    if not env.get("BISTAND_QUEUE_URL"):
        env["BISTAND_STATE_DIR"] = str(ROOT / "state" / "demo-run" / "bot")
    store = open_configured_queue(env)
    if not sum(store.counts().values()):
        print(f"The queue {store.url} is empty: run `make run` first", file=sys.stderr)
        return 2
    app = create_app(store, load_users(env), load(environ=env).output_dir,
                     secure_cookie=False)  # plain HTTP on loopback
    from playwright.sync_api import sync_playwright

    _kind, executable = choose_browser(headless=True)
    try:
        with BackgroundServer(app) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(headless=True, executable_path=executable, args=launch_args())
            page = browser.new_page(viewport={"width": args.width, "height": 900}, device_scale_factor=1)
            page.goto(f"{server.url}/login")
            page.get_by_label("Användarnamn").fill(DEMO_USER)
            page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Logga in").click()
            page.get_by_role("heading", name="Arbetskön").wait_for()
            leaks = personal_data_on(page.content(), args.world)
            if leaks:
                print(f"Not saved: the page shows {', '.join(leaks)}", file=sys.stderr)
                return 1
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        store.close()
    print(f"Dashboard screenshot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
