"""The teaching course: the lessons in order, where each one lives, and the student's own
results as a CSV they download in their browser. Pure: no widgets, no file writes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from . import _model as m


@dataclass(frozen=True)
class Lesson:
    """One lesson of the course: its notebook (in notebooks/teaching/) and what it teaches."""

    notebook: str
    title: str
    summary: str


#: The student course, in order. The answer key is deliberately not here: it lives in
#: notebooks/teacher/, which is served only to teachers.
LESSONS: tuple[Lesson, ...] = (
    Lesson("01-red-flags.ipynb", "1. Red flags",
           "The signs that send a patient to emergency care or to a provider, and a drill."),
    Lesson("02-causes.ipynb", "2. Causes",
           "The causes by family, which findings point where, and a self-check."),
    Lesson("03-cases.ipynb", "3. Cases",
           "Short patient stories: decide the urgency and the likely causes; keep your results."),
    Lesson("04-workup-and-treatment.ipynb", "4. Work-up and treatment",
           "Which test answers which question; the treatment ladder; a self-check."),
    Lesson("05-risk-and-prevention.ipynb", "5. Risk and prevention",
           "Risk factors a patient can and cannot change, prevention, prognosis; a self-check."),
    Lesson("06-must-not-miss.ipynb", "6. Must not miss",
           "Dangerous causes of thoracic pain that can look like back pain; a self-check."),
)
COURSE_PAGE = "00-course.ipynb"


def lesson(notebook: str) -> Lesson:
    """The lesson for a notebook file name (KeyError names the file when it is not one)."""
    for x in LESSONS:
        if x.notebook == notebook:
            return x
    raise KeyError(f"{notebook} is not a lesson of the course: see course.LESSONS")


def next_lesson(notebook: str) -> Lesson | None:
    """The lesson after this one, or None after the last."""
    i = LESSONS.index(lesson(notebook))
    return LESSONS[i + 1] if i + 1 < len(LESSONS) else None


@dataclass(frozen=True)
class ResultRow:
    """One answered case, as the student sees it in their results."""

    case_id: str
    title: str
    points: int
    max_points: int
    chosen_urgency: str
    engine_urgency: str
    causes_named: str
    causes_missed: str


RESULT_FIELDS = ("case_id", "title", "points", "max_points", "your_urgency",
                 "engine_urgency", "causes_named", "causes_to_consider")


def results_csv(rows: Iterable[ResultRow], kb_version: str) -> str:
    """The student's results as CSV text (for a browser download; never written here). Ends
    with the knowledge-base version and the decision-support disclaimer, as every export does."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(RESULT_FIELDS)
    total = most = 0
    for r in rows:
        out.writerow([r.case_id, r.title, r.points, r.max_points, r.chosen_urgency,
                      r.engine_urgency, r.causes_named, r.causes_missed])
        total += r.points
        most += r.max_points
    out.writerow(["total", "", total, most, "", "", "", ""])
    out.writerow([f"# knowledge base version {kb_version}"])
    out.writerow([f"# {m.DISCLAIMER}"])
    return buf.getvalue()
