"""The widget half of the faces kit: what every face (clinician, teaching, analyst) shares."""

from __future__ import annotations

import ipywidgets as w
import pytest

import upperback
from upperback import AnswerError, KnowledgeBase
from upperback.widgets import kit


def test_kit_is_one_surface_over_the_renderer() -> None:
    from upperback import _render

    assert kit.URGENCY_WORDS is _render.URGENCY_WORDS
    assert kit.word is _render.word
    assert kit.STYLESHEET is _render.STYLESHEET


def test_footer_says_decision_support_and_version(kb: KnowledgeBase) -> None:
    box = kit.footer(kb)
    assert upperback.DISCLAIMER in box.value
    assert kb.version in box.value
    assert "ub-footer-box" in box._dom_classes


def test_guard_shows_library_errors_in_their_words() -> None:
    banner = kit.error_banner()

    @kit.guard(banner)
    def fails() -> None:
        raise AnswerError("unknown answer id 'x': use an id from the checklist")

    assert fails() is None
    assert "use an id from the checklist" in banner.value
    assert "role='alert'" in banner.value


def test_guard_hides_the_value_of_unexpected_errors(caplog: pytest.LogCaptureFixture) -> None:
    banner = kit.error_banner()

    @kit.guard(banner, hint="Pick another case.")
    def fails() -> None:
        raise RuntimeError("patient-secret")

    fails()
    assert "Unexpected error (RuntimeError). Pick another case." in banner.value
    assert "patient-secret" not in banner.value + caplog.text


@pytest.mark.parametrize(("clear_first", "left"), [(True, ""), (False, "old")])
def test_guard_can_clear_an_old_message(clear_first: bool, left: str) -> None:
    banner = w.HTML("old")

    @kit.guard(banner, clear_first=clear_first)
    def works() -> int:
        return 1

    assert works() == 1
    assert banner.value == left
