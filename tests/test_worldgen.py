"""The demo-world generator makes, now and then, the cases DUPLICATE_PERIOD is for (RULES.md §5)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bistand.core.engine import assess
from bistand.core.world_bundles import bundles_from_world
from simulators.worldgen import generate

EXAMPLE = json.loads((Path(__file__).resolve().parent.parent / "devdata/worlds/example.json").read_text("utf-8"))


def duplicated(world: dict) -> set[str]:
    """Applications whose month is taken: another application of the case, or a decision for it."""
    filed = Counter((a["case_number"], a["period"]) for a in world["applications"])
    decided = {(h["case_number"], d["period"]) for h in world["households"] for d in h.get("previous_decisions", [])}
    return {a["application_id"] for a in world["applications"]
            if filed[a["case_number"], a["period"]] > 1 or (a["case_number"], a["period"]) in decided}


def test_a_generated_world_has_second_filings_and_decided_months_and_the_rules_flag_exactly_those():
    world = generate(EXAMPLE, households=60, seed=7, duplicates=0.2)
    taken = duplicated(world)
    second_filings = len(world["applications"]) - len({(a["case_number"], a["period"]) for a in world["applications"]})
    assert second_filings >= 1 and len(taken) > 2 * second_filings  # both kinds occur
    flagged = {app_id for app_id, bundle in bundles_from_world(world).items()
               if "DUPLICATE_PERIOD" in assess(bundle).finding_codes}
    assert flagged == taken


def test_the_share_of_duplicates_leaves_every_other_household_as_it_was():
    without = generate(EXAMPLE, households=40, seed=11, duplicates=0)
    with_some = generate(EXAMPLE, households=40, seed=11, duplicates=0.3)
    assert duplicated(without) == set()
    assert with_some["applications"][:len(without["applications"])] == without["applications"]
    changed = [h["case_number"] for h, g in zip(without["households"], with_some["households"], strict=True) if h != g]
    assert all(h["previous_decisions"][0]["period"] == "2026-12" for h in with_some["households"]
               if h["case_number"] in changed)
