"""The clinic server (`make hub`): JupyterHub with NativeAuthenticator sign-in, approval by an
administrator, one Voila server per clinician. Driven in Debian's Chromium."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ADMIN = "lead-clinician"
READY = ".ub-banner[data-urgency]"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy").exists(),
        reason="configurable-http-proxy is not installed: run `make hub-deps` (npm)"),
]


def _hub_port() -> int:
    """A free port whose next two (the proxy's and the hub's APIs) are free as well."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            for p in (port, port + 1, port + 2):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
    raise RuntimeError("no three free ports in a row")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("hub")
    port = _hub_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "JUPYTER_PATH")}
    env |= {"UPPERBACK_HUB_PORT": str(port), "UPPERBACK_HUB_ADMIN": ADMIN,
            "UPPERBACK_HUB_STATE": str(state), "UPPERBACK_HUB_IDLE": "600",
            "JUPYTER_PLATFORM_DIRS": "1"}
    log = state / "hub.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("jupyterhub")), "-f",
             str(DEPLOY / "jupyterhub_config.py")],
            cwd=state, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterHub did not start:\n{log.read_text()[-3000:]}")
            try:  # the proxy answers first; the hub's API once its routes are in
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/api", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        # The hub's session holds the proxy and the clinicians' servers: end that group only.
        os.killpg(proc.pid, 15)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        shutil.rmtree(state / "homes", ignore_errors=True)


def _guard(page: Page, base: str) -> list[str]:
    """Collect requests to any other host and browser console errors."""
    bad: list[str] = []
    host = urlparse(base).netloc
    page.on("request", lambda r: bad.append(f"request to {r.url}")
            if urlparse(r.url).netloc not in ("", host) and not r.url.startswith("data:")
            else None)
    page.on("console", lambda m: bad.append(f"console {m.text}") if m.type == "error" else None)
    return bad


def _sign_up(page: Page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/hub/signup")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.fill("#password_confirmation_input", password)
    page.click("#signup_submit")
    page.wait_for_load_state()


def _sign_in(page: Page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_load_state()


@pytest.fixture(scope="module")
def clinicians(hub: str, browser: Browser) -> Iterator[dict[str, BrowserContext]]:
    """The administrator signs up (pre-approved by name), two clinicians sign up and are
    approved at /hub/authorize; each clinician signed in, in a browser context of their own."""
    passwords = {name: secrets.token_urlsafe(12) for name in (ADMIN, "dr-a", "dr-b")}
    admin = browser.new_context()
    page = admin.new_page()
    _sign_up(page, hub, ADMIN, passwords[ADMIN])
    contexts: dict[str, BrowserContext] = {}
    for name in ("dr-a", "dr-b"):
        ctx = browser.new_context()
        p = ctx.new_page()
        _sign_up(p, hub, name, passwords[name])
        _sign_in(p, hub, name, passwords[name])  # not approved yet: refused
        assert "/hub/login" in p.url
        assert p.locator("#password_input").count() == 1
        p.close()
        contexts[name] = ctx
    _sign_in(page, hub, ADMIN, passwords[ADMIN])
    page.goto(f"{hub}/hub/authorize")
    for name in contexts:
        page.click(f"a[href$='authorize/{name}']")
        page.wait_for_load_state()
    admin.close()
    for name, ctx in contexts.items():
        p = ctx.new_page()
        _sign_in(p, hub, name, passwords[name])
        p.close()
    yield contexts
    for ctx in contexts.values():
        ctx.close()


@pytest.mark.parametrize("path", [
    "/", "/hub/home", "/hub/admin", "/hub/authorize", "/hub/spawn",
    "/user/dr-a/", "/user/dr-a/voila/render/assessment.ipynb", "/user/nobody/api/kernels",
    "/no/such/page",
])
def test_anonymous_visitor_reaches_only_the_sign_in_page(
    hub: str, browser: Browser, path: str
) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    bad = _guard(page, hub)
    page.goto(hub + path)
    page.wait_for_url(f"{hub}/hub/login**", timeout=30_000)  # a redirect, or an error page's
    page.wait_for_load_state()
    assert page.locator("#password_input").count() == 1
    assert page.locator(".ub-banner").count() == 0
    # The refusal itself (a 403 or 404 status) is the only console error allowed.
    assert [b for b in bad if "responded with a status of 40" not in b] == []
    ctx.close()


def _open_assessment(ctx: BrowserContext, hub: str, user: str) -> tuple[Page, list[str]]:
    page = ctx.new_page()
    bad = _guard(page, hub)
    # Signing in starts the clinician's own server, which opens on the assessment.
    page.goto(f"{hub}/hub/spawn", timeout=180_000)
    page.wait_for_url(f"{hub}/user/{user}/voila/render/assessment.ipynb*", timeout=180_000)
    page.wait_for_selector(READY, timeout=180_000)
    return page, bad


def test_two_clinicians_in_parallel_each_get_their_own_answers(
    hub: str, clinicians: dict[str, BrowserContext]
) -> None:
    a, bad_a = _open_assessment(clinicians["dr-a"], hub, "dr-a")
    b, bad_b = _open_assessment(clinicians["dr-b"], hub, "dr-b")
    a.locator(".finding-saddle_or_leg_numbness button", has_text="Yes").click()
    a.wait_for_selector(".ub-banner[data-urgency='emergency']", timeout=30_000)
    b.locator(".finding-fever button", has_text="Yes").click()
    b.wait_for_timeout(1500)
    assert b.locator(".ub-banner").get_attribute("data-urgency") != "emergency"
    assert a.locator(".ub-banner").get_attribute("data-urgency") == "emergency"
    assert urlparse(a.url).path.startswith("/user/dr-a/")
    assert urlparse(b.url).path.startswith("/user/dr-b/")
    assert bad_a == []
    assert bad_b == []
    a.close()
    b.close()


@pytest.mark.parametrize("path", ["voila/render/assessment.ipynb", "api/kernels", "api/contents"])
def test_a_clinician_is_refused_at_another_clinicians_server(
    hub: str, clinicians: dict[str, BrowserContext], path: str
) -> None:
    _open_assessment(clinicians["dr-b"], hub, "dr-b")[0].close()  # B's server is running
    page = clinicians["dr-a"].new_page()
    response = page.goto(f"{hub}/user/dr-b/{path}", timeout=120_000)
    page.wait_for_load_state()
    assert response is not None
    assert response.status == 403 or "/user/dr-b/" not in page.url, page.url
    assert page.locator(".ub-banner").count() == 0
    body = page.locator("body").inner_text()
    assert '"id"' not in body
    page.close()
