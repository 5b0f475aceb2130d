"""A slide deck (`make slides`) opened from disk in Chromium, with every request that is not a
file aborted: reveal.js starts from the local copy, no request leaves the machine, and the
disclaimer and the knowledge-base version are on the slide. The `browser` fixture comes from
tests/browser/conftest.py (no Voilà server is started for this test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, expect

import upperback
from upperback import slides
from upperback.handouts import TEACHING

pytestmark = pytest.mark.browser


def test_deck_opens_offline_from_disk(browser: Browser, tmp_path: Path) -> None:
    if not (slides.REVEAL_SOURCE / "dist" / "reveal.js").is_file():
        pytest.fail("reveal.js is not installed: run `make npm`")
    (deck,) = slides.build(tmp_path, [TEACHING / "01-red-flags.ipynb"])
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    outside: list[str] = []
    errors: list[str] = []

    def only_files(route: Route) -> None:
        if route.request.url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:  # would leave the machine: record it and never send it
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    try:
        page.goto(deck.as_uri())
        page.wait_for_function("window.Reveal !== undefined && Reveal.isReady()")
        assert page.locator(".reveal .slides section").count() > 1
        assert page.evaluate("Reveal.getTotalSlides()") > 1
        footer = page.locator(".ub-deck-footer")
        expect(footer).to_be_visible()
        expect(footer).to_contain_text(upperback.DISCLAIMER)
        expect(footer).to_contain_text(upperback.load_knowledge_base().version)
        expect(page.locator("section.present h1")).to_contain_text("Red flags")
        page.keyboard.press("ArrowRight")  # the presenter's next slide
        expect(page.locator("section.present h2").first).to_contain_text("Explanation")
        expect(footer).to_be_visible()  # on every slide, not only the first
        theme = page.evaluate("getComputedStyle(document.querySelector('.reveal')).fontFamily")
        assert "Source Sans Pro" in theme  # the local theme and its fonts loaded
    finally:
        context.close()
    assert not outside, f"requests that would leave the machine: {outside}"
    assert not errors, f"browser errors: {errors}"
