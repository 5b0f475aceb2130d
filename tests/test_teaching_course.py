"""The course: lesson notebooks in order, thin and stripped, each a lesson (objectives,
explanation, practice, key points, next lesson); the answer key kept from students; the
student's results as CSV; self-checks; static panels for handouts."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
from markupsafe import escape

import upperback
from conftest import find
from upperback import KnowledgeBase, course, handouts, quiz
from upperback import teaching_widgets as tw

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TEACHING = NOTEBOOKS / "teaching"


def cells(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["cells"])


def markdown(path: Path) -> str:
    return "\n".join("".join(c["source"]) for c in cells(path) if c["cell_type"] == "markdown")


def test_course_lists_every_lesson_notebook_in_order() -> None:
    books = sorted(p.name for p in TEACHING.glob("*.ipynb"))
    assert books == [course.COURSE_PAGE, *(x.notebook for x in course.LESSONS)]


@pytest.mark.parametrize("path", sorted([*TEACHING.glob("*.ipynb"),
                                         *(NOTEBOOKS / "teacher").glob("*.ipynb")]),
                         ids=lambda p: p.name)
def test_notebooks_are_thin_and_stripped(path: Path) -> None:
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert code
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        f"{path.name}: strip the outputs"
    assert "tw.banner()" in "".join(code[0]["source"])
    for c in code:
        body = [x for x in "".join(c["source"]).splitlines() if x.strip()]
        assert len(body) <= 3, f"{path.name}: keep logic in lib/upperback"
    assert "".join(cells(path)[0]["source"]).startswith("# ")


@pytest.mark.parametrize("lesson", course.LESSONS, ids=lambda x: x.notebook)
def test_every_lesson_reads_as_a_lesson(lesson: course.Lesson) -> None:
    text = markdown(TEACHING / lesson.notebook)
    for heading in ("## Objectives", "## Explanation", "## Practice", "## Key points"):
        assert heading in text, f"{lesson.notebook}: no '{heading}' section"
    assert text.index("## Objectives") < text.index("## Practice") < text.index("## Key points")
    after = course.next_lesson(lesson.notebook)
    if after is None:
        assert "finished the course" in text
    else:
        assert f"**Next lesson:** [{after.title}]({after.notebook})" in text
    assert f"]({course.COURSE_PAGE})" in text


@pytest.mark.parametrize(("notebook", "check"), [
    ("02-causes.ipynb", "tw.causes_check()"),
    ("04-workup-and-treatment.ipynb", "tw.workup_check()"),
    ("05-risk-and-prevention.ipynb", "tw.risk_check()"),
    ("06-must-not-miss.ipynb", "tw.must_not_miss_check()")])
def test_lessons_have_their_self_check(notebook: str, check: str) -> None:
    code = "".join("".join(c["source"]) for c in cells(TEACHING / notebook))
    assert check in code


def test_every_lesson_is_a_slideshow() -> None:
    for lesson in course.LESSONS:
        kinds = {c["metadata"].get("slideshow", {}).get("slide_type")
                 for c in cells(TEACHING / lesson.notebook)}
        assert "slide" in kinds, lesson.notebook


def test_answer_key_is_not_in_the_students_folder_nor_linked() -> None:
    assert not list(TEACHING.glob("*answer*"))
    assert (NOTEBOOKS / "teacher" / "answer-key.ipynb").exists()
    for path in TEACHING.glob("*.ipynb"):
        assert "answer-key" not in path.read_text(encoding="utf-8"), path.name
    links = find(tw.course_index(upperback.load_knowledge_base()), "ub-course-links")
    assert "answer-key" not in links.value


def test_course_index_links_every_lesson(kb: KnowledgeBase) -> None:
    html = find(tw.course_index(kb), "ub-course-links").value
    positions = [html.index(f"href='{x.notebook}'") for x in course.LESSONS]
    assert positions == sorted(positions)


def test_next_lesson_names_unknown_notebooks() -> None:
    assert course.next_lesson(course.LESSONS[-1].notebook) is None
    with pytest.raises(KeyError, match=r"nope\.ipynb"):
        course.next_lesson("nope.ipynb")


# --- the student's results -----------------------------------------------------------------------

def _answer(panel: w.Widget, case: quiz.TeachingCase, urgency: str,
            causes: tuple[str, ...]) -> None:
    find(panel, "ub-case-select").value = case.case_id
    find(panel, "ub-case-urgency").value = urgency
    for cid in causes:
        find(panel, f"ub-cause-{cid}").value = True
    find(panel, "ub-case-check").click()


def test_case_quiz_running_total_and_csv_download(kb: KnowledgeBase) -> None:
    cases = quiz.load_cases(kb)
    panel = tw.case_quiz(kb)
    progress = find(panel, "ub-case-progress")
    assert f"0 of {len(cases)} cases answered" in progress.value
    assert "download" not in progress.value.lower().split("until you download")[0]
    a, b = cases[0], cases[1]
    _answer(panel, a, a.expected_urgency, a.expected_causes)
    _answer(panel, b, "self_care" if b.expected_urgency != "self_care" else "emergency", ())
    ra = quiz.score_case(a, a.expected_urgency, a.expected_causes, kb)
    rb = quiz.score_case(b, "self_care" if b.expected_urgency != "self_care" else "emergency",
                         (), kb)
    total, most = ra.points + rb.points, ra.max_points + rb.max_points
    assert f"2 of {len(cases)} cases answered, {total} of {most} points so far" in progress.value
    link = re.search(r"download='([^']+)' href='data:text/csv;base64,([^']+)'", progress.value)
    assert link
    assert link.group(1).endswith(".csv")
    rows = list(csv.reader(io.StringIO(base64.b64decode(link.group(2)).decode("utf-8"))))
    assert rows[0] == list(course.RESULT_FIELDS)
    assert [r[0] for r in rows[1:3]] == [a.case_id, b.case_id]
    assert rows[3][:4] == ["total", "", str(total), str(most)]
    assert kb.version in rows[4][0]
    assert upperback.DISCLAIMER in rows[5][0]
    # answering a case again replaces its result instead of adding one
    _answer(panel, a, a.expected_urgency, a.expected_causes)
    assert f"2 of {len(cases)} cases answered" in progress.value


# --- self-checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("builder", [tw.causes_check, tw.workup_check, tw.risk_check,
                                     tw.must_not_miss_check], ids=lambda b: b.__name__)
def test_self_check_right_and_wrong_answers_explain_with_source(builder: Any,
                                                                kb: KnowledgeBase) -> None:
    panel = builder(kb)
    topic = next(c for c in panel._dom_classes if c.startswith("ub-self-check-"))
    questions = quiz.self_checks(kb, topic.removeprefix("ub-self-check-"))
    assert questions
    feedback, tally = find(panel, "ub-check-feedback"), find(panel, "ub-check-tally")
    find(panel, "ub-check-check").click()
    assert "Choose an answer first" in feedback.value
    for i, q in enumerate(questions):
        assert escape(q.question) in find(panel, "ub-check-question").value
        right = i % 2 == 0
        wrong = next(v for _, v in q.options if v != q.answer)
        find(panel, "ub-check-choice").value = q.answer if right else wrong
        find(panel, "ub-check-check").click()
        assert ("Yes, that is it" in feedback.value) == right
        assert ("Not quite" in feedback.value) != right
        assert escape(q.explanation) in feedback.value
        assert escape(q.source) in feedback.value
        verdict = re.search(r"<b>(.*?)</b>", feedback.value)
        assert verdict
        for harsh in ("wrong", "incorrect", "fail"):  # the verdict; a reason may say "failure"
            assert harsh not in verdict.group(1).lower()
        if i < len(questions) - 1:
            find(panel, "ub-check-next").click()
    assert "Self-check complete" in feedback.value
    right_count = (len(questions) + 1) // 2
    assert tally.value == quiz.score_line(right_count, len(questions))
    find(panel, "ub-check-again").click()
    assert tally.value == quiz.score_line(0, 0)
    assert feedback.value == ""
    assert escape(questions[0].question) in find(panel, "ub-check-question").value


def test_must_not_miss_overview_shows_what_the_knowledge_base_has(kb: KnowledgeBase) -> None:
    html = find(tw.must_not_miss_overview(kb), "ub-must-not-miss-text").value
    for c in quiz.must_not_miss(kb):
        assert escape(c.name) in html
    for r in quiz.must_not_miss_rules(kb):
        assert escape(r.rationale) in html


# --- handouts: the panels as static content ------------------------------------------------------

def test_static_html_keeps_text_images_and_choices(kb: KnowledgeBase) -> None:
    panel = tw.causes_check(kb)
    q = quiz.self_checks(kb, "causes")[0]
    html = handouts.static_html(panel)
    assert escape(q.question) in html
    for label, _ in q.options:
        assert escape(label) in html
    assert "Check my answer" not in html  # buttons do nothing on paper
    cases = handouts.static_html(tw.case_quiz(kb))
    for case in quiz.load_cases(kb):  # every story, not only the one on screen
        assert escape(case.vignette) in cases
    assert "<details " not in cases.replace("<details open", "")
    chart = handouts.static_html(tw.treatment_ladder(kb))
    assert "data:image/png;base64," in chart


def test_builders_return_static_html_for_handouts(kb: KnowledgeBase,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPPERBACK_STATIC", "1")
    shown = tw.red_flag_reference(kb)
    assert not isinstance(shown, w.Widget)
    assert next(iter(kb.rules.values())).rationale in shown.data


def test_offline_page_has_no_remote_scripts() -> None:
    page = ("<html><head><script src=\"https://cdn.example/require.js\"></script>"
            "<link rel=\"stylesheet\" href=\"https://cdn.example/x.css\"></head><body>x</body>")
    out = handouts._offline(page)
    assert "https://" not in out
    assert "@media print" in out




def test_handout_is_offline_static_and_complete(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    page = handouts.export_html(TEACHING / course.COURSE_PAGE, tmp_path)
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=[\"']https?://", html)  # nothing fetched from elsewhere
    assert "unpkg.com" not in html
    assert "application/vnd.jupyter.widget-view+json" not in html
    for x in course.LESSONS:
        assert x.title in html  # the panel's content, as static text
    assert upperback.DISCLAIMER in html
    assert "@media print" in html
    assert oct(page.stat().st_mode & 0o777) == "0o644"
    assert not list(tmp_path.glob("*.tmp"))


def test_handout_of_a_broken_notebook_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ipynb"
    bad.write_text(json.dumps({"cells": [{"cell_type": "code", "id": "c0", "metadata": {},
                                          "outputs": [],
                                          "execution_count": None, "source": "1/0"}],
                               "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
                   encoding="utf-8")
    with pytest.raises(handouts.HandoutError, match=r"broken\.ipynb"):
        handouts.export_html(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
