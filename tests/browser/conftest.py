"""Browser fixtures: one Voilà server serving notebooks/ for the whole session, Debian's
Chromium through Playwright, and `open_notebook`, which fails the test on any browser console
error or any request to a host other than the server.

Other suites may use these: `voila_url`, `browser`, `open_notebook("teaching/x.ipynb")`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def voila_env() -> dict[str, str]:
    """The environment `make serve` gives Voilà: none of our own. The template is found where
    the install put it (the environment's share/jupyter), as plain `voila` finds it."""
    env = dict(os.environ)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("JUPYTER_PATH", None)
    env.pop("PYTHONWARNINGS", None)  # pytest's warnings-as-errors is for the tests, not Voilà
    return env


def start_voila(root: Path, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Voilà serving `root` with the repo's voila.json (read from the working directory)."""
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", str(root), "--no-browser", f"--port={port}",
             "--Voila.port_retries=0", *extra],
            cwd=REPO, env=voila_env(), stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Voilà exited early; see {log}:\n{log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"Voilà did not open port {port}; see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="session")
def voila_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    proc = start_voila(REPO / "notebooks", port, log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_notebook(voila_url: str, browser: Browser) -> Iterator[Callable[[str], Page]]:
    """`open_notebook("clinician/assessment.ipynb")` -> a rendered Page. At teardown the test
    fails on browser console errors or on requests to any other host."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    errors: list[str] = []
    outside: list[str] = []

    def on_request(url: str) -> None:
        if not url.startswith((voila_url, voila_url.replace("http", "ws", 1), "data:", "blob:")):
            outside.append(url)

    def open_(relpath: str) -> Page:
        page = context.new_page()
        page.on("console", lambda m: errors.append(f"{relpath}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{relpath}: {e}"))
        page.on("request", lambda r: on_request(r.url))
        page.on("websocket", lambda ws: on_request(ws.url))
        page.goto(f"{voila_url}/voila/render/{relpath}", timeout=120_000)
        page.wait_for_selector("#loading", state="detached", timeout=120_000)
        return page

    yield open_
    context.close()
    assert not errors, f"browser console errors: {errors}"
    assert not outside, f"requests to other hosts: {outside}"
