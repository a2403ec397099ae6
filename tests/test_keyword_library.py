"""The keyword library (issue 10 part 7): one face over components that receive the run context."""

from __future__ import annotations

import inspect
from pathlib import Path

from robot import run as robot_run

from bistand.bot import context as context_module
from bistand.bot.config import load_settings
from bistand.bot.context import ItemWork, RunContext
from bistand.bot.keywords import Bistand
from bistand.bot.keywords.eservice import NewApplication

ROOT = Path(__file__).resolve().parent.parent


def test_components_share_the_context_they_were_given_and_faces_do_not_share():
    settings = load_settings(environ={})
    first, second = Bistand(settings), Bistand(settings)
    assert first.ctx is not second.ctx
    components = [first.attributes[name] for name in first.get_keyword_names()]
    assert {id(getattr(c, "__self__", None).ctx) for c in components} == {id(first.ctx)}
    assert [first.run_control] == first.ROBOT_LIBRARY_LISTENER  # one task per work item


def test_no_module_level_run_state_is_left():
    assert not hasattr(RunContext, "get") and not hasattr(RunContext, "_current")
    callers = [str(path.relative_to(ROOT)) for path in (ROOT / "bistand").rglob("*.py")
               if "RunContext.get(" in path.read_text(encoding="utf-8")]
    assert callers == []  # the context comes from the library that built it
    module_state = [name for name, value in vars(context_module).items()
                    if isinstance(value, RunContext)]
    assert module_state == []


def test_keywords_are_typed():
    library = Bistand(load_settings(environ={}))
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
