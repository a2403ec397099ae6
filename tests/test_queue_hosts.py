"""Runners on separate hosts, one of them cut off in the middle of an item (the example world,
automated mode, two runners on PostgreSQL).

The "hosts" are network namespaces on this machine, created and removed by the test itself (as
root, `ip netns`): `server` holds a PostgreSQL cluster of the test's own and the simulators, both
listening on the server's address only; each runner has a namespace of its own, joined to the
server by a veth pair whose server end is a port of a bridge there (a switch). The test process
reaches the server by one more veth (the operator's machine). No namespace has a default route:
nothing leaves the machine.

As soon as runner A (past its first item) has claimed its next item and begun reading it, A's
switch port is pulled (`ip link set … down` on the server's end: A's cable is cut, its packets go nowhere). A's
lease runs out (6 s); runner B takes the item over under a new lease generation. Then A's link is
restored: A stops that item before its next write (its log says the lease was lost) and goes on
with others. Both exit 0; every application has exactly one decision basis, equal to the world's
`expected`, no decision, payment or registration twice, nothing in progress, and no namespace
of the test is left afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import random
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from bistand.queue.store import QueueItem, open_queue
from tests.bot_harness import (
    duplicate_writes,
    expected_bases,
    export,
    fault_figures,
    host_env,
    load_world,
    run_bot_on,
    runner_lines,
    start_runner_on,
    written_bases,
)
from tests.queue_fixtures import PrivatePostgres
from tests.simulator_process import Simulators, free_base_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

RUNNERS = ["a", "b"]
LEASE_SECONDS = 6
SUBNET_LOCK = Path("/run/lock/bistand-test-netns.lock")
"""Held while a test run picks its subnet, so two runs at once never take the same one."""


def ip(*args: str) -> str:
    try:
        result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    except FileNotFoundError as exc:
        raise RuntimeError("the `ip` command is missing: apt-get install iproute2") from exc
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


class Hosts:
    """A server and one host per runner, as network namespaces joined by a bridge in the server's.

    Names carry a tag of this test run (two runs never collide); `remove` deletes the namespaces
    (their veth ends go with them) and the operator's link, whatever was created before a failure.
    Addresses come from 198.18.0.0/15 (RFC 2544: for tests, never routed on the internet), one /24
    per run, not one the machine already routes.
    """

    def __init__(self, runners: list[str]) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.server = f"bst-{self.tag}-server"
        self.runners = {name: f"bst-{self.tag}-{name}" for name in runners}
        self.operator_link = f"bst{self.tag}"  # the test process's end, in the machine's namespace
        self.network: ipaddress.IPv4Network | None = None

    @property
    def namespaces(self) -> list[str]:
        return [self.server, *self.runners.values()]

    def address(self, host: int) -> str:
        assert self.network is not None
        return str(self.network.network_address + host)

    @property
    def server_address(self) -> str:
        return self.address(1)

    def port(self, runner: str) -> str:
        """The server's end of `runner`'s link: a port of the server's bridge."""
        return f"port-{runner}"

    def create(self) -> Hosts:
        if os.geteuid() != 0:
            pytest.fail("the hosts test creates network namespaces (`ip netns add`, veth pairs) and needs root "
                        "(CAP_NET_ADMIN, CAP_SYS_ADMIN); run it as root, as the CI does", pytrace=False)
        try:
            self._create()
        except RuntimeError as exc:
            pytest.fail(f"could not create the test's network namespaces (root with CAP_NET_ADMIN and "
                        f"CAP_SYS_ADMIN needed, as in the CI): {exc}", pytrace=False)
        return self

    def _create(self) -> None:
        for namespace in self.namespaces:
            ip("netns", "add", namespace)
            ip("-n", namespace, "link", "set", "lo", "up")
        ip("-n", self.server, "link", "add", "br0", "type", "bridge")
        ip("-n", self.server, "link", "set", "br0", "up")
        for name, namespace in self.runners.items():
            ip("link", "add", "name", "eth0", "netns", namespace, "type", "veth",
               "peer", "name", self.port(name), "netns", self.server)
            ip("-n", self.server, "link", "set", self.port(name), "master", "br0", "up")
        ip("link", "add", "name", self.operator_link, "type", "veth", "peer", "name", "port-operator",
           "netns", self.server)
        ip("-n", self.server, "link", "set", "port-operator", "master", "br0", "up")
        SUBNET_LOCK.parent.mkdir(parents=True, exist_ok=True)
        with SUBNET_LOCK.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.network = self._free_network()
            ip("addr", "add", f"{self.address(254)}/24", "dev", self.operator_link)
            ip("link", "set", self.operator_link, "up")
        ip("-n", self.server, "addr", "add", f"{self.server_address}/24", "dev", "br0")
        for index, namespace in enumerate(self.runners.values()):
            ip("-n", namespace, "addr", "add", f"{self.address(10 + index)}/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")

    @staticmethod
    def _free_network() -> ipaddress.IPv4Network:
        routed = [ipaddress.ip_network(line.split()[0], strict=False)
                  for line in ip("-4", "route", "show", "table", "all").splitlines()
                  if line and line.split()[0][0].isdigit()]
        candidates = list(ipaddress.ip_network("198.18.0.0/15").subnets(new_prefix=24))
        random.shuffle(candidates)
        return next(n for n in candidates if not any(n.overlaps(r) for r in routed if r.prefixlen > 0))

    def cut(self, runner: str) -> None:
        """Pulls `runner`'s cable at the switch: its packets go nowhere, nothing tells it so."""
        ip("-n", self.server, "link", "set", self.port(runner), "down")

    def restore(self, runner: str) -> None:
        ip("-n", self.server, "link", "set", self.port(runner), "up")

    def remove(self) -> None:
        for namespace in self.namespaces:
            with contextlib.suppress(RuntimeError):
                ip("netns", "del", namespace)
        with contextlib.suppress(RuntimeError):  # normally gone with its peer's namespace
            ip("link", "del", self.operator_link)

    def leftovers(self) -> list[str]:
        """Namespaces and links of this run that still exist."""
        names = ip("netns", "list") + ip("-o", "link", "show")
        return sorted(set(re.findall(rf"bst-?{self.tag}[\w-]*", names)))


