"""What the browser tests do to any page: run axe-core on it, kill the kernel behind it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"


def axe_violations(page: Page) -> list[dict[str, object]]:
    """Every axe-core violation on the page, whatever its impact (axe from npm, offline)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing: run `npm ci --prefix {AXE.parents[2]}`")
    page.add_script_tag(path=str(AXE))
    result: list[dict[str, object]] = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }""")
    return result


def kill_kernel(page: Page) -> None:
    """SIGKILL the kernel behind a Voila page, as a crash would."""
    kernel_id = page.evaluate(
        "JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    killed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().decode(errors="ignore")
        except OSError:
            continue
        if kernel_id in cmd and "ipykernel" in cmd:
            os.kill(int(proc.name), signal.SIGKILL)
            killed += 1
    assert killed == 1, f"kernel {kernel_id} not found"
