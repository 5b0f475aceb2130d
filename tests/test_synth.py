"""Synthetic cohorts: reproducible, well-formed, and exercising every rule and urgency."""

from __future__ import annotations

from pathlib import Path

import pytest

from upperback import URGENCIES, CohortError, KnowledgeBase
from upperback.cohort import plan_for, triage_frame
from upperback.synth import synthetic_cohort, write_cohort


def test_columns_and_values(kb: KnowledgeBase) -> None:
    frame = synthetic_cohort(300, 1, kb)
    assert list(frame.columns) == ["patient_id", *(f.finding_id for f in kb.findings_in_order())]
    assert frame["patient_id"].is_unique
    values = set(frame.drop(columns="patient_id").to_numpy().ravel())
    assert values == {"true", "false", ""}


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_same_seed_same_bytes(kb: KnowledgeBase, tmp_path: Path, suffix: str) -> None:
    paths = [tmp_path / f"{name}{suffix}" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (7, 7, 8), strict=True):
        write_cohort(synthetic_cohort(200, seed, kb), str(path))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_bad_extension(kb: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(CohortError, match=r"use a \.csv, \.csv\.gz or \.parquet"):
        write_cohort(synthetic_cohort(2, 1, kb), str(tmp_path / "x.txt"))


@pytest.mark.parametrize("n", [100, 500])
def test_every_rule_and_urgency(kb: KnowledgeBase, n: int) -> None:
    result = triage_frame(synthetic_cohort(n, 3, kb), plan_for(kb))
    assert set(result["urgency"]) == set(URGENCIES)
    fired = {r for cell in result["fired_rules"] for r in cell.split(";") if r}
    assert fired == set(kb.rules)


def test_empty_and_negative(kb: KnowledgeBase) -> None:
    assert len(synthetic_cohort(0, 1, kb)) == 0
    with pytest.raises(ValueError, match="0 or more"):
        synthetic_cohort(-1, 1, kb)
