"""Run the real bot (`python -m bistand ...`) against simulators started by the tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from simulators.registry import SYSTEMS
from tests.simulator_process import ROOT, Simulators


@dataclass
class BotRun:
    code: int
    stdout: str
    stderr: str = ""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def last_line(self) -> str:
        """The last line on standard output: the verdict."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def vault_env(work_dir: Path) -> dict[str, str]:
    """The bot's credentials configured explicitly, as an installation does: a vault file of its own
    (a copy of the simulators' robot accounts); the committed devdata/vault.json is the demo's only."""
    vault = work_dir / "vault.json"
    if not vault.exists():
        work_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "devdata" / "vault.json", vault)
        vault.chmod(0o600)
    return {"RPA_SECRET_MANAGER": "RPA.Robocorp.Vault.FileSecrets", "RPA_SECRET_FILE": str(vault)}


def bot_env(sims: Simulators, work_dir: Path, mode: str = "support", **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(vault_env(work_dir))
    for index, system in enumerate(SYSTEMS):
        env[f"BISTAND_URL_{system.key.upper()}"] = f"http://127.0.0.1:{sims.base_port + index}"
    env.update({
        "BISTAND_FRAMES_DIR": str(sims.frames_dir),
        "BISTAND_STATE_DIR": str(work_dir / "bot-state"),
        "BISTAND_OUTPUT_DIR": str(work_dir / "output"),
        "BISTAND_MODE": mode,
        # Short back-off for tests (the default rides out a portal restart: about a minute).
        "BISTAND_ATTEMPTS": "3",
        "BISTAND_BACKOFF": "0.1",
        "BISTAND_BACKOFF_MAX": "0.4",
        "BISTAND_BACKOFF_JITTER": "0",
    })
    env.update(extra)
    return env


def run_bot(env: dict[str, str], *args: str, timeout: float = 600) -> BotRun:
    result = subprocess.run(
        [sys.executable, "-m", "bistand", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout,
    )
    return BotRun(result.returncode, result.stdout, result.stderr)


def start_runner(env: dict[str, str], name: str) -> subprocess.Popen:
    """`python -m bistand work --until-empty` as runner `name`, in a process group of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "bistand", "work", "--until-empty"], cwd=ROOT,
        env={**env, "BISTAND_RUNNER_ID": name}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )


def writes_per_application(data: dict, key: str) -> dict[str, int]:
    """Application id → how many of `key` ("decisions", "payments", ...) the export holds for it."""
    found: dict[str, int] = {}
    for case in data["cases"]:
        for entry in case[key]:
            found[entry["application_id"]] = found.get(entry["application_id"], 0) + 1
    return found


def export(sims: Simulators) -> dict:
    """The case-management system's export (for tests only; the bot never uses it)."""
    with httpx.Client(base_url=sims.urls["casemgmt"], follow_redirects=True, timeout=30) as client:
        client.post("/login", data={"username": "demo", "password": "demo", "next": "/"})
        response = client.get("/api/export")
        response.raise_for_status()
        return response.json()


def world_people(world: dict) -> tuple[set[str], set[str]]:
    """Every personnummer (both spellings) and full name in a world."""
    numbers: set[str] = set()
    names: set[str] = set()
    people = [m for h in world["households"] for m in h["members"]]
    people += world["registers"].get("skv", {}).get("population", [])
    for person in people:
        pnr = person["personnummer"]
        numbers |= {pnr, pnr.replace("-", ""), pnr[2:], pnr[2:].replace("-", "")}
        names.add(f"{person['first_name']} {person['last_name']}")
    return numbers, names


def log_files(output_dir: Path) -> list[Path]:
    return [p for p in output_dir.rglob("*") if p.name in {"output.xml", "log.html"}]


def leaks(text: str, numbers: set[str], names: set[str]) -> list[str]:
    found = [n for n in numbers if re.search(rf"(?<!\d){re.escape(n)}(?!\d)", text)]
    found += [n for n in names if n in text]
    return sorted(found)


def load_world(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def subset_world(world: dict, application_ids: list[str], out: Path) -> Path:
    """A copy of `world` with only some applications (and their expected outcomes), written to `out`.

    Households, registers and frames stay whole, so every kept application reads exactly as in
    the full world; the bot just has fewer items to process.
    """
    keep = set(application_ids)
    small = dict(world)
    small["applications"] = [a for a in world["applications"] if a["application_id"] in keep]
    small["expected"] = {k: v for k, v in world.get("expected", {}).items() if k in keep}
    out.write_text(json.dumps(small, ensure_ascii=False), encoding="utf-8")
    return out


AUTOMATED_ONLY_BLOCKING = {"FIRST_APPLICATION", "NORM_UNVERIFIED"}
"""Findings that send an application to a caseworker in automated mode only (RULES.md §5)."""


def expected_bases(world: dict, mode: str = "support") -> dict[str, tuple[str, int, list[str]]]:
    """Application id → (proposal, amount, findings) of the decision basis the world expects. The
    world's `expected` is support mode's; automated mode hands the applications with a finding
    that blocks only there to a caseworker (manual_review, same amount)."""
    bases = {}
    for application_id, outcome in world["expected"].items():
        findings = sorted(outcome.get("findings", []))
        proposal = outcome["proposal"]
        if mode == "automated" and AUTOMATED_ONLY_BLOCKING & set(findings):
            proposal = "manual_review"
        bases[application_id] = (proposal, outcome["amount"], findings)
    return bases


def written_bases(data: dict) -> dict[str, tuple[str, int, list[str]]]:
    """Application id → (proposal, amount, findings) of its latest decision basis in the export."""
    return {i: (e["proposal"], e["amount"], sorted(e["findings"])) for i, e in data["latest_decision_basis"].items()}


WRITES = ("decision_bases", "decisions", "payments", "applications")
"""What the bot writes into the case-management system per application (the export's lists)."""


def duplicate_writes(data: dict) -> dict[str, dict[str, int]]:
    """Kind of write → application id → how many times it is there, for those there more than once."""
    return {kind: {i: n for i, n in writes_per_application(data, kind).items() if n > 1} for kind in WRITES}


def runner_lines(output: str, outcome: str) -> list[str]:
    """Application ids a runner's console lists with `outcome` ("[n] ANS-… DONE …")."""
    return [line.split()[1] for line in output.splitlines()
            if line.startswith("[") and len(line.split()) > 2 and line.split()[2] == outcome]


def fault_figures(fault: str, data: dict, states: dict[str, str], outputs: dict[str, str]) -> dict:
    """What a fault did, for docs/queue.md's table: items each runner finished (DONE) and stopped
    (LEASE_LOST), decision bases written, duplicate writes, items left behind (not done)."""
    figures = {
        "fault": fault,
        "items": len(states),
        "finished": {name: len(runner_lines(output, "DONE")) for name, output in outputs.items()},
        "stopped_lease_lost": {name: len(runner_lines(output, "LEASE_LOST")) for name, output in outputs.items()},
        "decision_bases": sum(len(case["decision_bases"]) for case in data["cases"]),
        "decisions": sum(len(case["decisions"]) for case in data["cases"]),
        "payments": sum(len(case["payments"]) for case in data["cases"]),
        "duplicates": sum(n - 1 for kind in duplicate_writes(data).values() for n in kind.values()),
        "left_behind": sorted(i for i, state in states.items() if state != "done"),
    }
    print("FAULT FIGURES", json.dumps(figures, ensure_ascii=False))  # for docs/queue.md's table
    return figures


def on_host(netns: str | None) -> list[str]:
    """The command prefix that runs a process on another "host": inside network namespace `netns`."""
    return ["ip", "netns", "exec", netns] if netns else []


def host_env(sims: Simulators, work_dir: Path, mode: str = "support", **extra: str) -> dict[str, str]:
    """`bot_env` for a runner on another host: the systems by the address they listen on (sims.urls),
    not loopback; state, output and vault of its own under `work_dir`."""
    env = bot_env(sims, work_dir, mode, **extra)
    env.update({f"BISTAND_URL_{key.upper()}": url for key, url in sims.urls.items()})
    return env


def run_bot_on(netns: str | None, env: dict[str, str], *args: str, timeout: float = 600) -> BotRun:
    """`python -m bistand ARGS` on another host (network namespace `netns`)."""
    result = subprocess.run([*on_host(netns), sys.executable, "-m", "bistand", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    return BotRun(result.returncode, result.stdout, result.stderr)


def start_runner_on(netns: str | None, env: dict[str, str], name: str, log: Path) -> subprocess.Popen:
    """`python -m bistand work --until-empty` as runner `name` on another host (network namespace
    `netns`), its output in `log`, in a process group of its own."""
    with log.open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [*on_host(netns), sys.executable, "-m", "bistand", "work", "--until-empty"], cwd=ROOT,
            env={**env, "BISTAND_RUNNER_ID": name}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def wait_until(condition, timeout: float, what: str, every: float = 0.2):
    """What `condition()` returns once it is truthy; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)  # poll what the runners, the queue or the systems show
    raise AssertionError(f"{what} not within {timeout:.0f} s")
