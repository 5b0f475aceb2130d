"""Sixteen at once: with the shipped voila.json (as `make serve` runs it), sixteen clinicians
open the assessment at the same moment in headless Chromium. Goal: the slowest is usable (its
urgency banner drawn) within max(4 x a lone viewer, 2 s). Also prints the memory each viewer's
kernel costs, for sizing a server.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
from playwright.async_api import Browser, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parents[1]
VIEWERS = int(os.environ.get("UB_VIEWERS", "16"))
LONE_ROUNDS = 3
POOL_WAIT_S = 240.0
TIMEOUT_S = 120
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
READY = ".ub-banner[data-urgency]"  # upper bound for the preheated pool to fill


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kernels(server: psutil.Process) -> list[psutil.Process]:
    return [p for p in server.children(recursive=True)
            if "ipykernel" in " ".join(p.cmdline())]


def _wait_for_pool(server: psutil.Process, want: int) -> None:
    """Until `want` kernels run and the CPU is quiet (the pool has executed the notebook)."""
    deadline = time.monotonic() + POOL_WAIT_S
    while time.monotonic() < deadline:
        ks = _kernels(server)
        if len(ks) >= want and sum(k.cpu_percent(0.5) for k in ks) < 5:
            return
        time.sleep(0.5)


async def _open(browser: Browser, url: str) -> float:
    """Seconds until the page is usable: the urgency banner drawn from the kernel's widgets."""
    page = await browser.new_page()
    t = time.perf_counter()
    try:
        await page.goto(url, timeout=TIMEOUT_S * 1000)
        await page.wait_for_selector(READY, timeout=TIMEOUT_S * 1000)
    except PlaywrightTimeout:
        return math.inf  # never usable: counted, and the goal is not met
    finally:
        took = time.perf_counter() - t
        await page.close()
    return took


async def _measure(url: str, server: psutil.Process, pool: int) -> tuple[list[float], list[float]]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        lone = []
        for _ in range(LONE_ROUNDS):
            _wait_for_pool(server, pool)
            lone.append(await _open(browser, url))
        _wait_for_pool(server, pool)
        many = list(await asyncio.gather(*(_open(browser, url) for _ in range(VIEWERS))))
        await browser.close()
    return lone, many


def main() -> None:
    port = _free_port()
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1")
    for name in ("JUPYTER_PATH", "PYTHONWARNINGS"):
        env.pop(name, None)
    log = Path(os.environ.get("UB_BENCH_LOG", os.devnull)).open("wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", "notebooks/clinician", "--no-browser", f"--port={port}"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = psutil.Process(proc.pid)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.2)
        pools = json.loads((REPO / "voila.json").read_text())["VoilaKernelManager"]
        pool = int(pools["kernel_pools_config"].get("assessment.ipynb", {}).get("pool_size", 0))
        url = f"http://127.0.0.1:{port}/voila/render/assessment.ipynb"
        lone, many = asyncio.run(_measure(url, server, pool))
        ks = _kernels(server)
        rss = [k.memory_full_info().uss for k in ks]
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    base = statistics.median(lone)
    goal = max(4 * base, 2.0)
    slowest = max(many)
    failed = sum(math.isinf(x) for x in many)
    print(f"lone viewer: median {base:.2f} s (runs: {', '.join(f'{x:.2f}' for x in lone)}); "
          f"preheated pool {pool}")
    print(f"{VIEWERS} viewers at once: slowest {slowest:.2f} s, median "
          f"{statistics.median(many):.2f} s; ratio to lone {slowest / base:.2f}; "
          f"goal <= max(4 x lone, 2 s) = {goal:.2f} s: {'MET' if slowest <= goal else 'NOT MET'}"
          + (f" ({failed} never rendered within {TIMEOUT_S} s)" if failed else ""))
    print(f"memory per viewer (kernel unique set size): median "
          f"{statistics.median(rss) / 2**20:.0f} MiB over {len(rss)} kernels")


if __name__ == "__main__":
    main()
