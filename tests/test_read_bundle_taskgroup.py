"""One application's lookups run under one asyncio.TaskGroup (issue 10 part 6): the first failure
cancels its siblings and reaches the suite as itself, not as an exception group."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from bistand.bot.casework import first_error, read_bundle
from bistand.core.errors import ApplicationError
from bistand.core.world_bundles import bundles_from_world
from bistand.pages.eservice import ApplicationForm


class Waiting:
    """A page object whose every lookup waits until cancelled, and counts the cancellations."""

    def __init__(self, cancelled: list[str], name: str) -> None:
        self.cancelled, self.name = cancelled, name

    def __getattr__(self, method: str):
        async def wait_forever(*_args):
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.append(f"{self.name}.{method}")
                raise
        return wait_forever


class FailingFk:
    async def payments(self, *_args):
        await asyncio.sleep(0)
        raise ApplicationError("SYSTEM_UNAVAILABLE", "fk: the portal answers 503")


class EService:
    def __init__(self, form: ApplicationForm) -> None:
        self.form = form

    async def read_application(self, _application_id):
        return self.form

    async def applications_of_case(self, _case_number, _period):
        return []


@pytest.fixture
def adult_form(example_world_path):
    world = json.loads(example_world_path.read_text(encoding="utf-8"))
    bundle = next(b for b in bundles_from_world(world).values() if len(b.application.members) >= 2)
    return ApplicationForm(**bundle.application.model_dump(exclude={"attachments"}), attachments=[])


def test_the_first_failed_lookup_cancels_the_others_and_is_raised_as_itself(adult_form, tmp_path):
    cancelled: list[str] = []
    pages = {"eservice": EService(adult_form), "fk": FailingFk()}

    async def page(system):
        return pages.get(system) or Waiting(cancelled, system)

    ctx = SimpleNamespace(settings=SimpleNamespace(frames_dir=tmp_path), page=page)

    when_raised: list[str] = []

    async def read():
        try:
            await asyncio.wait_for(read_bundle(ctx, adult_form.application_id, adult_form.case_number), 10)
        finally:
            when_raised.extend(cancelled)  # before asyncio.run cancels whatever is left

    with pytest.raises(ApplicationError, match="SYSTEM_UNAVAILABLE"):
        asyncio.run(read())
    assert "casemgmt.open_case" in when_raised  # the case page was still loading: cancelled
    assert any(name.startswith(("csn.", "pm.", "akassa.", "af.", "skv.")) for name in when_raised)


def test_first_error_finds_the_first_leaf_of_nested_groups():
    inner = ExceptionGroup("inner", [ApplicationError("TIMEOUT", "pm: slow"), ValueError("x")])
    assert isinstance(first_error(ExceptionGroup("outer", [inner, KeyError("y")])), ApplicationError)
