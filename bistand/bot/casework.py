"""Reading one application from every system, and writing the outcome back.

Runs on the browser's event loop. The lookups of one application run concurrently (a
semaphore keeps the number of open tabs modest); parsing and rules happen outside the browser.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TypeVar

from pydantic import ValidationError

from bistand.bot.context import RunContext
from bistand.bot.takeover import check_after_takeover_write, refuse_written_twice, settle_after_takeover, within_lease
from bistand.core.documents import read_attachment
from bistand.core.errors import BusinessError
from bistand.core.frames import frame_path, read_frame
from bistand.core.models import (
    AgencyRecords,
    Application,
    CaseApplication,
    CaseBundle,
    Mode,
    PersonRecords,
    Proposal,
    Register,
    Role,
    SourceRead,
)
from bistand.core.personnummer import InvalidPersonnummer
from bistand.pages.base import write_safely
from bistand.pages.casemgmt import DecisionBasisForm, DecisionForm, PaymentOrderForm
from bistand.report.notice import already_sent, render_notice
from bistand.report.plural import plural

MAX_OPEN_TABS = 8
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


async def open_case(ctx: RunContext, case_number: str):
    casemgmt = await ctx.page("casemgmt")
    return await casemgmt.open_case(case_number)


async def read_bundle(ctx: RunContext, application_id: str, case_number: str, overview=None,
                      reads: dict | None = None):
    """Returns (CaseBundle, CaseOverview): the inputs, and what the case already holds.

    Every lookup of the application runs concurrently under one `asyncio.TaskGroup`: the first
    failure cancels the rest (no tab keeps reading for an application that already failed) and is
    raised as itself, not as a group, so the suite sees the usual BusinessError/ApplicationError.
    `reads` keeps what each lookup answered, so the item's next try asks only what failed.
    """
    try:
        return await _read_bundle(ctx, application_id, case_number, overview, {} if reads is None else reads)
    except BaseExceptionGroup as group:
        raise first_error(group) from None


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The first failure in a (nested) exception group."""
    first = group.exceptions[0]
    return first_error(first) if isinstance(first, BaseExceptionGroup) else first


async def kept(reads: dict, key: tuple, lookup: Callable[[], Awaitable[T]]) -> T:
    """The answer an earlier try of the item got for `key`, or the lookup's (kept when it succeeds)."""
    if key not in reads:
        reads[key] = await lookup()
    return reads[key]


