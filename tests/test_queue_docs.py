"""docs/queue.md shows the state table of bistand/queue/states.py, word for word."""

from __future__ import annotations

from bistand.queue.states import TRANSITIONS, markdown_table
from tests.simulator_process import ROOT


def test_the_documented_state_table_is_the_one_in_code():
    documented = (ROOT / "docs" / "queue.md").read_text(encoding="utf-8")
    assert markdown_table() in documented
    assert len(TRANSITIONS) == markdown_table().count("\n") - 1
