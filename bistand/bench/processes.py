"""A process tree's memory (PSS) and CPU by kind of process, read with psutil (Linux).

`python -m bistand.bench.processes PID [--every S] [--json OUT]` samples any running bot's tree
(a `make run`, a runner service) until it ends and prints the peak and the first, middle and last
sample per kind: how the issue-19 figures in the README were measured.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from dataclasses import dataclass, field

import psutil

MEMORY_GROUPS = ("renderer", "browser", "driver (node)", "robot framework", "runner")
"""The kinds the memory figures are given for: Chromium's renderers, the rest of Chromium (its
browser process and helpers: zygotes, utility processes), the Playwright driver, the Robot
Framework process, and the runner (`python -m bistand run`, its Python children)."""


def tree(pid: int) -> list[int]:
    """pid and all its descendants (only pid when it is gone)."""
    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return [pid]


def pss_kib(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        return psutil.Process(pid).memory_full_info().pss // 1024
    except (psutil.Error, AttributeError):
        return 0


def kind_of(cmdline: str) -> str:
    if "chromium" in cmdline or "headless_shell" in cmdline:
        name = "headless-shell" if "headless-shell" in cmdline else "chromium"
        return f"{name} " + (cmdline.split("--type=")[1].split()[0] if "--type=" in cmdline else "browser")
    if "playwright/driver" in cmdline or "/node " in cmdline:
        return "playwright driver (node)"
    if " robot " in f" {cmdline} " or "-m robot" in cmdline:
        return "robot framework (python)"
    if "simulators" in cmdline:
        return "simulator"
    return "runner (python)"


def memory_group(kind: str) -> str:
    """A process kind (kind_of) as one of MEMORY_GROUPS."""
    if kind.endswith(" renderer"):
        return "renderer"
    if kind.startswith(("chromium", "headless-shell")):
        return "browser"
    if kind.startswith("playwright"):
        return "driver (node)"
    if kind.startswith("robot"):
        return "robot framework"
    return "runner"


def _cmdline(process: psutil.Process) -> str:
    return " ".join(process.cmdline())


def cpu_of(pid: int) -> tuple[str, float]:
    """(process kind, user+system CPU seconds so far)."""
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            times = process.cpu_times()
            return kind_of(_cmdline(process)), times.user + times.system
    except psutil.Error:
        return "", 0.0


def children_cpu() -> float:
    """CPU of every reaped descendant of this process (exited processes counted exactly)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of a live process tree, by kind."""
    by_kind: dict[str, float] = {}
    for member in tree(pid):
        kind, seconds = cpu_of(member)
        if kind:
            by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    return by_kind


@dataclass
class MemorySample:
    """The tree's PSS at one moment, by memory group (KiB)."""

    seconds: float
    """Since the sampler started."""
    by_group: dict[str, int]
    label: str = ""

    @property
    def total_kib(self) -> int:
        return sum(self.by_group.values())

    def as_mib(self) -> dict[str, int]:
        return {"seconds": round(self.seconds, 1), "total": round(self.total_kib / 1024),
                **{group: round(kib / 1024) for group, kib in self.by_group.items()}}


