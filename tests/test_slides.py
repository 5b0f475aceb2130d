"""Slide decks of the teaching course (`make slides`): one deck per lesson, cut by the lessons'
slide metadata, offline (reveal.js from a copy beside the decks, nothing from another host),
with the disclaimer and the knowledge-base version on every slide."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import upperback
from upperback import course, slides
from upperback.handouts import TEACHING, HandoutError

pytestmark = pytest.mark.slow
NOTEBOOKS = [TEACHING / course.COURSE_PAGE, *(TEACHING / x.notebook for x in course.LESSONS)]
#: Anything a browser would fetch by itself from another host: a script, image or frame
#: source, a stylesheet link, a CSS url() or @import, a JavaScript import.
_REMOTE = re.compile(r"""\bsrc\s*=\s*["']?\s*(?:https?:)?//|<link[^>]+href\s*=\s*["']?\s*"""
                     r"""(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//|"""
                     r"""\bimport\b[^;\n]*["'](?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def deck_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (slides.REVEAL_SOURCE / "dist" / "reveal.js").is_file():
        pytest.fail("reveal.js is not installed: run `make npm`")
    out = tmp_path_factory.mktemp("slides")
    made = slides.build(out)
    assert [p.name for p in made] == [nb.stem + slides.SUFFIX for nb in NOTEBOOKS]
    return out


@pytest.fixture(scope="module")
def decks(deck_dir: Path) -> dict[str, str]:
    return {nb.stem: (deck_dir / (nb.stem + slides.SUFFIX)).read_text(encoding="utf-8")
            for nb in NOTEBOOKS}


def _slides(notebook: Path) -> list[list[str]]:
    """The notebook's cells grouped into slides by their metadata, as nbconvert groups them."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    grouped: list[list[str]] = []
    for cell in cells:
        kind = cell["metadata"].get("slideshow", {}).get("slide_type", "-")
        if kind == "skip":
            continue
        if kind in ("slide", "subslide") or not grouped:
            grouped.append([])
        grouped[-1].append("".join(cell["source"]))
    return grouped


@pytest.mark.parametrize("notebook", NOTEBOOKS[1:], ids=lambda p: p.stem)
def test_each_lesson_reads_as_slides(notebook: Path) -> None:
    """Objectives first, then one idea per slide: every section heading starts a slide, and
    the lesson has an explanation, a practice and key points."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.startswith("## "):
            assert cell["metadata"]["slideshow"]["slide_type"] == "slide", text.splitlines()[0]
    heads = [s[0].splitlines()[0] for s in _slides(notebook)]
    first = _slides(notebook)[0][0]
    assert first.startswith("# ")
    assert "## Objectives" in first
    assert any(h.startswith("## Explanation") for h in heads), heads
    assert any(h.startswith("## Practice") for h in heads), heads
    assert heads[-1] == "## Key points", heads  # the next-lesson link shares that slide


def test_a_deck_for_the_course_page_and_each_lesson(decks: dict[str, str]) -> None:
    for nb in NOTEBOOKS:
        page = decks[nb.stem]
        expected = len(_slides(nb))
        assert page.count("<section") >= expected + 1, nb.name  # slides nest one level
        for heading in (s[0].splitlines()[0].lstrip("# ") for s in _slides(nb)):
            if heading and not heading.startswith("tw."):
                assert heading in page, (nb.name, heading)


def test_decks_are_offline(deck_dir: Path, decks: dict[str, str]) -> None:
    out = deck_dir
    for name, page in decks.items():
        assert not _REMOTE.search(page), (name, _REMOTE.search(page))
        for script in re.findall(r"<script[^>]*>(.*?)</script>", page, re.S):
            assert not re.search(r"(?:https?:)?//[\w.-]+\.\w", script), (name, script[:200])
        assert "application/vnd.jupyter.widget-view+json" not in page  # static panels only
        assert 'src="reveal.js/dist/reveal.js"' in page
        # every local file the deck loads or links to is there
        for ref in re.findall(r"""(?:src|href)=["']([^"'#][^"']*)["']""", page):
            if not ref.startswith(("data:", "mailto:")):
                assert (out / ref).is_file(), (name, ref)
    assert (out / "reveal.js" / "dist" / "theme" / "white.css").is_file()
    assert "fonts.googleapis" not in (out / "reveal.js/dist/theme/white.css").read_text()


def test_every_slide_carries_the_disclaimer_and_version(decks: dict[str, str]) -> None:
    version = upperback.load_knowledge_base().version
    for name, page in decks.items():
        footer = re.search(r"<div class=\"ub-deck-footer\"[^>]*>(.*?)</div>", page, re.S)
        assert footer is not None, name
        assert upperback.DISCLAIMER in footer.group(1)
        assert version in footer.group(1)


def test_lesson_links_open_the_next_deck(decks: dict[str, str]) -> None:
    page = decks["01-red-flags"]
    assert 'href="02-causes.slides.html"' in page
    assert 'href="00-course.slides.html"' in page
    assert ".ipynb\"" not in page


def test_missing_reveal_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(HandoutError, match=r"make npm"):
        slides.copy_reveal(tmp_path / "out", tmp_path / "nowhere")
    assert slides.main(["-o", str(tmp_path / "out"), "--reveal", str(tmp_path / "nowhere")]) == 1