def wait_for_next_claim(url: str, owner: str, process: subprocess.Popen, log: Path, timeout: float = 300) -> QueueItem:
    """The next item `owner` claims once its first item is done (the runner in its stride: browser
    started, systems logged in), as soon as it holds it: it has begun reading the item and is
    seconds away from the item's first write."""
    store = open_queue(url)
    before: set[tuple[str, int]] | None = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            held = {(i.application_id, i.lease_generation): i for i in store.items("in_progress")
                    if i.lease_owner == owner}
            if before is None:
                if runner_lines(log.read_text(encoding="utf-8"), "DONE"):
                    before = set(held)  # what it held when the first item was done
            elif new := [item for key, item in held.items() if key not in before]:
                return new[0]
            time.sleep(0.02)  # poll the queue and the runner's console
    finally:
        store.close()
    raise AssertionError(f"{owner} never claimed a next item (exit code {process.poll()})")


def wait_until_taken_over(url: str, held: QueueItem, owner: str, timeout: float = 120) -> QueueItem:
    """`held` once `owner` has taken it over under a new lease generation."""
    store = open_queue(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            item = store.get(held.application_id)
            if item.lease_owner == owner and item.lease_generation > held.lease_generation:
                return item
            time.sleep(0.05)  # poll the queue from the server's side
    finally:
        store.close()
    raise AssertionError(f"{owner} never took {held.application_id} over")


def where_lease_lost(log: str, application_id: str) -> int | None:
    """Where a runner's log first says it lost its lease on the item (LeaseLost: the console's
    `… LEASE_LOST` line, or the queue adapter's warning), or None."""
    patterns = [rf"{application_id}\s+LEASE_LOST", rf"lease on {application_id} lost",
                rf"{application_id} is no longer leased", rf"{application_id}: lease lost"]
    found = [match.start() for pattern in patterns if (match := re.search(pattern, log))]
    return min(found) if found else None


def test_a_runner_cut_off_in_the_middle_of_an_item_loses_it_to_the_other_and_goes_on(tmp_path, example_world_path):
    started = time.monotonic()
    world = load_world(example_world_path)
    hosts = Hosts(RUNNERS)
    processes: dict[str, subprocess.Popen] = {}
    logs = {name: tmp_path / f"runner-{name}.log" for name in RUNNERS}
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(hosts.remove)
        hosts.create()
        cluster = PrivatePostgres(host=hosts.server_address, netns=hosts.server, clients=str(hosts.network))
        cleanup.callback(cluster.remove)
        url = cluster.start().url
        sims = Simulators(world=example_world_path, state_dir=tmp_path / "sims", base_port=free_base_port(),
                          host=hosts.server_address, launcher=("ip", "netns", "exec", hosts.server))
        cleanup.callback(sims.stop)
        sims.start(reset=True)
        envs = {name: host_env(sims, tmp_path / f"host-{name}", "automated", BISTAND_QUEUE_URL=url,
                               BISTAND_IN_FLIGHT="1", BISTAND_LEASE_SECONDS=str(LEASE_SECONDS))
                for name in RUNNERS}
        produced = run_bot_on(hosts.runners["a"], envs["a"], "produce")
        assert produced.code == 0, produced.output[-2000:]

        @cleanup.callback
        def kill_runners() -> None:
            for process in processes.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)

        for name in RUNNERS:
            processes[name] = start_runner_on(hosts.runners[name], envs[name], f"runner-{name}", logs[name])
        held = wait_for_next_claim(url, "runner-a", processes["a"], logs["a"])
        hosts.cut("a")
        cut_at = time.monotonic()
        taken = wait_until_taken_over(url, held, "runner-b")
        hosts.restore("a")
        outage = time.monotonic() - cut_at
        codes = {name: process.wait(timeout=600) for name, process in processes.items()}
        data = export(sims)
        store = open_queue(url)
        items = {item.application_id: item for item in store.items()}
        store.close()
    assert hosts.leftovers() == [], "the test's namespaces or links were left behind"
    outputs = {name: log.read_text(encoding="utf-8") for name, log in logs.items()}
    for name, code in codes.items():
        assert code == 0, f"runner-{name}:\n{outputs[name][-3000:]}"
    figures = fault_figures("a runner's link cut in the middle of an item, restored after the takeover", data,
                            {i: item.state for i, item in items.items()}, outputs)
    print(f"cut {held.application_id} for {outage:.1f} s, taken over under generation {taken.lease_generation}; "
          f"wall time {time.monotonic() - started:.0f} s")
    victim = held.application_id
    lost_at = where_lease_lost(outputs["a"], victim)
    assert lost_at is not None, outputs["a"][-3000:]  # A stopped the item and said so
    assert victim not in runner_lines(outputs["a"], "DONE") and victim in runner_lines(outputs["b"], "DONE")
    assert items[victim].state == "done" and items[victim].claims >= 2
    # A went on to the end of its run (exit 0 above); whether any item was left for it depends on how
    # far B got meanwhile.
    print(f"A finished {len(runner_lines(outputs['a'][lost_at:], 'DONE'))} more items after it lost the lease")
    assert sorted(sum((runner_lines(o, "DONE") for o in outputs.values()), [])) == sorted(world["expected"])
    assert figures["left_behind"] == [] and not any(item.state == "in_progress" for item in items.values())
    assert {i: e["count"] for i, e in data["latest_decision_basis"].items()} == {i: 1 for i in world["expected"]}
    assert written_bases(data) == expected_bases(world, "automated")
    assert duplicate_writes(data) == {kind: {} for kind in duplicate_writes(data)}
    decided = {i for i, (proposal, _, _) in expected_bases(world, "automated").items()
               if proposal in ("approve", "reject")}
    assert figures["decisions"] == len(decided) and figures["payments"] > 0
