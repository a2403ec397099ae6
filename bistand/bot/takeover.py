"""Writes that cannot cross a lease: cut off when the lease is no longer held, and, on an item taken
over from a runner that never released it, looked for again after that runner's writes had time to land.

The lease check before a write (`ItemWork.confirm_lease`) cannot stop a write already sent. A runner
cut off from the network (or frozen) with a post on its way loses the item when its lease runs out,
and the post may still reach the case-management system afterwards (from the TCP retransmission
queue, or from a system slow to save it): the runner that took the item over must not write the same
thing again. So:

- the holder's write is cut off (its tab closed, its requests aborted) as soon as its lease is no
  longer surely held (`within_lease`): nothing of it is sent after that;
- the runner that takes the item over waits until `settle_until` (the claim plus
  `queue.settle_seconds`) and reads the case again before its first write (`settle_after_takeover`);
- after each write to a taken-over item it reads the case once more, and an application that the
  system holds twice (a write later than the wait) stops there: WRITE_CONFLICT parks the item for a
  person, with nothing more written (`refuse_written_twice`). A duplicate is never silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bistand.bot.context import ItemWork, RunContext
from bistand.core.errors import ApplicationError
from bistand.pages.base import TransientError
from bistand.pages.casemgmt import CaseOverview

LOG = logging.getLogger(__name__)
T = TypeVar("T")

WRITE_KINDS = {"application_ids": "registration", "decision_basis_ids": "decision basis",
               "decision_ids": "decision", "payment_ids": "payment order"}


async def within_lease(work: ItemWork, write: Callable[[], Awaitable[T]]) -> T:
    """The write, after confirming the item's lease (a runner whose lease was lost writes nothing),
    cut off when the lease is no longer surely held (the heartbeat keeps extending it meanwhile).

    Cut off, the write's tab is closed (`PortalPage.release` on cancellation), and the error is
    transient: the next try confirms the lease again and first looks whether the write landed."""
    await asyncio.to_thread(work.confirm_lease)
    task = asyncio.ensure_future(write())
    try:
        while (left := work.lease_valid_until() - time.monotonic()) > 0:
            done, _ = await asyncio.wait({task}, timeout=None if math.isinf(left) else left)
            if done:
                return task.result()
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task  # its tab is closed on the way out
    LOG.warning("%s: write cut off: the lease was no longer confirmed", work.application_id)
    raise TransientError("LEASE_UNCONFIRMED",
                         f"{work.application_id}: write cut off because the lease was no longer confirmed")


async def settle_after_takeover(ctx: RunContext, work: ItemWork) -> None:
    """For an item taken over from a runner that never released it: wait until `settle_until`,
    then read the case again, so the writes see what that runner's last writes left. Once per item."""
    if work.settle_until <= 0 or work.settled:
        return
    wait = work.settle_until - time.monotonic()
    if wait > 0:
        LOG.info("%s was taken over from a runner that never released it: waiting %.1f s for its writes to land",
                 work.application_id, wait)
        await asyncio.sleep(wait)
    work.settled = True
    await check_after_takeover_write(ctx, work)


async def check_after_takeover_write(ctx: RunContext, work: ItemWork) -> None:
    """On a taken-over item (after the wait, and after each write): the case read again, and
    WRITE_CONFLICT when the application is now held twice (an earlier holder's write landed late)."""
    if work.settle_until <= 0:
        return
    casemgmt = await ctx.page("casemgmt")
    work.overview = await casemgmt.open_case(work.case_number)
    refuse_written_twice(work.overview, work.application_id)


def refuse_written_twice(overview: CaseOverview, application_id: str) -> None:
    """ApplicationError WRITE_CONFLICT (the item is parked at once, nothing more is written) when
    the case-management system holds a registration, decision basis, decision or payment order of
    the application more than once. The message names the application and the kinds, nothing else."""
    twice = overview.written_twice(application_id)
    if twice:
        kinds = ", ".join(WRITE_KINDS.get(kind, kind) for kind in twice)
        LOG.error("%s: the case-management system holds it twice (%s): parked for a caseworker", application_id, kinds)
        raise ApplicationError("WRITE_CONFLICT",
                               f"{application_id}: the case-management system holds more than one {kinds}")