@dataclass
class Sampler:
    """Samples a process tree every `interval` s: peak PSS (the tree's, and each group's), the
    samples taken at moments the caller marks (`mark`), and the last CPU seen per process."""

    pid: int
    interval: float = 0.25
    peak_kib: int = 0
    peak_processes: int = 0
    peak_by_group: dict[str, int] = field(default_factory=dict)
    marks: list[MemorySample] = field(default_factory=list)
    samples: list[MemorySample] = field(default_factory=list)
    keep_every: float = 5.0
    """A sample is kept for the timeline at most every this many seconds (the peak sees all)."""
    last_cpu: dict[int, tuple[str, float]] = field(default_factory=dict)
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _started: float = field(default_factory=time.monotonic)
    _kinds: dict[tuple[int, float], str] = field(default_factory=dict)

    def start(self) -> Sampler:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _kind(self, process: psutil.Process) -> str:
        key = (process.pid, process.create_time())  # a pid is reused: its start time is not
        if key not in self._kinds:
            self._kinds[key] = kind_of(_cmdline(process))
        return self._kinds[key]

    def sample(self, label: str = "") -> MemorySample:
        """The tree now: PSS by group; updates the peaks and the CPU seen per process."""
        by_group: dict[str, int] = {}
        pids = tree(self.pid)
        for pid in pids:
            try:
                process = psutil.Process(pid)
                with process.oneshot():
                    kind = self._kind(process)
                    times = process.cpu_times()
                    pss = process.memory_full_info().pss // 1024
            except (psutil.Error, AttributeError):
                continue
            self.last_cpu[pid] = (kind, times.user + times.system)
            group = memory_group(kind)
            by_group[group] = by_group.get(group, 0) + pss
        now = MemorySample(seconds=time.monotonic() - self._started, by_group=by_group, label=label)
        with self._lock:
            if now.total_kib > self.peak_kib:
                self.peak_kib, self.peak_processes = now.total_kib, len(pids)
            for group, kib in by_group.items():
                self.peak_by_group[group] = max(self.peak_by_group.get(group, 0), kib)
            if not self.samples or now.seconds - self.samples[-1].seconds >= self.keep_every:
                self.samples.append(now)
        return now

    def mark(self, label: str) -> MemorySample:
        """A sample taken now and kept under `label` (e.g. 'start', 'middle', 'end')."""
        taken = self.sample(label)
        with self._lock:
            self.marks.append(taken)
        return taken

    def _run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def peak_mib_by_group(self) -> dict[str, int]:
        return {group: round(self.peak_by_group[group] / 1024) for group in MEMORY_GROUPS
                if group in self.peak_by_group}

    def cpu_by_kind(self, reaped: float) -> dict[str, float]:
        """CPU by kind as sampled, plus what processes used after their last sample.

        `reaped` is the kernel's exact count for descendants that exited and were waited for
        (getrusage); it misses a process whose parent never waited for it, sampling misses the
        last <= 250 ms of a process that exited. The larger of the two is the total; a
        difference in favour of `reaped` is listed as "exited between samples".
        """
        by_kind: dict[str, float] = {}
        for kind, seconds in self.last_cpu.values():
            by_kind[kind] = by_kind.get(kind, 0.0) + seconds
        rest = reaped - sum(by_kind.values())
        if rest > 0.005:
            by_kind["exited between samples"] = rest
        return by_kind


def thirds(samples: list[MemorySample]) -> dict[str, MemorySample]:
    """The first, middle and last of a run's samples (empty samples, before the bot's processes
    started or after they ended, left out)."""
    kept = [sample for sample in samples if sample.total_kib]
    if not kept:
        return {}
    return {"start": kept[0], "middle": kept[len(kept) // 2], "end": kept[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bistand.bench.processes",
                                     description="PSS of a process tree by kind, until its root ends.")
    parser.add_argument("pid", type=int)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between samples (default 1)")
    parser.add_argument("--keep-every", type=float, default=20.0, help="seconds between kept samples (default 20)")
    parser.add_argument("--json", default=None, help="write the peaks and the kept samples here")
    args = parser.parse_args(argv)
    sampler = Sampler(args.pid, interval=args.every, keep_every=args.keep_every)
    sampler._started = time.monotonic()
    try:
        root = psutil.Process(args.pid)
    except psutil.NoSuchProcess:
        root = None
    while root is not None and root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
        sample = sampler.sample()
        if sampler.samples and sampler.samples[-1] is sample:
            print(json.dumps(sample.as_mib()), flush=True)
        try:  # the next sample is due in `every` seconds, or none when the root ends first
            root.wait(timeout=args.every)
        except psutil.TimeoutExpired:
            continue
        except psutil.NoSuchProcess:
            break
        break
    result = {"peak_mib": round(sampler.peak_kib / 1024), "peak_mib_by_group": sampler.peak_mib_by_group(),
              "samples": [sample.as_mib() for sample in sampler.samples]}
    print(json.dumps({key: value for key, value in result.items() if key != "samples"}), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
