"""Differences between knowledge-base folders, and their impact on a cohort."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pandas as pd
import pytest

import upperback
from conftest import DATA, LOWER, edit
from upperback import CohortError, KnowledgeBase
from upperback.kbdiff import (
    ProtectedChange,
    case_changes,
    diff_folders,
    folder_version,
    impact,
    impact_of_files,
    protected_changes,
    protected_urgencies,
    signoffs,
    unsigned,
)
from upperback.synth import synthetic_cohort


def test_identical_folders(data_copy: Path) -> None:
    diff = diff_folders(DATA, data_copy)
    assert diff.empty
    assert diff.old_version == diff.new_version
    assert "No differences" in diff.summary()


@pytest.mark.parametrize(("file", "old", "new", "table", "kind", "expect"), [
    ("triage_rules.csv", "Saddle or leg numbness,", "Saddle numbness,", "triage_rules",
     "changed", ("em_saddle_or_leg_numbness", ("label",))),
    ("complications.csv", "depression,Depression and anxiety,", "gloom,Depression and anxiety,",
     "complications", "added", "gloom"),
    ("complications.csv", "depression,Depression and anxiety,", "gloom,Depression and anxiety,",
     "complications", "removed", "depression"),
    ("condition_findings.csv", "back_strain,heavy_lifting,4,", "back_strain,heavy_lifting,3,",
     "condition_findings", "changed", ("back_strain|heavy_lifting", ("lr_positive",))),
])
def test_changes_by_primary_key(data_copy: Path, file: str, old: str, new: str, table: str,
                                kind: str, expect: object) -> None:
    edit(data_copy, file, old, new)
    diff = diff_folders(DATA, data_copy)
    tables = {t.table: t for t in diff.tables}
    assert list(tables) == [table]
    got = tables[table]
    if kind == "changed":
        assert [(c.key, c.columns) for c in got.changed] == [expect]
    else:
        assert expect in [r.key for r in getattr(got, kind)]
    assert diff.to_dict()["tables"][table]["file"] == file


def test_deleted_row(data_copy: Path) -> None:
    path = data_copy / "screening_limits.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    tables = diff_folders(DATA, data_copy).tables
    assert [(t.table, len(t.removed), len(t.added), len(t.changed)) for t in tables] == [
        ("screening_limits", 1, 0, 0)]


def test_impact_downgrades_first_and_rules(kb: KnowledgeBase) -> None:
    # A weakened emergency rule would fail validation (its safety case), so the new knowledge
    # base is built in memory: impact() must still show who is downgraded and why.
    rule = next(r for r in kb.rules.values() if r.urgency == "emergency")
    weaker = replace(kb, version="test", rules=MappingProxyType({
        **kb.rules, rule.rule_id: replace(rule, urgency="see_provider")}))
    cohort = synthetic_cohort(3000, 4, kb)
    result = impact(kb, weaker, cohort)
    assert result.changed > 0
    assert result.transitions[0][:2] == ("emergency", "see_provider")
    assert result.downgrades == result.changed
    assert [r.rule_id for r in result.rules] == [rule.rule_id]
    assert result.rules[0].newly_fires == 0
    assert sum(sum(r.values()) for r in result.crosstab.values()) == len(cohort)
    # each changed patient drops from emergency to whatever else still fires for them
    assert sum(n for u, n in result.crosstab["emergency"].items() if u != "emergency") == (
        result.changed)
    assert "DOWNGRADE emergency -> see_provider" in result.summary()
    assert all(o == "emergency" for _, o, _ in result.examples)
    # And the reverse change is an upgrade, listed without the downgrade mark.
    back = impact(weaker, kb, cohort)
    assert back.downgrades == 0
    assert back.changed == result.changed


def test_impact_identical_and_bad_cohort(tmp_path: Path, kb: KnowledgeBase) -> None:
    cohort = tmp_path / "c.csv"
    synthetic_cohort(200, 1, kb).to_csv(cohort, index=False)
    same = impact_of_files(DATA, DATA, cohort)
    assert (same.changed, same.patients, same.transitions) == (0, 200, ())
    pd.DataFrame({"patient_id": ["a"], "fevr": ["true"]}).to_csv(cohort, index=False)
    with pytest.raises(CohortError, match="'fevr'"):
        impact_of_files(DATA, DATA, cohort)
    pd.DataFrame({"patient_id": ["a", "b"], "fever": ["true", "x"]}).to_csv(cohort, index=False)
    with pytest.raises(CohortError, match="line 3, column 'fever'"):
        impact_of_files(DATA, DATA, cohort)


def test_missing_descriptor(tmp_path: Path) -> None:
    shutil.copytree(DATA, tmp_path / "d")
    (tmp_path / "d" / "datapackage.json").unlink()
    with pytest.raises(upperback.KnowledgeBaseError, match=r"datapackage\.json"):
        diff_folders(DATA, tmp_path / "d")


def test_folder_version(data_copy: Path, tmp_path: Path) -> None:
    version = folder_version(DATA)
    assert version == upperback.load_knowledge_base(DATA).version
    assert folder_version(str(data_copy)) == version
    edit(data_copy, "triage_rules.csv", "Saddle or leg numbness,", "Saddle numbness,")
    assert folder_version(data_copy) not in (version, "unreadable")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert folder_version(empty, unreadable="unreadable") == "unreadable"
    with pytest.raises(upperback.KnowledgeBaseError):
        folder_version(empty)
    (data_copy / "sources.csv").unlink()  # descriptor readable, a declared file missing
    assert folder_version(data_copy, unreadable="?") == "?"


def test_changed_cells_show_old_and_new(data_copy: Path) -> None:
    edit(data_copy, "triage_rules.csv", "Saddle or leg numbness,", "Saddle numbness,")
    diff = diff_folders(DATA, data_copy)
    (row,) = diff.tables[0].changed
    line = 1 + next(i for i, text in enumerate((DATA / "triage_rules.csv").read_text(
        encoding="utf-8").splitlines()) if text.startswith("em_saddle_or_leg_numbness,"))
    assert (row.key, row.line) == ("em_saddle_or_leg_numbness", line)
    assert [(c.column, c.old, c.new) for c in row.cells] == [
        ("label", "Saddle or leg numbness", "Saddle numbness")]
    assert "label: 'Saddle or leg numbness' -> 'Saddle numbness'" in diff.summary()
    cell = diff.to_dict()["tables"]["triage_rules"]["changed"][0]["cells"][0]
    assert cell == {"column": "label", "old": "Saddle or leg numbness", "new": "Saddle numbness"}


def test_added_and_removed_rows_carry_their_content(data_copy: Path) -> None:
    edit(data_copy, "complications.csv", "depression,Depression and anxiety,",
         "gloom,Depression and anxiety,")
    t = diff_folders(DATA, data_copy).tables[0]
    (added,), (removed,) = t.added, t.removed
    assert added.key == "gloom"
    assert dict(added.cells)["name"] == "Depression and anxiety"
    assert removed.key == "depression"
    assert dict(removed.cells)["name"] == "Depression and anxiety"
    text = diff_folders(DATA, data_copy).summary()
    assert "+ gloom (line" in text
    assert "name='Depression and anxiety'" in text


def test_a_duplicated_row_is_shown(data_copy: Path) -> None:
    path = data_copy / "screening_limits.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    diff = diff_folders(DATA, data_copy)
    assert not diff.empty
    (dup,) = diff.tables[0].duplicates
    assert dup.new_lines == (2, len(lines) + 1)
    assert dup.old_lines == (2,)
    assert "duplicate id" in diff.summary()
    assert "No differences" not in diff.summary()


def test_a_bom_makes_no_difference(data_copy: Path) -> None:
    for path in data_copy.glob("*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    diff = diff_folders(DATA, data_copy)
    assert diff.tables == ()


def test_protected_urgencies_come_from_the_engine_order() -> None:
    levels = protected_urgencies()
    assert levels[-1] == "emergency"
    assert levels == upperback._model.URGENCIES[: len(levels)]


def _without_rule(kb: KnowledgeBase, rule_id: str, *, with_cases: bool) -> KnowledgeBase:
    rule = kb.rules[rule_id]
    cases = {k: c for k, c in kb.safety_cases.items()
             if not (with_cases and all(c.answers.get(f) for f in rule.findings))}
    return replace(kb, version="test", rules=MappingProxyType(
        {k: r for k, r in kb.rules.items() if k != rule_id}),
        safety_cases=MappingProxyType(cases))


def test_every_emergency_rule_is_protected(kb: KnowledgeBase) -> None:
    # Derived from the data: the cancer rules (NICE NG234) are protected like the others.
    emergency = [r for r in kb.rules.values() if r.urgency in protected_urgencies()]
    assert {"em_cancer_leg_symptoms", "em_cancer_balance", "em_cancer_numbness"} <= {
        r.rule_id for r in emergency}
    for rule in emergency:
        changes = protected_changes(kb, _without_rule(kb, rule.rule_id, with_cases=True))
        tokens = {c.token for c in changes}
        assert f"rule:{rule.rule_id}" in tokens
        assert any(t.startswith("case:") for t in tokens), rule.rule_id


def test_downgrade_narrowing_and_case_weakening_are_protected(kb: KnowledgeBase) -> None:
    rule = kb.rules["em_cancer_balance"]
    down = replace(kb, rules=MappingProxyType(
        {**kb.rules, rule.rule_id: replace(rule, urgency=LOWER)}))
    assert [str(c) for c in protected_changes(kb, down)] == [
        f"rule:em_cancer_balance downgraded emergency -> {LOWER}"]
    narrow = replace(kb, rules=MappingProxyType(
        {**kb.rules, rule.rule_id: replace(rule, findings=(*rule.findings, "fever"))}))
    assert [c.change for c in protected_changes(kb, narrow)] == ["narrowed: now also needs fever"]
    case = next(c for c in kb.safety_cases.values()
                if all(c.answers.get(f) for f in rule.findings))
    lowered = replace(kb, safety_cases=MappingProxyType(
        {**kb.safety_cases, case.case_id: replace(case, min_urgency=LOWER)}))
    assert [c.token for c in protected_changes(kb, lowered)] == [f"case:{case.case_id}"]
    # Broadening a rule (a finding fewer) or relabelling it is not a weakening.
    broad = replace(kb, rules=MappingProxyType(
        {**kb.rules, rule.rule_id: replace(rule, findings=rule.findings[:1], label="x")}))
    assert protected_changes(kb, broad) == ()
    assert protected_changes(kb, kb) == ()


def _with_changelog(kb: KnowledgeBase, rows: list[dict[str, object]]) -> KnowledgeBase:
    extra = dict(kb.extra_tables)
    extra["changelog"] = (*kb.extra_tables["changelog"],
                          *(MappingProxyType(r) for r in rows))
    return replace(kb, extra_tables=MappingProxyType(extra))


def test_signoff_covers_only_what_it_names(kb: KnowledgeBase) -> None:
    new = _without_rule(kb, "em_cancer_numbness", with_cases=True)
    changes = protected_changes(kb, new)
    assert unsigned(changes, signoffs(kb, new)) == changes
    unsigned_row = {"entry": 99, "date": "2026-11-30", "editor": "a", "reason": "r",
                    "from_version": kb.version, "signed_off_by": None,
                    "signed_off": "rule:em_cancer_numbness deleted"}
    assert signoffs(kb, _with_changelog(new, [unsigned_row])) == ()  # nobody signed
    signed = _with_changelog(new, [{**unsigned_row, "signed_off_by": "Dr Lee",
                                    "signed_off": "rule:em_cancer_numbness deleted"}])
    (s,) = signoffs(kb, signed)
    assert (s.by, s.date, s.covers) == ("Dr Lee", "2026-11-30", ("rule:em_cancer_numbness",))
    left = unsigned(changes, (s,))
    assert left
    assert all(isinstance(c, ProtectedChange) and c.kind == "case" for c in left)
    every = ";".join(str(c) for c in changes)
    assert unsigned(changes, signoffs(kb, _with_changelog(new, [
        {**unsigned_row, "signed_off_by": "Dr Lee", "signed_off": every}]))) == ()


def test_impact_shows_protected_changes_and_case_changes(kb: KnowledgeBase) -> None:
    new = _without_rule(kb, "em_cancer_balance", with_cases=True)
    rule = kb.rules["em_cancer_balance"]
    cohort = pd.DataFrame({"patient_id": ["a", "b"],
                           **{f: ["true", "false"] for f in rule.findings}})
    result = impact(kb, new, cohort)
    assert [c.token for c in result.unsigned][:1] == ["rule:em_cancer_balance"]
    text = result.summary()
    assert "PROTECTED" in text
    assert "NEEDS CLINICAL SIGN-OFF" in text
    assert result.to_dict()["protected"][0] == {
        "item": "rule:em_cancer_balance", "change": "deleted (was emergency)",
        "signed_off": False}


def _leading(kb: KnowledgeBase, answers: dict[str, bool]) -> tuple[str, ...]:
    from upperback import _engine

    cut = int(getattr(_engine, "LEADING_CAUSES", 3))
    return tuple(c.condition_id for c in _engine.assess(answers, kb).candidates[:cut])


def test_case_changes_cover_causes_and_treatments(kb: KnowledgeBase) -> None:
    assert case_changes(kb, kb) == ()
    # Drop every link of the cause that leads most often: the cases it led change.
    counts: dict[str, int] = {}
    for c in kb.safety_cases.values():
        for cid in _leading(kb, dict(c.answers))[:1]:
            counts[cid] = counts.get(cid, 0) + 1
    target = max(sorted(counts), key=counts.__getitem__)
    new = replace(kb, condition_findings=tuple(
        x for x in kb.condition_findings if x.condition_id != target))
    changes = case_changes(kb, new)
    assert changes
    assert {c.kind for c in changes} <= {"safety", "teaching"}
    listed = {(c.kind, c.case_id) for c in changes}
    for case in kb.safety_cases.values():  # exactly the safety cases whose causes moved
        if getattr(case, "others_no", False):
            continue  # run with every other question "no": checked through case_changes only
        before, after = _leading(kb, dict(case.answers)), _leading(new, dict(case.answers))
        if ("safety", case.case_id) in listed:
            change = next(c for c in changes if c.case_id == case.case_id)
            assert (change.old_causes, change.new_causes) == (before, after)
        else:
            assert before == after, case.case_id
    assert any("leading causes" in str(c) for c in changes)
    # A treatment linked to no condition any more leaves the plans of the cases it was in.
    from upperback._engine import assess

    offered = {t.treatment_id for c in kb.safety_cases.values()
               for t in assess(dict(c.answers), kb).treatments}
    gone = sorted(offered - {t.treatment_id for t in kb.treatments.values() if t.general})[0]
    fewer = replace(kb, treatment_conditions=tuple(
        t for t in kb.treatment_conditions if t.treatment_id != gone))
    assert any(gone in c.treatments_removed for c in case_changes(kb, fewer))
