"""`python -m bistand bench --world FILE --watch-latency N [--json OUT]`: Älmhult's instant answer, measured.

Starts the simulators on a fresh copy of the world (its households, registers and frames; the
inbox starts empty, so the watcher is idle as it is most of the day), starts a watcher in automated
mode (`work --watch 10`), measures its idle CPU for a minute, then lets N citizens file a standard
re-application one after the other through the e-service's citizen pages in a browser, as a
citizen would: log in, open the form, give the bank balance, press "Skicka ansökan". Each latency
runs from that press to the moment the citizen's own view of the application shows the
municipality's message. Finally the watcher is stopped with SIGTERM and must exit 0.

Citizens come from the world's standard re-applications (reapplication, no blocking finding and
no declared income), taken in turn. Nothing personal is printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from bistand.bench.harness import Simulators, bot_env, percentile
from bistand.bench.processes import tree_cpu
from bistand.browser import BrowserSession
from bistand.run.exit_codes import ExitCode
from bistand.settings import ROOT

WATCH_SECONDS = 10
ANSWER_TIMEOUT_S = 180.0
IDLE_WINDOW_S = 60.0
NON_BLOCKING = {"COST_CAPPED", "ASSETS_COUNTED"}


@dataclass
class Filing:
    application_id: str
    latency_s: float | None = None
    decided_by_robot: bool = False


@dataclass
class WatchBench:
    filings: list[Filing] = field(default_factory=list)
    idle_cpu_s_per_min: float = 0.0
    stop_exit_code: int | None = None
    stop_s: float = 0.0


def quiet_world(world: dict) -> dict:
    """The world with an empty inbox: the same households, registers and frames."""
    return {**world, "applications": [], "expected": {}}


def standard_applicants(world: dict) -> list[str]:
    """Personnummer of the applicants whose re-application in the world is standard."""
    households = {h["case_number"]: h for h in world["households"]}
    found = []
    for application in world["applications"]:
        expected = world.get("expected", {}).get(application["application_id"], {})
        if (application.get("kind") != "reapplication" or application.get("declared_incomes")
                or not set(expected.get("findings", ["?"])) <= NON_BLOCKING):
            continue
        members = households[application["case_number"]]["members"]
        found += [m["personnummer"] for m in members if m["role"] == "applicant"]
    return found


def start_watcher(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bistand", "work", "--watch", str(WATCH_SECONDS), "--mode", "automated"],
        cwd=ROOT, env=env, stdout=log.open("w", encoding="utf-8"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until_idle(watcher: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    """The watcher's browser is up and logged in when its CPU use settles (< 0.3 s in 3 s)."""
    started = time.monotonic()

    def up() -> bool:
        if watcher.poll() is not None:
            raise SystemExit("the watcher did not start:\n" + log.read_text(encoding="utf-8")[-3000:])
        return "Browser:" in log.read_text(encoding="utf-8")

    try:  # its log is a file another process writes: looked at every 0.2 s (tenacity)
        Retrying(retry=retry_if_result(lambda seen: not seen), wait=wait_fixed(0.2),
                 stop=stop_after_delay(timeout), reraise=True)(up)
    except RetryError:
        raise SystemExit("the watcher did not start:\n" + log.read_text(encoding="utf-8")[-3000:]) from None
    before = sum(tree_cpu(watcher.pid).values())
    while time.monotonic() - started < timeout:
        stay_up(watcher, 3)
        now = sum(tree_cpu(watcher.pid).values())
        if now - before < 0.3:
            return
        before = now
    raise SystemExit("the watcher never became idle")


def stay_up(watcher: subprocess.Popen, seconds: float) -> None:
    """A measuring window: waits on the watcher for `seconds`; it must not exit meanwhile."""
    try:
        watcher.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return
    raise SystemExit(f"the watcher exited (code {watcher.returncode}) while it was being measured")


def idle_cpu_per_minute(watcher: subprocess.Popen, window: float = IDLE_WINDOW_S) -> float:
    """CPU seconds the whole watcher (runner, Robot Framework, browser) uses per idle minute."""
    before = sum(tree_cpu(watcher.pid).values())
    stay_up(watcher, window)
    return (sum(tree_cpu(watcher.pid).values()) - before) * 60 / window


async def file_reapplication(context, eservice_url: str, personnummer: str):
    """A citizen logs in and files a re-application; returns (their page on it, its id, the press time)."""
    page = await context.new_page()
    await page.goto(f"{eservice_url}/medborgare/logga-ut")
    await page.get_by_label("Personnummer").fill(personnummer)
    await page.get_by_role("button", name="Logga in med BankID").click()
    await page.wait_for_url("**/medborgare/ansokningar")
    await page.goto(f"{eservice_url}/medborgare/ny")
    await page.get_by_label("Saldo på bankkonto (kr)").fill("0")
    submitted = time.monotonic()
    await page.get_by_role("button", name="Skicka ansökan").click()
    await page.wait_for_url("**/medborgare/ansokningar/*?tack=1")
    return page, page.url.split("?")[0].rsplit("/", 1)[1], submitted


