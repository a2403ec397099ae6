"""The bot's side of the dashboard: one masked outcome per finished item, into the queue's store.

Called once from the consumer's `Finish Item` (bistand/bot/keywords/run_control.py), with the
queue's store the run core gave the run control (none under another work-item adapter: a replay or
Control Room's own queue, where nothing is recorded). Recording is
bookkeeping for the team lead, never part of the work: any error here is logged and ignored,
so an item is never failed or held up by it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bistand.bot.casework import decided_by_bot
from bistand.queue.store import DecidedBy, ItemOutcome, QueueStore
from bistand.settings import Settings

LOG = logging.getLogger(__name__)


def decided_by(outcome: str, mode: Any, work: Any) -> DecidedBy:
    """`robot` when the bot decided the application itself (automated mode, bistand.bot.casework
    `decided_by_bot`), `caseworker` when it is a caseworker's to decide (a proposal, or bad data),
    '' when nothing is decided yet (a system error: the queue tries again or parks it)."""
    if outcome == "BUSINESS":
        return "caseworker"
    if outcome != "DONE":
        return ""
    if work.bundle is not None and work.assessment is not None and decided_by_bot(mode, work.bundle, work.assessment):
        return "robot"
    return "caseworker"


def outcome_of(result: Any, work: Any, mode: Any, runner: str, run_dir: str) -> ItemOutcome:
    """The masked outcome from the run summary's `ItemResult` (codes, proposal, seconds, attempts)."""
    return ItemOutcome(
        application_id=result.application_id, outcome=result.outcome, code=result.code,
        proposal=result.proposal, findings=list(result.findings),
        decided_by=decided_by(result.outcome, mode, work), mode=str(getattr(mode, "value", mode) or ""),
        attempts=result.attempts, runner=runner, run_dir=run_dir, seconds=round(float(result.seconds), 3),
    )


def relative_run_dir(run_dir: Path, output_dir: Path) -> str:
    """runs/<UTC time>-<runner> (relative to the output folder), '' when it lies elsewhere."""
    run_dir, output_dir = Path(run_dir).resolve(), Path(output_dir).resolve()
    return run_dir.relative_to(output_dir).as_posix() if run_dir.is_relative_to(output_dir) else ""


def record_outcome(result: Any, work: Any, settings: Settings, run_dir: Path, store: QueueStore | None) -> None:
    """Records one finished item for the dashboard; never raises (an error is logged and ignored)."""
    if store is None:
        return
    try:
        store.record_outcome(outcome_of(result, work, settings.mode, settings.runner_id,
                                        relative_run_dir(run_dir, settings.output_dir)))
    except Exception as exc:  # noqa: BLE001 - bookkeeping must never fail the item
        LOG.warning("outcome of %s not recorded for the dashboard: %s", getattr(result, "application_id", "?"),
                    type(exc).__name__)
