"""The steps of preparing one application, as coroutines on the browser loop, and running them
ahead of the task suite (several applications in flight per runner, issue 10 part 6).

The consumer suite names the steps (`Read Case From All Systems`, `Assess Case`, ...) and each
keyword runs its step through `InFlight.run_step` (the keyword library builds one `InFlight` over
the run context and gives it to the components that run steps or take items ahead). While the
suite works on one application, the runner has already taken the next ones from the queue and
`prepare_ahead` runs their steps in the background, in order, on the same browser; when the suite
reaches such an application, each keyword waits for its step's result instead of running it again.
A step that failed ahead raises in its keyword exactly as if it had run there, so retries, back-off
and the release to the queue stay in the suite. A retry always runs in the suite, one step at a time.

Steps never log through Robot Framework (it drops messages from other threads): the keywords
log once their step is done. The writes are the same idempotent writes either way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Awaitable, Callable

from robot.api import logger

from bistand.bot import casework
from bistand.bot.context import ItemWork, RunContext
from bistand.bot.takeover import check_after_takeover_write, settle_after_takeover, within_lease
from bistand.core.engine import assess
from bistand.core.errors import BusinessError
from bistand.core.models import Role
from bistand.pages.base import write_safely
from bistand.pages.casemgmt import ApplicationRegistration
from bistand.records.writer import report_paths, write_report_and_record
from bistand.report.pdf import write_pdf

WAITING_STATUS = "Väntar på handläggare"
STEPS = ("read", "assess", "report", "register", "write")
"""The order of `Prepare Application For Decision` in tasks/consumer.robot."""


async def read_step(ctx: RunContext, work: ItemWork) -> None:
    """E-service form and attachments, every agency register for every member, the frame and the
    case, read concurrently; the result is the case bundle."""
    try:
        bundle, overview = await casework.read_bundle(ctx, work.application_id, work.case_number,
                                                      reads=work.reads)
    except BusinessError as exc:
        if exc.code != "CASE_NOT_FOUND":
            raise
        await hand_over_without_case(ctx, work)
    if bundle.application.period != work.period:
        raise BusinessError("PERIOD_MISMATCH", f"{work.application_id}: period differs from the work item")
    work.bundle, work.overview = bundle, overview


async def hand_over_without_case(ctx: RunContext, work: ItemWork) -> None:
    """The case-management system has no case for the application's case number: look the
    applicant up by personnummer; with no case at all the application waits for a caseworker in
    the e-service (FAILED BUSINESS NO_CASE)."""
    eservice = await ctx.page("eservice")
    form = await eservice.read_application(work.application_id)
    applicant = next(m for m in form.members if m.role is Role.APPLICANT)
    found = await (await ctx.page("casemgmt")).find_case_by_personnummer(applicant.personnummer)
    if found is not None:
        raise BusinessError("CASE_MISMATCH", f"{work.application_id}: the applicant's case is {found}, "
                                             f"the e-service says {work.case_number}")
    await eservice.set_status(work.application_id, WAITING_STATUS)
    raise BusinessError("NO_CASE", f"{work.application_id}: the applicant has no case in the case-management "
                                   "system; the e-service shows the application as waiting for a caseworker")


async def assess_step(ctx: RunContext, work: ItemWork) -> None:
    """The rules (pure Python, about a millisecond) in the configured mode."""
    work.assessment = assess(work.bundle, ctx.settings.mode, norm_dir=ctx.settings.norm_dir)


async def report_step(ctx: RunContext, work: ItemWork) -> None:
    """Plain text (for the case-management system), HTML and PDF under output/reports/, and the
    sealed decision record under output/records/, written together (bistand.records.writer). The
    text, HTML and record are written off the loop so other applications' page work goes on
    meanwhile; the PDF (for the caseworker, not needed by any write) prints while the writes go
    on, and the write step waits for it, so an application is never done without its PDF."""
    settings = ctx.settings

    def render_and_write() -> tuple[str, str]:
        written = write_report_and_record(
            work.bundle, work.assessment, reports_dir=settings.reports_dir, records_dir=settings.records_dir,
            runner=settings.runner_id, guideline=settings.guideline, norm_dir=settings.norm_dir,
        )
        return written.text, written.html

    paths = report_paths(settings.reports_dir, work.application_id)
    text, html = await asyncio.to_thread(render_and_write)
    if work.printing is not None:
        work.printing.cancel()  # a retry's report replaces the last try's
    work.printing = asyncio.create_task(write_pdf(html, paths["pdf"], ctx.browser()))
    work.printing.add_done_callback(_retrieve)
    work.report_paths, work.report_text = paths, text


def _retrieve(task: asyncio.Task) -> None:
    """A PDF task's error is raised where the write step awaits it; one left behind by a failed try
    is retrieved here, so it is not reported as never retrieved."""
    if not task.cancelled():
        task.exception()


async def register_step(ctx: RunContext, work: ItemWork) -> None:
    """Registers the application on its case (Registrera ansökan) when the case-management
    system does not know it yet, as a caseworker does with an application filed today."""
    await settle_after_takeover(ctx, work)  # taken over: the earlier holder's writes have landed
    if work.application_id in work.overview.application_ids:
        return
    application = work.bundle.application
    casemgmt = await ctx.page("casemgmt")
    registration = ApplicationRegistration(application_id=application.application_id, period=application.period,
                                           kind=application.kind, submitted=application.submitted_at.date())

    async def known() -> bool:
        return work.application_id in (await casemgmt.open_case(work.case_number)).application_ids

    async def register() -> None:  # a runner whose lease was lost writes nothing
        await within_lease(work, lambda: casemgmt.register_application(work.case_number, registration))

    if await write_safely(casemgmt, register, known):
        work.written.append("application")
        await check_after_takeover_write(ctx, work)
    work.overview.application_ids.append(work.application_id)


async def write_step(ctx: RunContext, work: ItemWork) -> None:
    """The decision basis through the web client (once per application id); the decision in
    automated mode; the e-service status. (The desktop client is driven by its keyword.)"""
    work.written = [*work.written, *await casework.write_back(ctx, work, work.report_text)]
    if work.printing is not None:
        await work.printing


STEP_FUNCTIONS: dict[str, Callable[[RunContext, ItemWork], Awaitable[None]]] = {
    "read": read_step, "assess": assess_step, "report": report_step, "register": register_step,
    "write": write_step,
}


async def run_step(ctx: RunContext, work: ItemWork, step: str) -> None:
    """The step's outcome: awaited from the run ahead when the application was prepared in flight,
    otherwise run now."""
    result = work.ahead_steps.get(step)
    if result is not None:
        await asyncio.shield(result)
        return
    await STEP_FUNCTIONS[step](ctx, work)


async def prepare_ahead(ctx: RunContext, work: ItemWork, steps: tuple[str, ...] = STEPS) -> None:
    """Runs the steps in order, each step's result kept for its keyword; stops at the first
    failure (the later steps are then left to the suite, which does not reach them)."""
    loop = asyncio.get_running_loop()
    results = {step: loop.create_future() for step in steps}
    work.ahead_steps = dict(results)
    for index, step in enumerate(steps):
        try:
            await STEP_FUNCTIONS[step](ctx, work)
        except BaseException as exc:
            for later in steps[index + 1:]:
                work.ahead_steps.pop(later, None)
            if isinstance(exc, asyncio.CancelledError):
                results[step].cancel()
                raise
            results[step].set_exception(exc)
            return
        results[step].set_result(None)


def steps_ahead(ctx: RunContext) -> tuple[str, ...]:
    """What runs ahead: everything, except the write when the desktop client (one screen, driven
    from the suite's thread) writes the decision basis: then the write waits for the suite."""
    if ctx.settings.casemgmt_client == "desktop":
        return STEPS[:-1]
    return STEPS


class InFlight:
    """The applications a runner keeps moving: the suite's current one and those taken ahead of it,
    prepared on the run's browser loop. The run context holds their `ItemWork`; this runs their steps."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.on_ahead_finished: Callable[[], None] | None = None
        """Called on the suite's thread when an application prepared ahead finishes (the run control
        takes the next item ahead then)."""

    def run_step(self, work: ItemWork, step: str, timeout: float = 300) -> None:
        """One step of `work` (`run_step` above), waited for from the suite's thread.

        While it waits, each application prepared ahead that finishes calls `on_ahead_finished`,
        so the runner keeps `in_flight` applications moving even while the suite waits on a slow one."""
        ctx = self.ctx
        future = ctx.browser().submit(run_step(ctx, work, step))
        deadline = time.monotonic() + timeout
        while True:
            running = [w.ahead for w in ctx.items.values() if w.ahead is not None and not w.ahead.done()]
            left = deadline - time.monotonic()
            done, _ = concurrent.futures.wait([future, *running], timeout=max(left, 0),
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            if future in done or left <= 0:
                future.result(timeout=0)  # its result, its error, or TimeoutError at the deadline
                return
            if self.on_ahead_finished is not None:
                self.on_ahead_finished()

    def in_flight(self) -> int:
        """Applications whose steps are running: those prepared ahead and still going, and the
        suite's current one (counted once, whether its steps run ahead or in the suite)."""
        ctx = self.ctx
        running = {w.application_id for w in ctx.items.values() if w.ahead is not None and not w.ahead.done()}
        return len(running | ({ctx.current_id} if ctx.current_id else set()))

    def start_ahead(self, work: ItemWork) -> None:
        """Starts preparing an application the runner has taken ahead of the suite."""
        self.ctx.items[work.application_id] = work
        work.ahead = self.ctx.browser().submit(prepare_ahead(self.ctx, work, steps_ahead(self.ctx)))

    def drop_ahead(self, application_id: str) -> None:
        """Lets an application prepared ahead that the suite will not reach (the run ends) finish
        its steps before it goes back to the queue: a write cancelled half-way could still reach
        the portal after another runner has checked for it. Its steps fail fast on a portal that
        is down (the page timeout); only one still running after that is cancelled."""
        ctx = self.ctx
        work = ctx.items.pop(application_id, None)
        if work is None or work.ahead is None or ctx.session is None:
            return
        try:
            work.ahead.result(timeout=2 * ctx.settings.page_timeout_ms / 1000 + 5)
        except concurrent.futures.TimeoutError:
            work.ahead.cancel()
        except BaseException as exc:  # noqa: BLE001 - its error is the next runner's to meet
            logger.debug(f"{application_id} ahead ended with {type(exc).__name__}")

        async def settled() -> None:
            for result in work.ahead_steps.values():
                if result.done() and not result.cancelled():
                    result.exception()  # retrieved: no "never retrieved" noise at shutdown

        ctx.run(settled(), timeout=30)
