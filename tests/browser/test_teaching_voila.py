"""Teaching notebooks in Voilà, in Chromium: the course page leads to the lessons, the drill and
the case quiz answer a learner, the student downloads their results, a lesson prints in full.
Fixtures (`open_notebook`) come from tests/browser/conftest.py."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import upperback
from upperback import course, quiz

pytestmark = pytest.mark.browser

AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
PAGES = [f"teaching/{course.COURSE_PAGE}", *(f"teaching/{x.notebook}" for x in course.LESSONS),
         "teacher/answer-key.ipynb"]


def axe_violations(page: Page) -> list[dict[str, object]]:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing: run `npm ci --prefix {AXE.parent}`")
    page.add_script_tag(path=str(AXE))
    result: list[dict[str, object]] = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }""")
    return result


@pytest.mark.parametrize("notebook", PAGES)
def test_axe_finds_no_violation(open_notebook: Callable[[str], Page], notebook: str) -> None:
    """Every teaching page, on the faces kit: 0 axe-core violations, whatever their impact."""
    page = open_notebook(notebook)
    expect(page.locator(".ub-teaching-banner .ub-footer")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(500)  # the page script marks the landmarks on the next frame
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=1)


def test_course_page_links_to_the_lessons(open_notebook: Callable[[str], Page]) -> None:
    page = open_notebook(f"teaching/{course.COURSE_PAGE}")
    links = page.locator(".ub-course a")
    expect(links).to_have_count(len(course.LESSONS))
    hrefs = [links.nth(i).get_attribute("href") for i in range(len(course.LESSONS))]
    assert hrefs == [x.notebook for x in course.LESSONS]
    # the link is relative, so it opens the lesson beside the course page (in a new page here:
    # leaving a Voila page logs the server's refusal to shut its kernel down, a known quirk)
    lesson = open_notebook(f"teaching/{hrefs[0]}")
    expect(lesson.locator(".ub-drill-prompt")).to_be_visible()


def test_emergency_drill_gives_cited_feedback(open_notebook: Callable[[str], Page]) -> None:
    kb = upperback.load_knowledge_base()
    items = {i.item_id: i for i in quiz.drill_items(kb)}
    page = open_notebook("teaching/01-red-flags.ipynb")
    expect(page.locator(".ub-teaching-banner .ub-footer")).to_contain_text(kb.version)
    prompt = page.locator(".ub-drill-prompt [data-item]")
    first = items[str(prompt.get_attribute("data-item"))]
    expect(prompt).to_contain_text(first.labels[0])
    page.locator(".ub-drill-yes").click()
    feedback = page.locator(".ub-drill-feedback")
    expect(feedback).to_contain_text(first.rationale)
    expect(feedback).to_contain_text(kb.sources[first.source_id].short_name)
    expect(page.locator(".ub-drill-score")).to_contain_text(
        quiz.score_line(int(first.send_to_er), 1))
    expect(page.locator(".ub-drill-yes")).to_be_disabled()
    page.locator(".ub-drill-next").click()
    expect(feedback).to_be_empty()
    expect(page.locator(".ub-drill-progress")).to_contain_text("Patient 2 of")
    page.locator(".ub-drill-restart").click()
    expect(page.locator(".ub-drill-score")).to_have_text(quiz.score_line(0, 0))


def test_case_quiz_scores_explains_and_downloads(open_notebook: Callable[[str], Page]) -> None:
    kb = upperback.load_knowledge_base()
    case = quiz.load_cases(kb)[0]
    page = open_notebook("teaching/03-cases.ipynb")
    expect(page.locator(".ub-case-vignette")).to_contain_text(case.vignette[:40])
    page.locator(".ub-case-urgency").get_by_label(
        quiz.urgency_label(case.expected_urgency), exact=True).check()
    for cid in case.expected_causes:
        page.locator(f".ub-cause-{cid} input").check()
    page.locator(".ub-case-check").click()
    r = quiz.score_case(case, case.expected_urgency, case.expected_causes, kb)
    expect(page.locator(".ub-case-feedback")).to_contain_text(
        f"Score: {r.max_points} of {r.max_points}")
    expect(page.locator(".ub-case-explanation")).to_contain_text("The engine's explanation")
    expect(page.locator(".ub-case-progress")).to_contain_text("1 of")
    with page.expect_download() as info:
        page.locator(".ub-results-download").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    path = download.path()
    assert path is not None
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == list(course.RESULT_FIELDS)
    assert rows[1][0] == case.case_id


def test_a_lesson_prints_in_full(open_notebook: Callable[[str], Page]) -> None:
    page = open_notebook("teaching/01-red-flags.ipynb")
    expect(page.locator(".ub-drill-prompt")).to_be_visible()
    page.emulate_media(media="print")
    pdf = page.pdf()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages > 1, "printing clipped the lesson to one page"
    assert page.locator(".ub-drill-yes").is_hidden()  # buttons do nothing on paper