async def _read_bundle(ctx: RunContext, application_id: str, case_number: str, overview, reads: dict):
    # Everything one application needs, with the time each source was read.
    sources: list[SourceRead] = []
    tabs = asyncio.Semaphore(MAX_OPEN_TABS)

    async def limited(coro):
        async with tabs:
            return await coro

    async def once(key: tuple, lookup: Callable[[], Awaitable[T]]) -> T:
        async with tabs:
            return await kept(reads, key, lookup)

    eservice = await ctx.page("eservice")
    async with asyncio.TaskGroup() as group:
        case_task = group.create_task(open_case(ctx, case_number)) if overview is None else None
        try:
            form = await kept(reads, ("eservice", "form", application_id),
                              lambda: eservice.read_application(application_id))
        except (ValidationError, InvalidPersonnummer) as exc:
            count = len(exc.errors()) if isinstance(exc, ValidationError) else 1
            raise BusinessError(
                "APPLICATION_DATA_INVALID", f"{application_id}: the e-service form has {count} invalid value(s)"
            ) from None
        sources.append(SourceRead(system=Register.ESERVICE, read_at=_now(), detail=application_id))
        if form.case_number != case_number:
            raise BusinessError("CASE_MISMATCH", f"{application_id}: the work item's case differs from the e-service's")
        same_period_task = group.create_task(limited(eservice.applications_of_case(case_number, form.period)))

        async def attachment(link):
            data = await once(("eservice", "attachment", link.path), lambda: eservice.download_attachment(
                application_id, link))
            return await asyncio.to_thread(read_attachment, link.filename, link.cost_type, data)

        async def person(member):
            """(the person's records, Skatteverket's folkbokföring answer) for one member."""
            pnr = member.personnummer
            age = pnr.age_on(form_period_start(form.period))
            adult_ish = age >= 15 or member.role is not Role.CHILD
            skv = await ctx.page("skv")
            period = form.period
            async with asyncio.TaskGroup() as lookups:
                calls = {
                    "fk": lookups.create_task(once(("fk", pnr, period), lambda: _ask(ctx, "fk", "payments",
                                                                                    pnr, period))),
                    "population": lookups.create_task(once(("skv", "folk", pnr), lambda: skv.folkbokforing(pnr))),
                }
                if adult_ish:
                    for system in ("csn", "pm", "akassa"):
                        calls[system] = lookups.create_task(once(
                            (system, pnr, period), lambda system=system: _ask(ctx, system, "payments", pnr, period)))
                    calls["af"] = lookups.create_task(once(("af", pnr), lambda: _ask(ctx, "af", "status", pnr)))
                    calls["agi"] = lookups.create_task(once(("skv", "agi", pnr, period),
                                                            lambda: skv.employer_declarations(pnr, period)))
            results = {name: task.result() for name, task in calls.items()}
            folk = results["population"]
            return PersonRecords(
                personnummer=pnr,
                fk=results["fk"], csn=results.get("csn", []), pm=results.get("pm", []),
                akassa=results.get("akassa", []), af=results.get("af"),
                employer_declarations=results.get("agi", []),
                population=folk.person,
            ), folk

        frame_task = group.create_task(
            asyncio.to_thread(read_frame, frame_path(ctx.settings.frames_dir, case_number), case_number)
        )
        attachment_tasks = [group.create_task(attachment(link)) for link in form.attachments]
        person_tasks = [group.create_task(person(m)) for m in form.members]
    attachments = [task.result() for task in attachment_tasks]
    persons = [task.result() for task in person_tasks]
    read_at = _now()
    for system in (Register.FK, Register.CSN, Register.PM, Register.AKASSA, Register.AF, Register.SKV):
        sources.append(SourceRead(system=system, read_at=read_at, detail=plural(len(persons), "person", "personer")))
    frame = frame_task.result()
    sources.append(SourceRead(system=Register.FRAME, read_at=_now(), detail=frame.file_name or case_number))
    if case_task is not None:
        overview = case_task.result()
    sources.append(SourceRead(system=Register.CASEMGMT, read_at=_now(), detail=case_number))

    applicant_pnr = next((m.personnummer for m in form.members if m.role is Role.APPLICANT), None)
    at_address = next(
        (folk.registered_at_address for record, folk in persons if record.personnummer == applicant_pnr), []
    )
    application = Application(**form.model_dump(exclude={"attachments"}), attachments=list(attachments))
    records = AgencyRecords(persons=[p for p, _ in persons], registered_at_address=at_address)
    case_applications = [
        CaseApplication(application_id=row.application_id, period=row.period, status=row.status, received=row.received)
        for row in same_period_task.result() if row.case_number == case_number
    ]
    bundle = CaseBundle(application=application, case=overview.case, frame=frame, records=records,
                        case_applications=case_applications, sources=sources)
    return bundle, overview


async def _ask(ctx: RunContext, system: str, method: str, *args):
    """`method(*args)` of the system's page object."""
    return await getattr(await ctx.page(system), method)(*args)


def form_period_start(period: str) -> date:
    year, month = period.split("-")
    return date(int(year), int(month), 1)


PROPOSAL_STATUS = "Klar för beslut"
DECIDED_STATUS = "Beslutad"


def decided_by_bot(mode: Mode, bundle: CaseBundle, assessment) -> bool:
    """RULES.md §6 modes: automated decides a reapplication with no blocking finding."""
    return (
        mode is Mode.AUTOMATED
        and bundle.application.kind == "reapplication"
        and not assessment.blocking_findings
        and assessment.proposal in (Proposal.APPROVE, Proposal.REJECT)
    )


async def tell_applicant(eservice, application_id: str, assessment, decided: bool) -> bool:
    """Sends the decision notice (bistand.report.notice) unless the e-service already shows it.

    The notice holds amounts: it goes to the applicant only, never to a log. Returns whether it
    was sent now."""
    sent = [m.text for m in await eservice.messages(application_id)]
    if already_sent(sent, application_id, assessment.period, decided):
        return False
    municipality = await eservice.municipality_name()
    await eservice.send_message(application_id, render_notice(assessment, decided, municipality))
    return True


