"""Playwright traces per work item: recorded in chunks, kept only when an item hits a system error.

Traces hold page snapshots (so personal data) and live under output/failures/ like the reports,
never in the log itself. Set BISTAND_TRACE=off to skip tracing entirely.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from playwright.async_api import Error as PlaywrightError

from bistand.bot.context import RunContext

_started: set[int] = set()


def enabled() -> bool:
    return os.environ.get("BISTAND_TRACE", "on-failure") != "off"


def _contexts(ctx: RunContext) -> dict[str, object]:
    """Each browser context once, named after the systems that share it."""
    named: dict[int, tuple[list[str], object]] = {}
    for system, page in ctx.pages().items():
        named.setdefault(id(page.context), ([], page.context))[0].append(system)
    return {"-".join(systems): context for systems, context in named.values()}


async def start_item_chunks(ctx: RunContext) -> None:
    if not enabled():
        return
    for context in _contexts(ctx).values():
        tracing = context.tracing
        with contextlib.suppress(PlaywrightError):
            if id(context) not in _started:
                await tracing.start(snapshots=True, screenshots=False, sources=False)
                _started.add(id(context))
            else:
                await tracing.start_chunk()


async def discard_item_chunks(ctx: RunContext) -> None:
    if not enabled():
        return
    for context in _contexts(ctx).values():
        with contextlib.suppress(PlaywrightError):
            await context.tracing.stop_chunk()


async def save_trace_chunks(ctx: RunContext, out: Path) -> list[Path]:
    saved: list[Path] = []
    if not enabled():
        return saved
    for name, context in _contexts(ctx).items():
        path = out / f"trace-{name}.zip"
        try:
            await context.tracing.stop_chunk(path=str(path))
            saved.append(path)
        except PlaywrightError:
            continue
    return saved
