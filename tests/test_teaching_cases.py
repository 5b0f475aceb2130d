"""The teaching cases stay true to the engine: a rule or link edit that changes a case's answer
fails here, naming the case, so the educator updates the story or the key."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import upperback
from upperback import KnowledgeBase, KnowledgeBaseError, quiz

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
