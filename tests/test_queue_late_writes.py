"""A write already sent when its runner stops answering, landing after the takeover (two runners on
PostgreSQL, automated mode, the example world's first applications).

Runner A posts the first application's decision basis; the case-management system receives the post
and holds it (the simulators' fault switch: `hold`, a write received and not yet saved, as one
stuck in a TCP retransmission queue or a slow system is), and A's whole process group is frozen
(SIGSTOP: a host that stops answering, heartbeat and all). A's lease runs out; runner B takes the
item over. Then the held post is let through:

- `within`: half way through B's wait after the claim (`settle_seconds`). B reads the case again at
  the end of the wait, finds A's decision basis and writes only what is missing: one decision
  basis, one decision, one payment, nothing twice.
- `after`: only once B's own post of the basis has reached the system too (later than any wait).
  Both land; B's look after its write finds two, parks the item with WRITE_CONFLICT and writes
  nothing more for it (no decision, no payment): the duplicate is reported, not silent.

Then A is thawed: it finds its lease lost, writes nothing more, and exits 0; B exits 0 (`within`)
or 6, an item parked (`after`).
"""

from __future__ import annotations

import os
import signal
import time
from urllib.parse import quote

import httpx
import pytest

from bistand.queue.store import QueueItem, open_queue
from bistand.run.exit_codes import ExitCode
from tests.bot_harness import (
    bot_env,
    duplicate_writes,
    expected_bases,
    export,
    load_world,
    run_bot,
    start_runner,
    subset_world,
    wait_until,
    writes_per_application,
)
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

IDS = ["ANS-2026-000001", "ANS-2026-000002"]
LEASE_SECONDS = 4
SETTLE_SECONDS = 3


def basis_post(case_number: str) -> str:
    return f"/arende/{quote(case_number, safe='')}/beslutsunderlag/ny"


def held_posts(sims: Simulators) -> int:
    (rule,) = httpx.get(f"{sims.urls['casemgmt']}/_sim/faults", timeout=10).json()["faults"]
    return rule["requests_held"]


@pytest.mark.parametrize("lands", ["within", "after"])
def test_a_write_that_lands_after_its_runner_lost_the_lease_is_not_repeated_or_is_reported(
        lands, tmp_path, example_world_path, postgres_database):
    world = load_world(example_world_path)
    world_path = subset_world(world, IDS, tmp_path / "world.json")
    sims = Simulators(world=world_path, state_dir=tmp_path / "sims", base_port=free_base_port(),
                      faults=True).start(reset=True)
    store = open_queue(postgres_database)
    runners = {}
    try:
        env = bot_env(sims, tmp_path, "automated", BISTAND_QUEUE_URL=postgres_database, BISTAND_IN_FLIGHT="1",
                      BISTAND_LEASE_SECONDS=str(LEASE_SECONDS), BISTAND_SETTLE_SECONDS=str(SETTLE_SECONDS))
        assert run_bot(env, "produce").code == 0
        victim: QueueItem = min(store.items(), key=lambda item: (item.next_try_at, item.application_id))
        httpx.post(f"{sims.urls['casemgmt']}/_sim/faults", timeout=10, json={
            "path": basis_post(victim.payload["case_number"]), "method": "POST", "hold": True,
        }).raise_for_status()
        runners["a"] = start_runner(env, "runner-a")  # alone: it takes the item due first
        wait_until(lambda: held_posts(sims) == 1, 180, "A's decision-basis post reaching the system", every=0.05)
        held = store.get(victim.application_id)
        assert held.lease_owner == "runner-a"
        os.killpg(runners["a"].pid, signal.SIGSTOP)  # A stops answering, its post on the way
        runners["b"] = start_runner(env, "runner-b")
        taken = wait_until(lambda: (
            item if (item := store.get(victim.application_id)).lease_owner == "runner-b"
            and item.lease_generation > held.lease_generation else None), 180, "B taking the item over", every=0.05)
        if lands == "within":
            time.sleep(SETTLE_SECONDS / 2)
        else:
            wait_until(lambda: held_posts(sims) == 2, 180, "B's own post reaching the system", every=0.1)
        httpx.post(f"{sims.urls['casemgmt']}/_sim/faults/release", timeout=10).raise_for_status()
        output_b, _ = runners["b"].communicate(timeout=300)
        os.killpg(runners["a"].pid, signal.SIGCONT)
        output_a, _ = runners["a"].communicate(timeout=300)
        data = export(sims)
        items = {item.application_id: item for item in store.items()}
    finally:
        for runner in runners.values():
            if runner.poll() is None:
                os.killpg(runner.pid, signal.SIGCONT)
                os.killpg(runner.pid, signal.SIGKILL)
        store.close()
        sims.stop()
    assert runners["b"].returncode == (ExitCode.OK if lands == "within" else ExitCode.PARKED), output_b[-3000:]
    assert runners["a"].returncode == 0, output_a[-3000:]
    stopped = victim.application_id
    assert taken.open_claims == 2 and f"{stopped} LEASE_LOST" in output_a and f"{stopped} DONE" not in output_a
    bases = writes_per_application(data, "decision_bases")
    others = [i for i in IDS if i != stopped]
    assert all(items[i].state == "done" and bases[i] == 1 for i in others)
    expected = expected_bases(world, "automated")
    decided = {i for i, (proposal, _, _) in expected.items() if proposal in ("approve", "reject") and i in IDS}
    assert stopped in decided  # the victim gets a decision and a payment in automated mode
    if lands == "within":
        assert items[stopped].state == "done" and f"{stopped} DONE" in output_b
        assert duplicate_writes(data) == {kind: {} for kind in duplicate_writes(data)}
        assert bases[stopped] == 1 and data["latest_decision_basis"][stopped]["proposal"] == expected[stopped][0]
        assert set(writes_per_application(data, "decisions")) == decided
    else:
        assert items[stopped].state == "parked" and items[stopped].error_code == "WRITE_CONFLICT"
        assert "queue retry" in items[stopped].error_message and f"PARKED {stopped} WRITE_CONFLICT" in output_b
        assert duplicate_writes(data)["decision_bases"] == {stopped: 2}  # it happened, and it is reported
        assert stopped not in writes_per_application(data, "decisions")  # nothing more written for it
        assert stopped not in writes_per_application(data, "payments")
