"""Playwright traces for the tries that may end an item as a system (APPLICATION) failure.

A trace costs: recording one on every try nearly doubled the seconds per application. So by
default (`BISTAND_TRACE=retries`) the first try of an item runs untraced; after a system error
every further try is traced, and the trace of a failing try is saved next to the log. An item
that ends FAILED/APPLICATION therefore always leaves the trace of its last try.
`BISTAND_TRACE=always` traces every try, `full` also records DOM snapshots, `off` never traces.
Traces can hold personal data (URLs, page responses): they live under output/failures/ with the
reports, never in the log itself.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from playwright.async_api import Error as PlaywrightError

from bistand.bot.context import RunContext

_started: set[int] = set()
_active = False


def mode() -> str:
    return os.environ.get("BISTAND_TRACE", "retries")


def wanted(attempt: int) -> bool:
    """Should this try of an item be traced?"""
    return {"off": False, "retries": attempt > 1}.get(mode(), True)


def _contexts(ctx: RunContext) -> dict[str, object]:
    """Each browser context once, named after the systems that share it."""
    named: dict[int, tuple[list[str], object]] = {}
    for system, page in ctx.pages().items():
        named.setdefault(id(page.context), ([], page.context))[0].append(system)
    return {"-".join(systems): context for systems, context in named.values()}


async def start_item_chunks(ctx: RunContext) -> None:
    global _active
    for context in _contexts(ctx).values():
        tracing = context.tracing
        with contextlib.suppress(PlaywrightError):
            if id(context) not in _started:
                await tracing.start(snapshots=mode() == "full", screenshots=False, sources=False)
                _started.add(id(context))
            else:
                await tracing.start_chunk()
    _active = True


async def discard_item_chunks(ctx: RunContext) -> None:
    global _active
    if not _active:
        return
    for context in _contexts(ctx).values():
        with contextlib.suppress(PlaywrightError):
            await context.tracing.stop_chunk()
    _active = False


async def save_trace_chunks(ctx: RunContext, out: Path) -> list[Path]:
    global _active
    saved: list[Path] = []
    if not _active:
        return saved
    for name, context in _contexts(ctx).items():
        path = out / f"trace-{name}.zip"
        try:
            await context.tracing.stop_chunk(path=str(path))
            saved.append(path)
        except PlaywrightError:
            continue
    _active = False
    return saved
