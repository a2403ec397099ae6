"""What grows in a long run, one cause at a time (README, Performance, "Long runs").

    python tools/memory_causes.py [--uses 200]

Starts the bot's own browser (bistand.browser, the same switches) against a small local form page
and measures the PSS of this process tree by kind (bistand.bench.processes) after each of:
`--uses` page loads and form posts in one tab that is never closed, the same in tabs renewed every
20 uses (bistand.pages.base TAB_USES), `--uses` PDFs on one page, ten times `--uses` reads through
the context's request API (each response disposed), and finally after closing and renewing the
contexts. No simulators and no personal data: the page is a form with 300 paragraphs.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import threading

from bistand.bench.processes import Sampler
from bistand.browser import BrowserSession
from bistand.pages.base import TAB_USES
from bistand.report import pdf

FORM = ("<html><body><form method=post action=/sparad><label for=a>Belopp</label><input id=a name=a>"
        "<button>Spara</button></form>" + "<p>Rad</p>" * 300 + "</body></html>").encode()
REPORT = "<html><body><h1>Rapport</h1>" + "<table>" + "<tr><td>Post</td><td>1 000 kr</td></tr>" * 200 + "</table>"


class FormPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(FORM)))
        self.end_headers()
        self.wfile.write(FORM)

    do_POST = do_GET

    def log_message(self, *_args) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uses", type=int, default=200)
    uses = parser.parse_args().uses
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FormPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    sampler = Sampler(os.getpid())

    def show(label: str) -> None:
        print(f"{label:<48} {json.dumps(sampler.sample(label).as_mib())}", flush=True)

    with BrowserSession(headless=True) as session:
        async def form_posts(renew_every: int):
            context = await session.context(f"tabs-{renew_every}")
            page = await context.new_page()
            for use in range(uses):
                if renew_every and use and use % renew_every == 0:
                    await page.close()
                    page = await context.new_page()
                await page.goto(url)
                async with page.expect_navigation():
                    await page.get_by_role("button", name="Spara").click()
            return page

        async def prints() -> None:
            for _ in range(uses):
                await pdf._print(session, REPORT)

        async def reads() -> None:
            context = await session.context("reads")
            for _ in range(10 * uses):
                response = await context.request.get(url)
                await response.text()
                await response.dispose()

        async def renew() -> None:
            for name in list(session.contexts):
                await session.reset_context(name)
            page = await (await session.context("fresh")).new_page()
            await page.goto(url)

        show("start (browser up, no tab)")
        tab = session.run(form_posts(0), timeout=1800)
        show(f"{uses} loads + posts in one tab")
        session.run(tab.close())
        show("that tab closed")
        tab = session.run(form_posts(TAB_USES), timeout=1800)
        show(f"{uses} loads + posts, a new tab every {TAB_USES}")
        session.run(tab.close())
        session.run(prints(), timeout=1800)
        show(f"{uses} PDFs (a new page every {pdf.PRINTS_PER_PAGE})")
        session.run(reads(), timeout=1800)
        show(f"{10 * uses} request-API reads, disposed")
        session.run(renew(), timeout=120)
        show("contexts closed and renewed")
    server.shutdown()


if __name__ == "__main__":
    main()
