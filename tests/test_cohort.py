"""Cohort triage: identical to `assess` row by row, strict about columns and values, atomic."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import upperback
from upperback import DISCLAIMER, CohortError, KnowledgeBase
from upperback import cohort as cohort_module
from upperback.cohort import plan_for, triage_file, triage_frame
from upperback.synth import synthetic_cohort

SPELLINGS = {True: ["true", "TRUE", " yes ", "Yes", "1"], False: ["false", "No", " 0", "FALSE"],
             None: ["", "  "]}


def expected(answers: dict[str, bool], kb: KnowledgeBase) -> tuple[str, str, str]:
    a = upperback.assess(answers, kb)
    return (a.urgency, ";".join(r.rule_id for r in a.fired), ";".join(a.unanswered_red_flags))


def rows_of(result: pd.DataFrame) -> list[tuple[str, str, str]]:
    return list(result[["urgency", "fired_rules", "unanswered_red_flags"]]
                .itertuples(index=False, name=None))


@st.composite
def cohorts(draw: st.DrawFn, ids: list[str]) -> tuple[list[dict[str, bool]], pd.DataFrame]:
    n = draw(st.integers(1, 25))
    cols = draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    patients = [{c: v for c in cols
                 if (v := draw(st.sampled_from([True, False, None]))) is not None}
                for _ in range(n)]
    frame = pd.DataFrame({"patient_id": [f"p{i}" for i in range(n)],
                          **{c: [draw(st.sampled_from(SPELLINGS[p.get(c)])) for p in patients]
                             for c in cols}}, dtype="str")
    return patients, frame


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_vectorised_equals_assess_per_row(kb: KnowledgeBase, data: st.DataObject) -> None:
    # Bias towards red-flag findings, where the rules live, while still using every finding.
    # one "aged N or older" column at most, so no row contradicts itself (tested below)
    young = {f for f, x in kb.findings.items() if x.min_age is not None and x.min_age > 50}
    ids = sorted(set(kb.findings) - young)
    red = sorted({f for r in kb.rules.values() for f in r.findings} - young)
    patients, frame = data.draw(cohorts(data.draw(st.sampled_from([ids, red]))))
    result = triage_frame(frame, plan_for(kb))
    assert rows_of(result) == [expected(p, kb) for p in patients]
    assert list(result["patient_id"]) == list(frame["patient_id"])


def test_contradictory_age_answers_are_refused_with_the_line(kb: KnowledgeBase,
                                                            tmp_path: Path) -> None:
    src = write(tmp_path / "in.csv", ["patient_id", "age_50_or_older", "age_70_or_older"],
                [["p1", "true", "true"], ["p2", "false", "true"]])
    with pytest.raises(CohortError, match="line 3"):
        triage_file(src, tmp_path / "out.csv", kb)
    assert not (tmp_path / "out.csv").exists()


def test_synthetic_cohort_matches_assess(kb: KnowledgeBase) -> None:
    frame = synthetic_cohort(1500, 11, kb)
    result = triage_frame(frame, plan_for(kb))
    answers = [{c: v == "true" for c, v in row.items() if c != "patient_id" and v != ""}
               for row in frame.to_dict("records")]
    assert rows_of(result) == [expected(a, kb) for a in answers]


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("header", "rows", "message"), [
    (["patient_id", "fevr"], [["p1", "true"]], "column 'fevr' is not a finding id"),
    (["id", "fever"], [["p1", "true"]], "no 'patient_id' column"),
    (["patient_id", "fever", "fever"], [["p1", "true", "true"]], "'fever' appears twice"),
    (["patient_id", "fever"], [["p1", "true"], ["p2", "maybe"]],
     "line 3, column 'fever': the value is not true/false"),
    (["patient_id", "fever"], [["p1", "NA"]], "line 2, column 'fever'"),
    (["patient_id", "fever"], [["p1", "2"]], "line 2, column 'fever'"),
    (["patient_id", "fever"], [["p1", "true"], ["", "false"]], "line 3, column 'patient_id'"),
])
def test_bad_columns_and_values(kb: KnowledgeBase, tmp_path: Path, header: list[str],
                                rows: list[list[str]], message: str) -> None:
    src = write(tmp_path / "in.csv", header, rows)
    out = tmp_path / "out.csv"
    with pytest.raises(CohortError, match=message):
        triage_file(src, out, kb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # nothing left behind


def test_bad_value_in_a_later_chunk_names_the_line(kb: KnowledgeBase, tmp_path: Path) -> None:
    rows = [[f"p{i}", "false"] for i in range(10)]
    rows[7][1] = "perhaps"
    src = write(tmp_path / "in.csv", ["patient_id", "fever"], rows)
    with pytest.raises(CohortError, match="line 9, column 'fever'") as err:
        triage_file(src, tmp_path / "out.parquet", kb, chunk_rows=3)
    assert "perhaps" not in str(err.value)  # no patient value in messages
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(("keep", "message"), [
    (["site"], "--keep column 'site' is not in the file"),
    (["fever"], "is a finding or a result column"),
    (["kb_version"], "is a finding or a result column"),
    (["patient_id"], "--keep 'patient_id' is not needed"),
    (["region", "region"], "--keep column 'region' is given twice"),
])
def test_bad_keep(kb: KnowledgeBase, tmp_path: Path, keep: list[str], message: str) -> None:
    src = write(tmp_path / "in.csv", ["patient_id", "region", "fever", "kb_version"],
                [["p1", "north", "true", "x"]])
    with pytest.raises(CohortError, match=message):
        triage_file(src, tmp_path / "out.csv", kb, keep=keep)


@pytest.mark.parametrize(("name", "message"), [
    ("in.txt", "use a .csv or .parquet file"), ("missing.csv", "no such file")])
def test_bad_input_files(kb: KnowledgeBase, tmp_path: Path, name: str, message: str) -> None:
    if name.endswith(".txt"):
        (tmp_path / name).write_text("patient_id\n")
    with pytest.raises(CohortError, match=message):
        triage_file(tmp_path / name, tmp_path / "out.csv", kb)


@pytest.mark.parametrize("out_name", ["out.csv", "out.parquet"])
def test_file_round_trip_keep_and_progress(kb: KnowledgeBase, tmp_path: Path,
                                           out_name: str) -> None:
    frame = synthetic_cohort(50, 2, kb)
    frame.insert(1, "site", [f"s{i % 3}" for i in range(50)])
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    seen: list[int] = []
    summary = triage_file(src, tmp_path / out_name, kb, keep=["site"], chunk_rows=20,
                          progress=lambda done, total: seen.append(done))
    assert seen == [20, 40, 50]
    out = (pd.read_csv(tmp_path / out_name, dtype=str, keep_default_na=False)
           if out_name.endswith(".csv") else pd.read_parquet(tmp_path / out_name).fillna(""))
    columns = ["patient_id", "site", "urgency", "fired_rules", "unanswered_red_flags"]
    if out_name.endswith(".csv"):
        assert list(out.columns) == [*columns, "kb_version"]
        assert set(out["kb_version"]) == {kb.version}
    else:
        assert list(out.columns) == columns
        meta = pq.read_schema(tmp_path / out_name).metadata
        assert meta[b"kb_version"].decode() == kb.version
        assert meta[b"disclaimer"].decode() == DISCLAIMER
    assert list(out["site"]) == list(frame["site"])
    assert rows_of(out) == rows_of(triage_frame(frame.drop(columns="site"), plan_for(kb)))
    assert summary.rows == 50
    assert sum(summary.counts.values()) == 50


def test_parquet_input_with_booleans(kb: KnowledgeBase, tmp_path: Path) -> None:
    fid = next(iter(kb.findings_in_order())).finding_id
    src = tmp_path / "in.parquet"
    pd.DataFrame({"patient_id": ["a", "b", "c"],
                  fid: pd.array([True, False, None], dtype="boolean")}).to_parquet(src)
    triage_file(src, tmp_path / "out.csv", kb)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    want = [expected({fid: True}, kb), expected({fid: False}, kb), expected({}, kb)]
    assert rows_of(out) == want


def test_dask_local_cluster_matches_pandas(kb: KnowledgeBase, tmp_path: Path) -> None:
    frame = synthetic_cohort(400, 5, kb)
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    triage_file(src, tmp_path / "pandas.csv", kb)
    triage_file(src, tmp_path / "dask.csv", kb, engine="dask")
    assert (tmp_path / "pandas.csv").read_bytes() == (tmp_path / "dask.csv").read_bytes()
    bad = src.read_text().splitlines()
    bad[300] = bad[300].replace("false", "nope", 1)
    src.write_text("\n".join(bad) + "\n")
    with pytest.raises(CohortError, match="line 301"):
        triage_file(src, tmp_path / "dask2.csv", kb, engine="dask")
    assert not (tmp_path / "dask2.csv").exists()


@pytest.mark.parametrize("out_name", ["out.csv", "out.parquet"])
def test_header_only_output_carries_the_version(kb: KnowledgeBase, tmp_path: Path,
                                                out_name: str) -> None:
    src = write(tmp_path / "in.csv", ["patient_id", "fever"], [])
    triage_file(src, tmp_path / out_name, kb)
    if out_name.endswith(".csv"):
        assert (tmp_path / out_name).read_text().splitlines() == [
            "patient_id,urgency,fired_rules,unanswered_red_flags,kb_version"]
    else:
        assert pq.read_schema(tmp_path / out_name).metadata[b"kb_version"] == kb.version.encode()


# Every id holds "SECRET": no message may quote it. `block` shrinks the raw-check block size so
# that lines straddle blocks.
@pytest.mark.parametrize(("text", "block", "message"), [
    # one cell too many on every row: pandas would take the ids as the index
    ("patient_id,fever\nSECRET1,true,x\nSECRET2,false,y\n", None,
     r"line 2: the row has too many cells \(3, the header has 2\)"),
    ("patient_id,fever\nSECRET1,true\nSECRET2\n", None,
     r"line 3: the row has too few cells \(1, the header has 2\)"),
    ("patient_id,fever\nSECRET1,true\nSECRET2,false\nSECRET3,true,x,y\n", None,
     "line 4: the row has too many cells"),
    ("patient_id,fever\r\nSECRET1,true\r\n\r\nSECRET2\r\n", None,  # blank line counted
     "line 4: the row has too few cells"),
    ("patient_id,fever\nSECRET1,true\nSECRET2", None, "line 3: the row has too few cells"),
    ("patient_id,fever\n" + "SECRET1,true\n" * 20 + "SECRET2,,\n", 7,
     "line 22: the row has too many cells"),
    ('patient_id,fever\n"SECRET1,a",true\n"SECRET2\nb"\n', None,  # quoted: csv module
     "line 4: the row has too few cells"),
    ("patient_id,fever\rSECRET1,true\rSECRET2,true,\r", None,  # old Mac breaks: csv module
     "line 3: the row has too many cells"),
])
@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_uneven_rows_name_the_line(kb: KnowledgeBase, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch, text: str,
                                   block: int | None, message: str, engine: str) -> None:
    if block is not None:
        monkeypatch.setattr(cohort_module, "_BLOCK", block)
    src = tmp_path / "in.csv"
    src.write_bytes(text.encode())
    with pytest.raises(CohortError, match=message) as err:
        triage_file(src, tmp_path / "out.csv", kb, engine=engine)
    assert "SECRET" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(("text", "block"), [
    ("patient_id,fever\r\nSECRET1,true\r\n\r\nSECRET2,\r\n", None),
    ("patient_id,fever\n" + "SECRET1,true\n" * 20 + "SECRET2,", 5),
    ('patient_id,fever\n"SECRET1,a",true\n"SECRET2\nb",\n', None),
    ("patient_id\nSECRET1\nSECRET2\n", 4),
    ("patient_id,fever\rSECRET1,true\rSECRET2,\r", None),
])
def test_even_rows_pass_the_check(kb: KnowledgeBase, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch, text: str,
                                  block: int | None) -> None:
    if block is not None:
        monkeypatch.setattr(cohort_module, "_BLOCK", block)
    src = tmp_path / "in.csv"
    src.write_bytes(text.encode())
    assert triage_file(src, tmp_path / "out.csv", kb).rows == text.count("SECRET")
