"""The analyst notebooks in Voilà, in Chromium: each screen carries the kit's stylesheet and
footer, axe-core finds nothing before or after the results are shown, urgencies read as words,
and nothing is cut off from 360 to 1920 px. Fixtures come from tests/browser/conftest.py; the
editor works on a private copy of the repository's data/ and nothing here publishes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

import upperback
from upperback import URGENCIES

from .test_clinician_a11y import axe_violations

pytestmark = pytest.mark.browser
Opener = Callable[[str], Page]
#: Each analyst notebook and a selector that is there once its panel has rendered.
SCREENS = {
    "analyst/data-dictionary.ipynb": ".ub-dictionary-app .ub-dictionary table",
    "analyst/edit.ipynb": ".ub-editor",
    "analyst/impact.ipynb": ".ub-impact-app",
}


def ready(page: Page, selector: str) -> None:
    page.wait_for_selector(selector, timeout=60_000)
    page.wait_for_selector(".ub-analyst .ub-footer", timeout=60_000)
    page.wait_for_timeout(500)  # the page script dresses the widgets on the next frame


def assert_no_violation(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=1)


@pytest.mark.parametrize("notebook", list(SCREENS))
def test_screen_has_footer_and_no_axe_violation(open_notebook: Opener, notebook: str) -> None:
    page = open_notebook(notebook)
    ready(page, SCREENS[notebook])
    footer = page.locator(".ub-analyst .ub-footer")
    expect(footer).to_contain_text(upperback.DISCLAIMER)
    expect(footer).to_contain_text(upperback.load_knowledge_base().version)
    # our HTML carries no inline style: the one stylesheet styles it all
    assert page.locator(".ub-analyst .widget-html-content [style]").count() == 0
    assert_no_violation(page)


def _no_codes(page: Page, selector: str) -> None:
    text = page.locator(selector).inner_text()
    assert not [u for u in URGENCIES if u in text], text


def test_impact_results_in_words_and_accessible(open_notebook: Opener) -> None:
    page = open_notebook("analyst/impact.ipynb")
    ready(page, SCREENS["analyst/impact.ipynb"])
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".ub-diff-view")).to_contain_text("No differences")
    expect(page.locator(".ub-crosstab")).to_be_visible(timeout=60_000)
    expect(page.locator(".ub-impact")).to_contain_text("0 of 2000 patients change urgency")
    expect(page.locator(".ub-crosstab th[scope='row']").first).to_have_text("Ambulance now")
    _no_codes(page, ".ub-impact-view")
    assert_no_violation(page)


def test_editor_checks_in_words_and_accessibly(open_notebook: Opener) -> None:
    page = open_notebook("analyst/edit.ipynb")
    ready(page, SCREENS["analyst/edit.ipynb"])
    page.get_by_role("button", name="Show changes").click()
    expect(page.locator(".ub-diff-view")).to_contain_text("No differences")
    page.get_by_role("button", name="Impact on synthetic cohort").click()
    expect(page.locator(".ub-crosstab")).to_be_visible(timeout=60_000)
    _no_codes(page, ".ub-impact-view")
    page.get_by_role("button", name="Discard edits").click()
    expect(page.locator(".ub-message [role='status']")).to_contain_text("Note: Edits discarded")
    assert_no_violation(page)


@pytest.mark.parametrize("notebook", list(SCREENS))
def test_nothing_is_cut_off(open_notebook: Opener, notebook: str) -> None:
    page = open_notebook(notebook)
    ready(page, SCREENS[notebook])
    action = {"analyst/impact.ipynb": "Compare",
              "analyst/edit.ipynb": "Impact on synthetic cohort"}.get(notebook)
    if action:  # with the widest output shown
        page.get_by_role("button", name=action).click()
        expect(page.locator(".ub-crosstab")).to_be_visible(timeout=60_000)
    for width in (360, 390, 768, 1366, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
        assert _clipped(page, width) == [], width


def _clipped(page: Page, width: int) -> list[str]:
    """Controls, headings and text blocks of the panel reaching past its box or the window
    (they would be cut off: Voilà's boxes hide what overflows them)."""
    return page.evaluate(  # type: ignore[no-any-return]
        """(w) => { const box = document.querySelector('.ub-analyst').getBoundingClientRect();
             const right = Math.min(w, box.right);
             return [...document.querySelectorAll(`.ub-analyst button, .ub-analyst select,
                 .ub-analyst input, .ub-analyst h2, .ub-analyst h3, .ub-analyst h4,
                 .ub-analyst p, .ub-analyst li, .ub-analyst caption, .ub-analyst table`)]
             .filter(e => e.offsetParent !== null)
             .filter(e => { const r = e.getBoundingClientRect();
                            return r.right > right + 1 || r.left < box.left - 1; })
             .map(e => e.tagName + ' ' + (e.className || '') + ' '
                       + (e.textContent || e.value || '').slice(0, 40)); }""", width)
