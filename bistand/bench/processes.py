"""A process tree's memory (PSS) and CPU by kind of process, sampled from /proc (Linux)."""

from __future__ import annotations

import os
import resource
import threading
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def pss_kib(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return 0
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


def cpu_of(pid: int) -> tuple[str, float]:
    """(process kind, user+system CPU seconds so far)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "", 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return kind_of(cmdline), (int(fields[11]) + int(fields[12])) / TICKS


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
class Sampler:
    """Samples a process tree every `interval` s: peak PSS, and the last CPU seen per process."""

    pid: int
    interval: float = 0.25
    peak_kib: int = 0
    peak_processes: int = 0
    last_cpu: dict[int, tuple[str, float]] = field(default_factory=dict)
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set():
            pids = tree(self.pid)
            for pid in pids:
                kind, seconds = cpu_of(pid)
                if kind:
                    self.last_cpu[pid] = (kind, seconds)
            total = sum(pss_kib(pid) for pid in pids)
            if total > self.peak_kib:
                self.peak_kib, self.peak_processes = total, len(pids)
            self._done.wait(self.interval)

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
