"""The run's composition root (bistand.run.library.RunLibrary): one library face over the bot's
keyword components and the work-items library; each component receives what it uses when built."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from robot import run as robot_run

from bistand.bot import context as context_module
from bistand.bot.context import ItemWork, RunContext
from bistand.bot.keywords.eservice import NewApplication
from bistand.run.adapter import QueueAdapter
from bistand.run.library import RunLibrary
from bistand.run.watch_adapter import WatchAdapter
from bistand.settings import load

ROOT = Path(__file__).resolve().parent.parent


def test_components_share_the_context_they_were_given_and_faces_do_not_share():
    settings = load(environ={})
    first, second = RunLibrary(settings), RunLibrary(settings)
    assert first.ctx is not second.ctx
    components = {getattr(first.attributes[name], "__self__", None) for name in first.get_keyword_names()}
    bot_components = components - {first.work_items}
    assert {id(c.ctx) for c in bot_components} == {id(first.ctx)}
    assert first.work_items in components  # Release Input Work Item & co. from the same face
    assert [first.work_items, first.run_control] == first.ROBOT_LIBRARY_LISTENER  # one task per work item


def test_no_component_looks_another_up_through_robot_frameworks_registry():
    lookups = [str(path.relative_to(ROOT)) for path in (ROOT / "bistand").rglob("*.py")
               if "get_library_instance" in path.read_text(encoding="utf-8")]
    assert lookups == []


@pytest.mark.parametrize("adapter_name", ["bistand.run.adapter.QueueAdapter", "bistand.run.watch_adapter.WatchAdapter"])
def test_the_root_hands_the_queue_store_and_the_run_context_to_what_uses_them(adapter_name, tmp_path, monkeypatch):
    monkeypatch.setenv("BISTAND_QUEUE_URL", f"sqlite:///{tmp_path / 'queue.db'}")
    monkeypatch.setenv("BISTAND_RUNNER_ID", "runner-test")
    monkeypatch.setenv("RPA_WORKITEMS_ADAPTER", adapter_name)
    library = RunLibrary(load(environ={}))
    adapter = library.work_items.adapter
    try:
        assert isinstance(adapter, QueueAdapter)
        assert library.run_control.store is adapter.store is library.store
        assert library.run_control.work_items is library.work_items
        if isinstance(adapter, WatchAdapter):
            assert adapter.ctx is library.ctx  # it polls the inbox with the run's browser
    finally:
        adapter._stop.set()
        adapter.store.close()


def test_under_a_file_adapter_nothing_is_recorded_in_a_queue(tmp_path, monkeypatch):
    items = tmp_path / "work-items.json"
    items.write_text("[]", encoding="utf-8")
    monkeypatch.setenv("RPA_WORKITEMS_ADAPTER", "RPA.Robocorp.WorkItems.FileAdapter")
    monkeypatch.setenv("RPA_INPUT_WORKITEM_PATH", str(items))
    library = RunLibrary(load(environ={}))
    assert library.store is None and library.run_control.store is None


def test_no_module_level_run_state_is_left():
    assert not hasattr(RunContext, "get") and not hasattr(RunContext, "_current")
    callers = [str(path.relative_to(ROOT)) for path in (ROOT / "bistand").rglob("*.py")
               if "RunContext.get(" in path.read_text(encoding="utf-8")]
    assert callers == []  # the context comes from the library that built it
    module_state = [name for name, value in vars(context_module).items()
                    if isinstance(value, RunContext)]
    assert module_state == []


def test_keywords_are_typed():
    library = RunLibrary(load(environ={}))
    start = inspect.signature(library.attributes["start_work_on_application"]).return_annotation
    collect = inspect.signature(library.attributes["collect_applications_to_queue"]).return_annotation
    assert "ItemWork" in str(start) and "NewApplication" in str(collect)
    entry = NewApplication(application_id="ANS-2026-000001", case_number="EKB-1", period="2026-12")
    assert entry.work_item_variables == {"application_id": "ANS-2026-000001", "case_number": "EKB-1",
                                         "period": "2026-12"}
    assert repr(ItemWork("ANS-2026-000001", "EKB-1", "2026-12")) == "<ItemWork ANS-2026-000001>"


def test_every_keyword_the_task_suites_use_exists(tmp_path):
    """A dry run resolves every keyword call in both suites against the library."""
    rc = robot_run(str(ROOT / "tasks" / "producer.robot"), str(ROOT / "tasks" / "consumer.robot"),
                   dryrun=True, outputdir=str(tmp_path), output=str(tmp_path / "dry.xml"), log="NONE",
                   report="NONE", console="none", pythonpath=[str(ROOT)])
    assert rc == 0, (tmp_path / "dry.xml").read_text(encoding="utf-8")[-3000:]
