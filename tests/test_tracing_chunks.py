"""Which browser contexts trace an item's try is kept on the contexts themselves (no module state):
each starts tracing once, a renewed context starts again, and only a recording context is stopped."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from bistand.bot import tracing
from bistand.settings import Settings


class FakeTracing:
    def __init__(self, calls: list[str], name: str) -> None:
        self.calls, self.name = calls, name

    async def start(self, **options) -> None:
        self.calls.append(f"{self.name}:start(snapshots={options['snapshots']})")

    async def start_chunk(self) -> None:
        self.calls.append(f"{self.name}:chunk")

    async def stop_chunk(self, path: str | None = None) -> None:
        self.calls.append(f"{self.name}:stop")


def context(calls: list[str], name: str) -> SimpleNamespace:
    made = SimpleNamespace()
    made.tracing = FakeTracing(calls, name)
    return made


def run_context(trace: str, contexts: dict[str, SimpleNamespace]) -> SimpleNamespace:
    return SimpleNamespace(settings=Settings(trace=trace),
                           pages=lambda: {system: SimpleNamespace(context=c) for system, c in contexts.items()})


def test_a_context_starts_tracing_once_then_records_a_chunk_per_try() -> None:
    calls: list[str] = []
    ctx = run_context("full", {"fk": context(calls, "fk")})
    asyncio.run(tracing.start_item_chunks(ctx))
    asyncio.run(tracing.discard_item_chunks(ctx))
    asyncio.run(tracing.start_item_chunks(ctx))
    asyncio.run(tracing.discard_item_chunks(ctx))
    asyncio.run(tracing.discard_item_chunks(ctx))
    assert calls == ["fk:start(snapshots=True)", "fk:stop", "fk:chunk", "fk:stop"]


def test_a_renewed_context_starts_again_and_a_context_that_was_not_recording_is_not_stopped() -> None:
    calls: list[str] = []
    contexts = {"fk": context(calls, "old")}
    ctx = run_context("retries", contexts)
    asyncio.run(tracing.start_item_chunks(ctx))
    contexts["fk"] = context(calls, "new")  # bistand.bot.recycle renewed the contexts between tries
    asyncio.run(tracing.discard_item_chunks(ctx))
    asyncio.run(tracing.start_item_chunks(ctx))
    assert calls == ["old:start(snapshots=False)", "new:start(snapshots=False)"]


def test_which_tries_are_traced_follows_the_setting() -> None:
    assert [tracing.wanted(attempt, "retries") for attempt in (1, 2)] == [False, True]
    assert [tracing.wanted(attempt, "off") for attempt in (1, 2)] == [False, False]
    assert [tracing.wanted(attempt, "always") for attempt in (1, 2)] == [True, True]
