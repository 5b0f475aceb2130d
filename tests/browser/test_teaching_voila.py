"""Teaching notebooks in Voilà, in Chromium: the drill and the case quiz answer a learner.
Fixtures (`open_notebook`) come from tests/browser/conftest.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

import upperback
from upperback import quiz

pytestmark = pytest.mark.browser


def test_emergency_drill_gives_cited_feedback(open_notebook: Callable[[str], Page]) -> None:
    kb = upperback.load_knowledge_base()
    first, second = quiz.drill_items(kb)[:2]
    page = open_notebook("teaching/01-red-flags.ipynb")
    expect(page.locator(".ub-banner")).to_contain_text(kb.version)
    prompt = page.locator(".ub-drill-prompt")
    expect(prompt).to_contain_text(first.labels[0])
    page.locator(".ub-drill-yes").click()
    feedback = page.locator(".ub-drill-feedback")
    expect(feedback).to_contain_text(first.rationale)
    expect(feedback).to_contain_text(kb.sources[first.source_id].short_name)
    expect(page.locator(".ub-drill-score")).to_contain_text(
        quiz.score_line(int(first.send_to_er), 1))
    expect(page.locator(".ub-drill-yes")).to_be_disabled()
    page.locator(".ub-drill-next").click()
    expect(prompt).to_contain_text(second.labels[0])
    expect(feedback).to_be_empty()


def test_case_quiz_scores_and_explains(open_notebook: Callable[[str], Page]) -> None:
    kb = upperback.load_knowledge_base()
    case = quiz.load_cases(kb)[0]
    page = open_notebook("teaching/03-cases.ipynb")
    expect(page.locator(".ub-case-vignette")).to_contain_text(case.vignette[:40])
    page.locator(".ub-case-urgency").get_by_label(
        quiz.URGENCY_LABELS[case.expected_urgency], exact=True).check()
    for cid in case.expected_causes:
        page.locator(f".ub-cause-{cid} input").check()
    page.locator(".ub-case-check").click()
    r = quiz.score_case(case, case.expected_urgency, case.expected_causes, kb)
    expect(page.locator(".ub-case-feedback")).to_contain_text(
        f"Score: {r.max_points} of {r.max_points}")
    expect(page.locator(".ub-case-explanation")).to_contain_text("The engine's explanation")
