"""docs/configuration.md lists every setting as the model declares it (made by bistand.settings.docs)."""

from __future__ import annotations

from bistand.settings import Settings
from bistand.settings.docs import DOC, documented_table, markdown_table, rows
from bistand.settings.sources import variables


def test_the_documented_table_is_the_one_the_model_makes() -> None:
    documented = documented_table(DOC.read_text(encoding="utf-8"))
    assert documented == markdown_table(), (
        "docs/configuration.md differs from the Settings model: run `python -m bistand.settings --write-docs`")


def test_the_table_has_a_row_for_every_setting_with_its_variables() -> None:
    table = rows(Settings)
    assert len(table) == len(list(variables(Settings)))
    by_key = {row[0]: row for row in table}
    assert "`BISTAND_LEASE_SECONDS`" in by_key["`queue.lease_seconds`"][1]
    assert "`BISTAND_QUEUE_LEASE_SECONDS`" in by_key["`queue.lease_seconds`"][1]
    assert by_key["`urls.<system>`"][1] == "`BISTAND_URL_<SYSTEM>`"
    assert by_key["`read_strategy`"][1].startswith("`BISTAND_READ_STRATEGY`")