async def write_back(ctx: RunContext, work, report_text: str) -> list[str]:
    """Write what is missing in the case-management system and the e-service; never twice."""
    await settle_after_takeover(ctx, work)  # taken over: the earlier holder's writes have landed
    bundle, assessment, overview = work.bundle, work.assessment, work.overview
    app = bundle.application
    refuse_written_twice(overview, app.application_id)
    casemgmt = await ctx.page("casemgmt")
    eservice = await ctx.page("eservice")
    written: list[str] = []

    async def case_holds(ids: str) -> bool:
        return app.application_id in getattr(await casemgmt.open_case(app.case_number), ids)

    async def status_is(label: str) -> bool:
        return await eservice.status(app.application_id) == label

    def leased(write: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        """The write, after confirming the item's lease and cut off when it is no longer held: a
        runner whose lease was lost writes nothing (every try of the write confirms it again)."""
        return lambda: within_lease(work, write)

    async def to_case(write: Callable[[], Awaitable[object]], ids: str) -> bool:
        """One write to the case-management system; on a taken-over item, checked after it."""
        wrote = await write_safely(casemgmt, leased(write), lambda: case_holds(ids))
        if wrote:
            await check_after_takeover_write(ctx, work)
        return wrote

    basis = DecisionBasisForm(application_id=app.application_id, period=app.period, proposal=assessment.proposal,
                              amount=assessment.amount, findings=assessment.finding_codes, report_text=report_text)
    if app.application_id not in overview.decision_basis_ids and await to_case(
            lambda: casemgmt.write_decision_basis(app.case_number, basis), "decision_basis_ids"):
        written.append("decision_basis")
    if decided_by_bot(ctx.settings.mode, bundle, assessment):
        decision = "approve" if assessment.proposal is Proposal.APPROVE else "reject"
        ruling = DecisionForm(application_id=app.application_id, period=app.period, decision=decision,
                              amount=assessment.amount)
        if app.application_id not in overview.decision_ids and await to_case(
                lambda: casemgmt.register_decision(app.case_number, ruling), "decision_ids"):
            written.append("decision")
        order = PaymentOrderForm(application_id=app.application_id, period=app.period, amount=assessment.amount,
                                 recipient=app.applicant.personnummer, pay_date=payment_date(app.period))
        if decision == "approve" and app.application_id not in overview.payment_ids and await to_case(
                lambda: casemgmt.create_payment_order(app.case_number, order), "payment_ids"):
            written.append("payment")
        if not await status_is(DECIDED_STATUS):
            told: list[bool] = []
            # tell_applicant looks at the messages already sent before it sends: safe to repeat.
            await write_safely(eservice, leased(lambda: _append(told, tell_applicant(
                eservice, app.application_id, assessment, decided=True))), _never)
            if any(told):
                written.append("notice")
            await write_safely(eservice, leased(lambda: eservice.set_status(app.application_id, DECIDED_STATUS)),
                               lambda: status_is(DECIDED_STATUS))
            written.append("eservice_decided")
    else:
        if ctx.settings.mode is Mode.AUTOMATED:  # instant answer: a caseworker will decide
            told = []
            await write_safely(eservice, leased(lambda: _append(told, tell_applicant(
                eservice, app.application_id, assessment, decided=False))), _never)
            if any(told):
                written.append("notice")
        await write_safely(eservice, leased(lambda: eservice.set_status(app.application_id, PROPOSAL_STATUS)),
                           lambda: status_is(PROPOSAL_STATUS))  # idempotent; confirmed on the page
        written.append("eservice_ready")
    return written


async def _append(results: list, outcome: Awaitable) -> None:
    results.append(await outcome)


async def _never() -> bool:
    """For a write that checks by itself what already landed before it writes again."""
    return False


def payment_date(period: str) -> date:
    """Paid on the 25th of the month before the period (the usual municipal payment day)."""
    start = form_period_start(period)
    prev_month = start.month - 1 or 12
    year = start.year if start.month > 1 else start.year - 1
    return date(year, prev_month, 25)
