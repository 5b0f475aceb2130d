"""The clinician dashboards as a clinician between two patients would meet them: axe-core
finds nothing, a keyboard is enough, nothing is cut off from 360 to 1920 px, printing gives the
whole report, and a lost kernel is said at once with the answers kept in the browser."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from .pagekit import axe_violations, kill_kernel

pytestmark = pytest.mark.browser
ASSESSMENT = "clinician/assessment.ipynb"
DASHBOARDS = [ASSESSMENT, "clinician/conditions.ipynb", "clinician/treatments.ipynb"]
Opener = Callable[[str], Page]


def ready(page: Page) -> None:
    page.wait_for_selector(".ub-app", timeout=60_000)
    page.wait_for_selector(".ub-footer", timeout=60_000)


def urgency(page: Page) -> str:
    return page.locator(".ub-summary .ub-banner").get_attribute("data-urgency") or ""


@pytest.mark.parametrize("notebook", DASHBOARDS)
def test_axe_finds_no_violation(open_notebook: Opener, notebook: str) -> None:
    page = open_notebook(notebook)
    ready(page)
    page.wait_for_timeout(500)  # the page script dresses the widgets on the next frame
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=1)


def test_axe_after_answers_and_open_details(open_notebook: Opener) -> None:
    page = open_notebook(ASSESSMENT)
    ready(page)
    page.locator(".finding-fever button", has_text="Yes").click()
    expect(page.locator(".ub-summary .ub-banner[data-urgency='see_provider']")).to_be_visible()
    page.locator(".ub-details > summary").click()
    page.locator(".ub-safety > summary").click()
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=1)


def test_keyboard_only_assessment(open_notebook: Opener) -> None:
    """Tab moves from question to question (one stop each), arrows within one, Space or Enter
    answers; the state is exposed with aria-pressed and seen by more than colour."""
    page = open_notebook(ASSESSMENT)
    ready(page)
    rows = page.locator(".ub-question")
    first = rows.nth(0).locator(".ub-answer button").first
    first.focus()
    for i in range(3):  # No to the first three questions, by keyboard only
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Space")
        expect(rows.nth(i).locator("button[aria-pressed='true']")).to_have_text("No")
        page.keyboard.press("Tab")
        focused_row = page.evaluate("document.activeElement.closest('.ub-question')?.className")
        assert focused_row
        assert "finding-" in focused_row
        assert page.evaluate("document.activeElement.textContent") in ("Yes", "No")
    # "No to the rest of this section" is reachable and works from the keyboard
    rest = page.locator(".ub-no-to-rest").first
    rest.focus()
    page.keyboard.press("Enter")
    section = page.locator(".ub-section").first
    expect(section.locator(".ub-answer button[aria-pressed='true']")).to_have_count(
        section.locator(".ub-question").count())
    # the focus ring is at least 2 px
    rest.focus()
    width = page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)")
    assert width >= 2
    # selected differs from unselected by more than colour: weight and a tick
    pressed = section.locator("button[aria-pressed='true']").first
    assert page.evaluate("(b) => getComputedStyle(b).fontWeight", pressed.element_handle()) \
        in ("700", "bold")
    assert "2713" in page.evaluate(
        "(b) => escape(getComputedStyle(b, '::before').content)", pressed.element_handle()
    ).upper()


@pytest.mark.parametrize("notebook", DASHBOARDS)
def test_nothing_is_cut_off(open_notebook: Opener, notebook: str) -> None:
    page = open_notebook(notebook)
    ready(page)
    for width in (360, 390, 768, 1366, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert _clipped(page, width) == [], width


def _clipped(page: Page, width: int) -> list[str]:
    return page.evaluate(  # type: ignore[no-any-return]
        """(w) => [...document.querySelectorAll(`.ub-app button, .ub-app select, .ub-app input,
                 .ub-app h2, .ub-app h3, .ub-banner`)]
             .filter(e => e.offsetParent !== null)
             .filter(e => { const r = e.getBoundingClientRect();
                            return r.right > w + 1 || r.left < -1; })
             .map(e => e.className + ' ' + (e.textContent || '').slice(0, 40))""", width)


def test_print_gives_the_whole_report(open_notebook: Opener, tmp_path: Path) -> None:
    page = open_notebook(ASSESSMENT)
    ready(page)
    page.locator(".finding-fever button", has_text="Yes").click()
    expect(page.locator(".ub-print-only")).to_contain_text("Fever")
    page.emulate_media(media="print")
    expect(page.locator(".ub-print-only")).to_be_visible()
    expect(page.locator(".ub-checklist")).to_be_hidden()
    for text in ("Answers recorded", "Not answered", "Suggested work-up", "Safety net"):
        expect(page.locator(".ub-print-only")).to_contain_text(text)
    pdf = tmp_path / "dashboard.pdf"
    page.pdf(path=str(pdf), format="A4")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))
    assert pages >= 3, "the printout is clipped to one page"


def test_lost_kernel_is_said_within_two_seconds_and_answers_come_back(
        open_notebook: Opener) -> None:
    page = open_notebook(ASSESSMENT)
    ready(page)
    page.locator(".finding-fever button", has_text="Yes").click()
    expect(page.locator(".ub-summary .ub-banner[data-urgency='see_provider']")).to_be_visible()
    page.locator(".ub-note textarea").fill("kept in the browser")
    page.wait_for_function("""() => (sessionStorage.getItem('upperback:state:' + location.pathname)
        || '').includes('kept in the browser')""")
    kill_kernel(page)
    start = time.monotonic()
    expect(page.locator(".ub-offline")).to_be_visible(timeout=2_000)
    assert time.monotonic() - start < 2.0
    expect(page.locator(".ub-offline")).to_contain_text("out of date")
    expect(page.locator(".finding-smoking button").first).to_be_disabled()
    # nothing was written to the server: the answers live in this page's storage only
    page.locator(".ub-reconnect").click()  # reloads without asking, then restores
    page.wait_for_selector("#loading", state="detached", timeout=120_000)
    ready(page)
    expect(page.locator(".ub-import-status")).to_contain_text("Restored 1 answers",
                                                              timeout=30_000)
    expect(page.locator(".finding-fever button[aria-pressed='true']")).to_have_text("Yes")
    expect(page.locator(".ub-note textarea")).to_have_value("kept in the browser")
    expect(page.locator(".ub-summary .ub-banner[data-urgency='see_provider']")).to_be_visible()


def test_leaving_a_page_with_answers_asks_first(open_notebook: Opener) -> None:
    asked: list[str] = []
    blank = open_notebook(ASSESSMENT)
    ready(blank)
    blank.on("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    page = open_notebook(ASSESSMENT)
    ready(page)
    page.on("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    page.locator(".finding-fever button", has_text="Yes").click()
    expect(page.locator(".ub-summary .ub-banner[data-urgency='see_provider']")).to_be_visible()
    blank.close(run_before_unload=True)  # no answers: closes without asking
    page.wait_for_timeout(500)
    assert blank.is_closed()
    assert asked == []
    page.close(run_before_unload=True)  # answers: asks, and stays when the answer is "stay"
    page.wait_for_timeout(1_000)
    assert asked == ["beforeunload"]
    assert not page.is_closed()
    page.close()


def test_list_page_shows_titles_not_file_names(voila_url: str, browser: Browser) -> None:
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((voila_url, "data:")) else None)
    page.goto(f"{voila_url}/voila/tree/clinician")
    links = page.locator(".ub-tree a")
    expect(links.first).to_be_visible()
    texts = links.all_inner_texts()
    assert "Assessment" in texts
    assert not [t for t in texts if ".ipynb" in t or "_" in t], texts
    expect(page.locator(".ub-tree-note")).to_contain_text("not a diagnosis")
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=1)
    assert outside == []
    page.close()
