"""The teaching cases stay true to the engine: a rule or link edit that changes a case's answer
fails here, naming the case, so the educator updates the story or the key."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import upperback
from upperback import KnowledgeBase, KnowledgeBaseError, kbdiff, quiz
from upperback import teaching_widgets as tw

REPO = Path(__file__).resolve().parents[1]
CASES = quiz.load_cases(upperback.load_knowledge_base(REPO / "data"))


@pytest.mark.parametrize("case", CASES, ids=[c.case_id for c in CASES])
def test_case_agrees_with_engine(case: quiz.TeachingCase, kb: KnowledgeBase) -> None:
    got = upperback.assess(case.answers, kb)
    assert got.urgency == case.expected_urgency, (
        f"{case.case_id}: stored {case.expected_urgency}, engine now says {got.urgency}")
    check = quiz.check_case(case, kb)
    assert not check.causes_missing, (
        f"{case.case_id}: {check.causes_missing} not among the engine's leading {check.leading}")


def test_cases_cover_every_urgency_and_cause_group(kb: KnowledgeBase) -> None:
    assert len(CASES) >= 12
    assert {c.expected_urgency for c in CASES} == set(upperback.URGENCIES)
    top_groups = {c.group for c in kb.conditions.values() if not c.parent}
    covered = {kb.conditions[cid].group for c in CASES for cid in c.expected_causes}
    assert top_groups <= covered


def test_every_case_has_answers_and_causes() -> None:
    for case in CASES:
        assert any(case.answers.values()), case.case_id
        assert case.expected_causes, case.case_id


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _append(path: Path, row: dict[str, str]) -> None:
    _write(path, [*_read(path), row])


def test_rule_edit_that_changes_a_case_is_caught(data_copy: Path) -> None:
    # An analyst adds a (valid, safety-cased) emergency rule: fatty-meal pain with nausea.
    # The gallstone case answers both yes, so its stored see-a-provider answer is now stale.
    _append(data_copy / "triage_rules.csv", {
        "rule_id": "em_meal_nausea", "urgency": "emergency", "label": "Meal pain with nausea",
        "rationale": "Test rule.", "source_id": "niddk_digestive"})
    for fid in ("pain_after_fatty_meal", "nausea_or_vomiting"):
        _append(data_copy / "rule_findings.csv", {"rule_id": "em_meal_nausea", "finding_id": fid})
        _append(data_copy / "safety_case_answers.csv",
                {"case_id": "case_em_meal_nausea", "finding_id": fid, "answer": "true"})
    _append(data_copy / "safety_cases.csv", {
        "case_id": "case_em_meal_nausea", "min_urgency": "emergency", "max_urgency": "",
        "others_no": "false", "description": "Test case.", "source_id": "niddk_digestive"})
    # validation refuses the knowledge base: the stale case would teach the wrong answer
    with pytest.raises(KnowledgeBaseError) as info:
        upperback.load_knowledge_base(data_copy)
    (problem,) = info.value.problems
    assert problem.file == "teaching_cases.csv"
    assert problem.column == "expected_urgency"
    assert "'after_the_curry' expects see_provider but the engine gives emergency" in (
        problem.message)


def test_link_edit_that_drops_an_expected_cause_is_caught(data_copy: Path) -> None:
    rows = _read(data_copy / "condition_findings.csv")
    for r in rows:
        if r["condition_id"] == "pregnancy":
            r["finding_id"] = "poor_posture"  # the pregnancy case no longer points to it
    _write(data_copy / "condition_findings.csv", rows)
    kb = upperback.load_knowledge_base(data_copy)
    (case,) = [c for c in quiz.load_cases(kb) if c.case_id == "first_pregnancy"]
    assert quiz.check_case(case, kb).causes_missing == ("pregnancy",)


# --- the one-row-per-case form -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("fever=yes", {"fever": True}),
    (" fever = yes ; heavy_lifting=NO; ", {"fever": True, "heavy_lifting": False}),
    ("", {}),
])
def test_parse_answers(text: str, expected: dict[str, bool]) -> None:
    assert quiz.parse_answers(text) == expected
    assert quiz.parse_answers(quiz.format_answers(expected)) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("fever", "write finding_id=yes"), ("fever=maybe", "write finding_id=yes"),
    ("=yes", "write finding_id=yes"), ("fever=yes; fever=no", "answered twice")])
def test_parse_answers_says_what_to_write(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        quiz.parse_answers(text)


def _case_row(**change: str) -> dict[str, str]:
    row = {"case_id": "new_case", "display_order": "99", "title": "New case",
           "vignette": "A story.", "answers": "heavy_lifting=yes", "other_red_flags": "no",
           "expected_urgency": "self_care", "expected_causes": "back_strain",
           "teaching_point": "A point.", "source_id": "verywell_ubp"}
    return {**row, **change}


def test_a_case_added_as_one_row_appears_in_the_quiz(data_copy: Path) -> None:
    _append(data_copy / "teaching_cases.csv", _case_row())
    kb = upperback.load_knowledge_base(data_copy)  # validates: the engine agrees
    case = next(c for c in quiz.load_cases(kb) if c.case_id == "new_case")
    screen = quiz.screen_findings(kb)
    assert screen <= set(case.answers)  # other_red_flags=no: the screen is complete
    assert case.answers["heavy_lifting"] is True
    r = quiz.score_case(case, "self_care", ["back_strain"], kb)
    assert r.points == r.max_points
    panel = tw.case_quiz(kb)
    picker = next(x for x in _walk(panel) if "ub-case-select" in x._dom_classes)
    assert "new_case" in [v for _, v in picker.options]


@pytest.mark.parametrize(("change", "column", "words"), [
    # the descriptor's own constraints (pattern, enum, required) catch the malformed cells
    ({"answers": "heavy_lifting=perhaps"}, "answers", "pattern"),
    ({"other_red_flags": "maybe"}, "other_red_flags", "no, unasked"),
    ({"expected_causes": ""}, "expected_causes", "required"),
    # the case form's checks name the case too
    ({"answers": "not_a_finding=yes"}, "answers", "case 'new_case': unknown finding id"),
    ({"answers": "heavy_lifting=no"}, "answers", "case 'new_case': no finding is answered yes"),
    ({"expected_causes": "back_strain; nope"}, "expected_causes",
     "case 'new_case': unknown condition id nope"),
])
def test_a_case_that_cannot_be_read_is_refused_naming_row_and_column(
        data_copy: Path, change: dict[str, str], column: str, words: str) -> None:
    _append(data_copy / "teaching_cases.csv", _case_row(**change))
    line = len(_read(data_copy / "teaching_cases.csv")) + 1
    with pytest.raises(KnowledgeBaseError) as err:
        upperback.load_knowledge_base(data_copy)
    text = str(err.value)
    assert f"teaching_cases.csv, line {line}, column '{column}'" in text
    assert words in text


@pytest.mark.parametrize(("change", "engine"), [
    ({"expected_urgency": "emergency"}, "self_care"),  # over-triaged story
    ({"other_red_flags": "unasked"}, "incomplete"),  # the screen was never done
])
def test_a_case_that_contradicts_the_engine_is_refused(data_copy: Path, change: dict[str, str],
                                                       engine: str) -> None:
    _append(data_copy / "teaching_cases.csv", _case_row(**change))
    with pytest.raises(KnowledgeBaseError, match=rf"new_case.*engine gives {engine}") as err:
        upperback.load_knowledge_base(data_copy)
    assert "column 'expected_urgency'" in str(err.value)


def test_age_bands_stay_consistent_when_the_rest_is_no(kb: KnowledgeBase) -> None:
    old = next(f for f, x in kb.findings.items() if x.min_age is not None
               and x.min_age == max(y.min_age or 0 for y in kb.findings.values()))
    answers = quiz.expand_answers(kb, {old: True}, "no")
    for f, x in kb.findings.items():
        if x.min_age is not None:
            assert answers[f] is True  # the oldest band implies every younger one
    upperback.assess(answers, kb)  # no contradiction


def _walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_the_impact_report_runs_the_teaching_cases(data_copy: Path, kb: KnowledgeBase) -> None:
    rows = _read(data_copy / "condition_findings.csv")
    for r in rows:
        if r["condition_id"] == "pregnancy":
            r["finding_id"] = "poor_posture"  # the pregnancy case no longer points to it
    _write(data_copy / "condition_findings.csv", rows)
    changed = {(c.kind, c.case_id) for c in kbdiff.case_changes(
        kb, upperback.load_knowledge_base(data_copy))}
    assert ("teaching", "first_pregnancy") in changed
