"""Playwright traces for the tries that may end an item as a system (APPLICATION) failure.

A trace costs: recording one on every try nearly doubled the seconds per application. So by
default (setting `trace`, `BISTAND_TRACE=retries`) the first try of an item runs untraced; after a system error
every further try is traced, and the trace of a failing try is saved next to the log. An item
that ends FAILED/APPLICATION therefore always leaves the trace of its last try.
`BISTAND_TRACE=always` traces every try, `full` also records DOM snapshots, `off` never traces.

A trace is scrubbed before it is kept (`scrub_trace`): what a page showed or the bot typed is
personal data (personnummer in `fill` values and URLs, names in page responses, snapshots, log
and console messages, error messages and selectors), and output/failures/ is not the caseworker's
report. Kept (an allow-list): the timeline of actions (API names, call ids, event types), their
timings and numbers, error names, and URLs with their query's names but not its values,
personnummer masked. Every other
string is replaced; page snapshots and response bodies (resources/) are dropped. A trace that
cannot be scrubbed is deleted rather than kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from playwright.async_api import Error as PlaywrightError

from bistand.bot.context import RunContext
from bistand.core.personnummer import mask_personnummer_in_text

STARTED = "bistand_tracing_started"
"""Set on a browser context once its tracing has started (a recycled context is a new object)."""
IN_CHUNK = "bistand_tracing_in_chunk"
"""Set on a browser context while it records the chunk of the item in hand."""


def wanted(attempt: int, mode: str) -> bool:
    """Should this try of an item be traced? `mode` is the setting `trace` (BISTAND_TRACE)."""
    return {"off": False, "retries": attempt > 1}.get(mode, True)


def _contexts(ctx: RunContext) -> dict[str, object]:
    """Each browser context once, named after the systems that share it."""
    named: dict[int, tuple[list[str], object]] = {}
    for system, page in ctx.pages().items():
        named.setdefault(id(page.context), ([], page.context))[0].append(system)
    return {"-".join(systems): context for systems, context in named.values()}


async def start_item_chunks(ctx: RunContext) -> None:
    """Each browser context records a chunk for this try (whether it does lives on the context)."""
    for context in _contexts(ctx).values():
        tracing = context.tracing
        with contextlib.suppress(PlaywrightError):
            if not getattr(context, STARTED, False):
                await tracing.start(snapshots=ctx.settings.trace == "full", screenshots=False, sources=False)
                setattr(context, STARTED, True)
            else:
                await tracing.start_chunk()
            setattr(context, IN_CHUNK, True)


def _recording(ctx: RunContext) -> dict[str, object]:
    return {name: context for name, context in _contexts(ctx).items() if getattr(context, IN_CHUNK, False)}


async def discard_item_chunks(ctx: RunContext) -> None:
    for context in _recording(ctx).values():
        setattr(context, IN_CHUNK, False)
        with contextlib.suppress(PlaywrightError):
            await context.tracing.stop_chunk()


async def save_trace_chunks(ctx: RunContext, out: Path) -> list[Path]:
    saved: list[Path] = []
    for name, context in _recording(ctx).items():
        setattr(context, IN_CHUNK, False)
        path = out / f"trace-{name}.zip"
        try:
            await context.tracing.stop_chunk(path=str(path))
        except PlaywrightError:
            continue
        try:
            scrub_trace(path)
        except Exception:  # noqa: BLE001 - an unscrubbed trace must never stay on disk
            path.unlink(missing_ok=True)
            continue
        saved.append(path)
    return saved


# --- scrubbing a trace before it is kept -------------------------------------------------------

MASKED = "[personnummer]"
REDACTED = "[borttaget]"
DROPPED_EVENTS = {"frame-snapshot", "screencast-frame"}
"""Page snapshots (the DOM as shown: names, amounts) and screencast images."""
STRUCTURAL_KEYS = {
    "type", "callId", "apiName", "class", "method", "pageId", "stepId", "parentId", "browserName", "platform",
    "sdkLanguage", "version", "messageType", "contextId", "frameId", "guid", "channel", "origin", "level",
    "requestId", "resourceType", "httpVersion", "mimeType", "_frameref", "_monotonicTime", "wallTime",
}
"""Keys whose string values are the trace's own vocabulary (ids, API names, event types), kept when
they look like an identifier. Every other string is free text from a page or from the bot (log and
console messages, error messages, selectors with the visible text they match, titles, typed values,
response bodies): replaced by REDACTED. URLs keep scheme, host and path (personnummer masked)
and the names of their query parameters, never the values."""
_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:@/+-]{0,100}")


def _safe_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    path = mask_personnummer_in_text(unquote(parts.path))
    kept = f"{parts.scheme}://{parts.netloc}{path}" if parts.scheme else path
    if not parts.query:
        return kept
    names = [name if _IDENTIFIER.fullmatch(name) else REDACTED
             for name, _value in parse_qsl(parts.query, keep_blank_values=True)]
    return kept + "?" + "&".join(f"{name}={REDACTED}" for name in names or [REDACTED])


def _scrub(value: Any, key: str = "", parent: str = "") -> Any:
    if isinstance(value, str):
        if key == "url":
            return _safe_url(value)
        if (key in STRUCTURAL_KEYS or (key == "name" and parent == "error")) and _IDENTIFIER.fullmatch(value):
            return mask_personnummer_in_text(value)
        return REDACTED if value else value
    if isinstance(value, list):
        return [_scrub(item, key, parent) for item in value]
    if isinstance(value, dict):
        return {name: _scrub(item, name, key) for name, item in value.items()}
    return value


def _scrub_json_lines(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        if isinstance(event, dict) and event.get("type") in DROPPED_EVENTS:
            continue
        lines.append(json.dumps(_scrub(event), ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def scrub_trace(path: Path) -> None:
    """Rewrite a Playwright trace zip in place without personal data (see the module docstring).

    Event files (`*.trace`, `*.network`, `*.stacks`) are rewritten event by event; every other
    entry (response bodies, snapshot resources, images) is dropped.
    """
    scrubbed = path.with_name(path.name + ".scrubbing")
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(scrubbed, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in source.infolist():
                if entry.is_dir() or not entry.filename.endswith((".trace", ".network", ".stacks")):
                    continue
                text = source.read(entry).decode("utf-8")
                if entry.filename.endswith(".stacks"):
                    target.writestr(entry.filename, json.dumps(_scrub(json.loads(text)), ensure_ascii=False))
                else:
                    target.writestr(entry.filename, _scrub_json_lines(text))
        os.replace(scrubbed, path)
    finally:
        scrubbed.unlink(missing_ok=True)
