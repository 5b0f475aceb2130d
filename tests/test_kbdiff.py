"""Differences between knowledge-base folders, and their impact on a cohort."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pandas as pd
import pytest

import upperback
from upperback import CohortError, KnowledgeBase
from upperback.kbdiff import diff_folders, folder_version, impact, impact_of_files
from upperback.synth import synthetic_cohort

DATA = Path(__file__).resolve().parents[1] / "data"


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


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
        assert expect in getattr(got, kind)
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