async def wait_for_message(page, submitted: float, timeout: float = ANSWER_TIMEOUT_S) -> tuple[float | None, list[str]]:
    """The citizen looks at their application until a message shows: (seconds since the press, the
    messages), or (None, []) after `timeout`."""
    messages = page.locator("#meddelanden tbody tr:not(.tom) .meddelandetext")
    while time.monotonic() - submitted < timeout:
        if await messages.count():
            return time.monotonic() - submitted, await messages.all_inner_texts()
        await asyncio.sleep(0.5)  # the citizen looks again
        await page.reload()
    return None, []


async def file_and_wait(context, eservice_url: str, personnummer: str, timeout: float = ANSWER_TIMEOUT_S) -> Filing:
    """One citizen: file a re-application, then watch it until the municipality's message shows."""
    page, application_id, submitted = await file_reapplication(context, eservice_url, personnummer)
    try:
        latency, texts = await wait_for_message(page, submitted, timeout)
        return Filing(application_id=application_id, latency_s=latency,
                      decided_by_robot=bool(texts) and texts[0].startswith("Beslut om"))
    finally:
        await page.close()


def file_all(eservice_url: str, applicants: list[str], count: int) -> list[Filing]:
    async def citizens(session: BrowserSession) -> list[Filing]:
        context = await session.browser.new_context()
        try:
            return [await file_and_wait(context, eservice_url, applicants[n % len(applicants)])
                    for n in range(count)]
        finally:
            await context.close()

    with BrowserSession(headless=True) as session:
        return session.run(citizens(session), timeout=None)


def run_watch_bench(world_path: Path, count: int, work: Path) -> WatchBench:
    world = json.loads(world_path.read_text(encoding="utf-8"))
    applicants = standard_applicants(world)
    if not applicants:
        raise SystemExit(f"{world_path.name} has no standard re-application to copy a citizen from")
    copy = work / "world.json"
    copy.write_text(json.dumps(quiet_world(world), ensure_ascii=False), encoding="utf-8")
    sims = Simulators(copy, work / "sims")
    result = WatchBench()
    watcher = None
    try:
        env = bot_env(sims.urls, sims.state_dir / "frames", work, "headless-shell", "fetch")
        env["BISTAND_MODE"] = "automated"
        log = work / "watch.log"
        watcher = start_watcher(env, log)
        wait_until_idle(watcher, log)
        result.idle_cpu_s_per_min = idle_cpu_per_minute(watcher)
        result.filings = file_all(sims.urls["eservice"], applicants, count)
        stop_started = time.monotonic()
        watcher.send_signal(signal.SIGTERM)
        result.stop_exit_code = watcher.wait(timeout=300)
        result.stop_s = time.monotonic() - stop_started
    finally:
        if watcher is not None and watcher.poll() is None:
            os.killpg(watcher.pid, signal.SIGKILL)
            watcher.wait()
        sims.stop()
    return result


def figures(bench: WatchBench, world: str, count: int) -> dict:
    latencies = [f.latency_s for f in bench.filings if f.latency_s is not None]
    return {
        "world": world,
        "watch_filed": count,
        "watch_answered": len(latencies),
        "watch_decided_by_robot": sum(f.decided_by_robot for f in bench.filings if f.latency_s is not None),
        "watch_latency_median_s": round(statistics.median(latencies), 2) if latencies else None,
        "watch_latency_p95_s": round(percentile(latencies, 0.95), 2) if latencies else None,
        "watch_latency_max_s": round(max(latencies), 2) if latencies else None,
        "watch_poll_seconds": WATCH_SECONDS,
        "watch_idle_cpu_s_per_min": round(bench.idle_cpu_s_per_min, 2),
        "watch_stop_exit_code": bench.stop_exit_code,
        "watch_stop_s": round(bench.stop_s, 1),
        "machine": {"cores": os.cpu_count(), "load": round(os.getloadavg()[0], 2)},
    }


def main(world: Path, count: int, json_out: Path | None) -> int:
    if count < 1:
        print("--watch-latency needs at least one application", flush=True)
        return ExitCode.USAGE
    work = Path(tempfile.mkdtemp(prefix="bistand-watch-bench-"))
    result = figures(run_watch_bench(world.resolve(), count, work), world.name, count)
    print(f"world:                    {result['world']} (automated, watch every {WATCH_SECONDS} s)")
    print(f"answered:                 {result['watch_answered']} of {count} "
          f"({result['watch_decided_by_robot']} decided by the robot)")
    print(f"latency median / p95:     {result['watch_latency_median_s']} s / {result['watch_latency_p95_s']} s "
          f"(max {result['watch_latency_max_s']} s)")
    print(f"idle CPU:                 {result['watch_idle_cpu_s_per_min']} s per minute (whole watcher tree)")
    print(f"SIGTERM:                  exit {result['watch_stop_exit_code']} after {result['watch_stop_s']} s")
    print(f"evidence:                 {work}")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"written to {json_out}")
    answered = result["watch_answered"] == count and result["watch_stop_exit_code"] == ExitCode.OK
    return ExitCode.OK if answered else ExitCode.SYSTEM_FAILURES
