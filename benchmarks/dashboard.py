"""Dashboard benchmark in headless Chromium (`make bench`).

1. Time to first usable render of the assessment dashboard (banner present) as a ratio to an
   empty one-checkbox page, both served by the same Voilà process with the same config
   (preheated kernels), measured alternately in the same run. Goal <= 1.25.
2. Latency from a red-flag "Yes" click to the banner reading `emergency`, measured in the page
   with a MutationObserver. Goal <= 250 ms.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 5
REFILL_WAIT_S = 12.0  # let the preheated pool refill between loads
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
CLICK_JS = """async () => {
  const btn = [...document.querySelectorAll('.finding-saddle_or_leg_numbness button')]
      .find(b => b.textContent.trim() === 'Yes');
  const t0 = performance.now();
  const done = new Promise(ok => {
    const obs = new MutationObserver(() => {
      if (document.querySelector(".ub-banner[data-urgency='emergency']")) {
        obs.disconnect(); ok(performance.now() - t0); }
    });
    obs.observe(document.body, {subtree: true, childList: true, characterData: true,
                                attributes: true});
  });
  btn.click();
  return await done;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _baseline(folder: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Baseline"),
                nbformat.v4.new_code_cell("import ipywidgets as w\nbox = w.Checkbox("
                                          "description='ok')\nbox.add_class('baseline')\nbox")]
    nbformat.write(nb, folder / "empty.ipynb")


def _load(page: Page, url: str, ready: str) -> float:
    t = time.perf_counter()
    page.goto(url, timeout=120_000)
    page.wait_for_selector("#loading", state="detached", timeout=120_000)
    page.wait_for_selector(ready, timeout=120_000)
    return time.perf_counter() - t


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ub-bench-"))
    shutil.copy(REPO / "notebooks" / "clinician" / "assessment.ipynb", work)
    _baseline(work)
    port = _free_port()
    pools = {"assessment.ipynb": {"pool_size": 1}, "empty.ipynb": {"pool_size": 1},
             "default": {"pool_size": 0}}
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1")  # the template is installed with us
    log = (work / "voila.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", str(work), "--no-browser", f"--port={port}",
         "--Voila.port_retries=0",
         f"--VoilaKernelManager.kernel_pools_config={json.dumps(pools)}"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/voila/render"
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(REFILL_WAIT_S)  # both pools warm before the first measurement
        dash: list[float] = []
        empty: list[float] = []
        clicks: list[float] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for _ in range(ROUNDS):
                for name, ready, out in (("empty.ipynb", ".baseline input", empty),
                                         ("assessment.ipynb", ".ub-banner[data-urgency]",
                                          dash)):
                    page = browser.new_page()
                    out.append(_load(page, f"{base}/{name}", ready))
                    if name == "assessment.ipynb":
                        clicks.append(float(page.evaluate(CLICK_JS)))
                    page.close()
                    time.sleep(REFILL_WAIT_S)
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    d, e, c = statistics.median(dash), statistics.median(empty), statistics.median(clicks)
    print(f"dashboard first usable render: median {d:.2f} s  (runs: "
          f"{', '.join(f'{x:.2f}' for x in dash)})")
    print(f"empty one-checkbox page:       median {e:.2f} s  (runs: "
          f"{', '.join(f'{x:.2f}' for x in empty)})")
    print(f"ratio {d / e:.2f} (goal <= 1.25): {'MET' if d / e <= 1.25 else 'NOT MET'}")
    print(f"red-flag click -> banner 'emergency': median {c:.0f} ms (runs: "
          f"{', '.join(f'{x:.0f}' for x in clicks)}) (goal <= 250 ms): "
          f"{'MET' if c <= 250 else 'NOT MET'}")


if __name__ == "__main__":
    main()
