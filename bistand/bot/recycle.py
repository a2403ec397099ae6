"""When a long run renews its browser contexts: every N items, or when its memory passes a limit.

Playwright keeps each context's requests and responses (in its driver and in this process) until
the context closes, and Chromium's renderers keep what a context's tabs built, so a batch of
thousands of applications in one context grows by megabytes per application. Playwright's own
advice is to recycle a context that lives long; the run control does it between items, when
nothing is in flight, with the logins carried over (bistand.bot.context `recycle_contexts`).
README, Performance, has what it saves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

MIN_ITEMS_BETWEEN_MEMORY_RECYCLES = 5
"""A memory limit set below what a fresh context needs would otherwise renew them after every item."""


@dataclass(frozen=True)
class RecyclePolicy:
    """`every_items` (0: never by count) and `limit_mib` (0: never by memory, the PSS of this
    process and its children: Robot Framework, the Playwright driver and Chromium)."""

    every_items: int = 0
    limit_mib: int = 0

    @property
    def measures_memory(self) -> bool:
        return self.limit_mib > 0

    def reason(self, items_since: int, pss_mib: float | None = None) -> str:
        """Why the contexts are due for renewal after `items_since` items in them ('' if not)."""
        if self.every_items and items_since >= self.every_items:
            return f"{items_since} items"
        if (self.limit_mib and pss_mib is not None and pss_mib > self.limit_mib
                and items_since >= MIN_ITEMS_BETWEEN_MEMORY_RECYCLES):
            return f"{pss_mib:.0f} MiB > {self.limit_mib} MiB"
        return ""


def tree_pss_mib(pid: int | None = None) -> float:
    """Proportional set size of a process and all its descendants, MiB (shared pages split)."""
    root = psutil.Process(pid or os.getpid())
    total = 0
    for process in (root, *root.children(recursive=True)):
        try:
            total += process.memory_full_info().pss
        except psutil.Error:
            continue  # it ended meanwhile
    return total / 2**20
