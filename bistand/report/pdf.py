"""Print the HTML report to PDF with Chromium: the only report module that touches the browser.

The bot passes its own `BrowserSession`; the reports share one browser context ("report") and one
page in it, so printing many reports costs one `set_content` + `pdf` each.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from weakref import WeakKeyDictionary

from playwright.async_api import BrowserContext, Page

from bistand.browser import BrowserSession

REPORT_CONTEXT = "report"
PDF_OPTIONS = {
    "format": "A4",
    "print_background": True,
    "prefer_css_page_size": True,
    "margin": {"top": "10mm", "bottom": "11mm", "left": "12mm", "right": "12mm"},
    "tagged": True,
    "outline": True,
}
"""`tagged`: Chromium writes the structure tree (headings, tables, lists) for screen readers
(PDF/UA-style tagging); `outline`: bookmarks from the report's headings."""

PRINTS_PER_PAGE = 20
"""The report page is closed after this many PDFs and a new one opened: the Playwright driver keeps
what each `set_content` and `pdf` of a page did until the page closes (README, Performance)."""

_locks: WeakKeyDictionary[BrowserContext, asyncio.Lock] = WeakKeyDictionary()
_prints: WeakKeyDictionary[Page, int] = WeakKeyDictionary()


async def _report_page(session: BrowserSession) -> tuple[BrowserContext, asyncio.Lock]:
    """The context reports are printed in, created on first use (JavaScript off: nothing to run)."""
    context = await session.context(REPORT_CONTEXT, java_script_enabled=False)
    return context, _locks.setdefault(context, asyncio.Lock())


async def _print(session: BrowserSession, html: str) -> bytes:
    context, lock = await _report_page(session)
    async with lock:  # one page: reports printed from several threads must take turns
        page = next((p for p in context.pages if not p.is_closed()), None) or await context.new_page()
        await page.set_content(html, wait_until="load")
        await page.emulate_media(media="print")
        data = await page.pdf(**PDF_OPTIONS)
        _prints[page] = _prints.get(page, 0) + 1
        if _prints[page] >= PRINTS_PER_PAGE:
            await page.close()
        return data


async def write_pdf(html: str, out_path: Path, session: BrowserSession) -> Path:
    """`render_pdf` for code already on the session's loop (an application prepared in flight)."""
    data = await _print(session, html)
    out_path = Path(out_path)
    await asyncio.to_thread(_write_bytes, out_path, data)
    return out_path


def _write_bytes(path: Path, data: bytes) -> None:
    """The PDF holds what the report holds: owner-only, like the text and HTML (and the records)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def render_pdf(html: str, out_path: Path, session: BrowserSession | None = None) -> Path:
    """Write the report's PDF to `out_path`; starts (and stops) a browser only when none is given."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if session is None:
        with BrowserSession(headless=True) as own:
            data = own.run(_print(own, html))
    else:
        data = session.run(_print(session, html))
    _write_bytes(out_path, data)
    return out_path


async def _screenshot(session: BrowserSession, html: str, width: int) -> bytes:
    context = await session.context(f"{REPORT_CONTEXT}-screen", java_script_enabled=False,
                                    viewport={"width": width, "height": 900}, device_scale_factor=1)
    page = context.pages[0] if context.pages else await context.new_page()
    await page.set_content(html, wait_until="load")
    return await page.screenshot(full_page=True, type="png")


def render_png(html: str, out_path: Path, session: BrowserSession | None = None, width: int = 900) -> Path:
    """The report as the screen shows it (for the documentation's screenshots)."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if session is None:
        with BrowserSession(headless=True) as own:
            data = own.run(_screenshot(own, html, width))
    else:
        data = session.run(_screenshot(session, html, width))
    out_path.write_bytes(data)
    return out_path
