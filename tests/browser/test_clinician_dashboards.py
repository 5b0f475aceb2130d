"""The clinician dashboards in a real browser, against one Voilà server for the session."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

import upperback
from upperback import export

pytestmark = pytest.mark.browser
ASSESSMENT = "clinician/assessment.ipynb"
Opener = Callable[[str], Page]
_N_PRESCRIPTION = sum(t.access == "prescription"
                      for t in upperback.load_knowledge_base().treatments.values())


def yes(page: Page, fid: str) -> None:
    page.locator(f".finding-{fid} button", has_text="Yes").click()


def banner(page: Page, urgency: str) -> None:
    expect(page.locator(f".ub-summary .ub-banner[data-urgency='{urgency}']")).to_be_visible()


def upload(page: Page, path: Path) -> None:
    # ipywidgets' FileUpload keeps its <input type=file> out of the DOM: use the chooser.
    with page.expect_file_chooser() as chooser:
        page.locator(".ub-upload").click()
    chooser.value.set_files(str(path))


def ready(page: Page) -> None:
    page.wait_for_selector(".ub-summary .ub-banner[data-urgency]", timeout=60_000)


def test_assessment_answer_export_reset(open_notebook: Opener, tmp_path: Path) -> None:
    kb = upperback.load_knowledge_base()
    page = open_notebook(ASSESSMENT)
    ready(page)
    banner(page, "incomplete")
    expect(page.locator(".ub-footer").first).to_contain_text(kb.version)
    yes(page, "fever")
    banner(page, "see_provider")
    expect(page.locator(".ub-summary .ub-emergency-incomplete")).to_contain_text(
        "Emergency screen incomplete")
    yes(page, "heavy_lifting")
    expect(page.locator(".ub-top-causes")).to_contain_text("Back strain")
    yes(page, "saddle_or_leg_numbness")
    banner(page, "emergency")
    expect(page.locator(".ub-results-body")).to_contain_text("secondary")
    page.locator(".finding-saddle_or_leg_numbness button", has_text="Clear").click()
    banner(page, "see_provider")

    page.locator(".ub-assessor input").fill("Dr Browser")
    page.locator(".ub-note textarea").fill("seen in clinic")
    expect(page.locator(".ub-download-html")).to_have_attribute("href", _contains_b64())
    # The links are rebuilt in the kernel after each keystroke: wait for the last one.
    page.wait_for_function("""() => atob(document.querySelector('.ub-download-html')
        .getAttribute('href').split(',')[1]).includes('seen in clinic')""")
    with page.expect_download() as info:
        page.locator(".ub-download-html").click()
    html = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".html")
    for text in ("SEE A PROVIDER", "Dr Browser", "seen in clinic", kb.version,
                 upperback.DISCLAIMER):
        assert text in html
    with page.expect_download() as info:
        page.locator(".ub-download-fhir").click()
    qr = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))  # the Bundle
    assert qr["resourceType"] == "Bundle"
    assert export.answers_from_questionnaire_response(qr, kb) == {"fever": True,
                                                                  "heavy_lifting": True}
    saved = tmp_path / "qr.json"
    saved.write_text(json.dumps(qr), encoding="utf-8")

    page.locator(".ub-reset").click()
    banner(page, "incomplete")
    expect(page.locator(".ub-answer .mod-active")).to_have_count(0)

    upload(page, saved)
    expect(page.locator(".ub-import-status")).to_contain_text("Loaded 2 answers")
    banner(page, "see_provider")
    expect(page.locator(".finding-fever button.mod-active")).to_have_text("Yes")


def _contains_b64() -> object:
    import re

    return re.compile(r"^data:text/html;charset=utf-8;base64,.{200,}")


def test_keyboard_answers_a_red_flag(open_notebook: Opener) -> None:
    page = open_notebook(ASSESSMENT)
    ready(page)
    yes_button = page.locator(".finding-cannot_walk_or_stand button", has_text="Yes")
    yes_button.focus()
    page.keyboard.press("Enter")
    banner(page, "ambulance")
    expect(yes_button).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("ArrowRight")  # arrows move within the question, to "No"
    page.keyboard.press("Space")
    banner(page, "incomplete")
    expect(yes_button).to_have_attribute("aria-pressed", "false")
    no_button = page.locator(".finding-cannot_walk_or_stand button", has_text="No")
    expect(no_button).to_have_attribute("aria-pressed", "true")


def test_import_error_is_shown(open_notebook: Opener, tmp_path: Path) -> None:
    page = open_notebook(ASSESSMENT)
    ready(page)
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Patient"}', encoding="utf-8")
    upload(page, bad)
    expect(page.locator(".ub-import-status [role=alert]")).to_contain_text("resourceType")


@pytest.mark.parametrize(
    ("notebook", "widget", "select", "value", "expect_text"),
    [
        ("clinician/conditions.ipynb", ".ub-condition-picker select", None,
         "Neck or back sprain (S23.3XXA)", "Sprain of ligaments of the thoracic spine"),
        ("clinician/treatments.ipynb", ".ub-filter-access select", None, "Prescription",
         f"{_N_PRESCRIPTION} treatment"),
    ],
)
def test_explorers(open_notebook: Opener, notebook: str, widget: str, select: None,
                   value: str, expect_text: str) -> None:
    page = open_notebook(notebook)
    page.wait_for_selector(widget, timeout=60_000)
    expect(page.locator(".ub-footer").first).to_contain_text("not a diagnosis")
    page.locator(widget).select_option(label=value)
    expect(page.locator(".ub-app")).to_contain_text(expect_text)


def test_kernel_refuses_execute_request(open_notebook: Opener, tmp_path: Path) -> None:
    page = open_notebook(ASSESSMENT)
    ready(page)
    marker = tmp_path / "executed"
    code = f"open({str(marker)!r}, 'w').write('x')"
    replies = page.evaluate(
        """async (code) => {
          const cfg = JSON.parse(document.getElementById('jupyter-config-data').textContent);
          const base = location.origin.replace('http', 'ws');
          const ws = new WebSocket(`${base}/api/kernels/${cfg.kernelId}/channels?session_id=t`);
          const got = [];
          ws.onmessage = (e) => { try { got.push(JSON.parse(e.data).msg_type); } catch {} };
          await new Promise((ok, bad) => { ws.onopen = ok; ws.onerror = bad; });
          ws.send(JSON.stringify({channel: 'shell', content: {code, silent: false,
            store_history: false, user_expressions: {}, allow_stdin: false,
            stop_on_error: true}, header: {msg_id: 'evil', msg_type: 'execute_request',
            username: 'x', session: 't', version: '5.3', date: new Date().toISOString()},
            parent_header: {}, metadata: {}, buffers: []}));
          await new Promise(r => setTimeout(r, 3000));
          ws.close();
          return got;
        }""", code)
    assert "execute_reply" not in replies
    assert "execute_input" not in replies
    assert not marker.exists()
    # The dashboard still works afterwards.
    yes(page, "fever")
    banner(page, "see_provider")


@pytest.mark.parametrize(
    "path",
    [
        "/voila/files/../pyproject.toml",
        "/voila/files/%2e%2e/pyproject.toml",
        "/voila/render/../pyproject.toml",
        "/voila/files/clinician/assessment.ipynb",
        "/voila/static/../../../../../pyproject.toml",
        "/voila/templates/..%2f..%2f..%2fpyproject.toml",
        "/api/contents/",
        "/files/pyproject.toml",
        "/voila/files/../data/findings.csv",
    ],
)
def test_files_outside_notebooks_refused(voila_url: str, path: str) -> None:
    u = urlparse(voila_url)
    for _hop in range(3):  # follow Tornado's path-normalising redirects to the final answer
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
        conn.request("GET", path)  # sent raw: no client-side normalisation of ".."
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        if resp.status not in (301, 302, 307, 308):
            break
        path = urlparse(resp.getheader("Location", "/")).path or "/"
    # Refused, whatever the code (Tornado answers 500 to some malformed paths); never served.
    assert resp.status >= 400, (path, resp.status)
    assert b"[build-system]" not in body
    assert b"finding_id,label" not in body
    assert b'"cells"' not in body


def test_page_list_makes_no_outside_request(browser: Browser, voila_url: str) -> None:
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((voila_url, "data:", "blob:")) else None)
    page.goto(f"{voila_url}/")  # the friendly page list uses our template too
    expect(page.locator("body")).to_contain_text("clinician")
    page.close()
    assert not outside
