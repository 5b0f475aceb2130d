"""Cohort triage: identical to `assess` row by row, strict about columns and values, atomic."""

from __future__ import annotations

import gzip
import itertools
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import upperback
from upperback import DISCLAIMER, CohortError, KnowledgeBase
from upperback import cohort as cohort_module
from upperback.cohort import Tick, plan_for, triage_file, triage_frame
from upperback.synth import synthetic_cohort

SPELLINGS = {True: ["true", "TRUE", " yes ", "Yes", "1"], False: ["false", "No", " 0", "FALSE"],
             None: ["", "  "]}


def expected(answers: Mapping[str, object], kb: KnowledgeBase) -> tuple[str, str, str]:
    a = upperback.assess(answers, kb)
    return (a.urgency, ";".join(r.rule_id for r in a.fired), ";".join(a.unanswered_red_flags))


def rows_of(result: pd.DataFrame) -> list[tuple[str, str, str]]:
    return list(result[["urgency", "fired_rules", "unanswered_red_flags"]]
                .itertuples(index=False, name=None))


@st.composite
def cohorts(draw: st.DrawFn, ids: list[str], with_age: bool
            ) -> tuple[list[dict[str, object]], pd.DataFrame]:
    n = draw(st.integers(1, 25))
    cols = draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    patients: list[dict[str, object]] = [
        {c: v for c in cols if (v := draw(st.sampled_from([True, False, None]))) is not None}
        for _ in range(n)]
    data = {"patient_id": [f"p{i}" for i in range(n)],
            **{c: [draw(st.sampled_from(SPELLINGS[p.get(c)])) for p in patients]  # type: ignore[index]
               for c in cols}}
    if with_age:
        ages = [draw(st.none() | st.integers(0, 120)) for _ in range(n)]
        data["age"] = ["" if a is None else str(a) for a in ages]
        for p, a in zip(patients, ages, strict=True):
            if a is not None:
                p["age"] = a
    return patients, pd.DataFrame(data, dtype="str")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_vectorised_equals_assess_per_row(kb: KnowledgeBase, data: st.DataObject) -> None:
    # Bias towards red-flag findings, where the rules live, while still using every finding.
    # one "aged N or older" column at most, so no row contradicts itself (tested below); none
    # beside an age column, which answers them
    with_age = data.draw(st.booleans())
    aged = {f for f, x in kb.findings.items() if x.min_age is not None
            and (with_age or x.min_age > 50)}
    ids = sorted(set(kb.findings) - aged)
    red = sorted({f for r in kb.rules.values() for f in r.findings} - aged)
    patients, frame = data.draw(cohorts(data.draw(st.sampled_from([ids, red])), with_age))
    result = triage_frame(frame, plan_for(kb))
    assert rows_of(result) == [expected(p, kb) for p in patients]
    assert list(result["patient_id"]) == list(frame["patient_id"])


def test_contradictory_age_answers_are_refused_with_the_line(kb: KnowledgeBase,
                                                            tmp_path: Path) -> None:
    src = write(tmp_path / "in.csv", ["patient_id", "age_50_or_older", "age_70_or_older"],
                [["p1", "true", "true"], ["p2", "false", "true"]])
    with pytest.raises(CohortError, match="line 3"):
        triage_file(src, tmp_path / "out.csv", kb, allow_missing=True)
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
        triage_file(src, out, kb, allow_missing=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # nothing left behind


def test_bad_value_in_a_later_chunk_names_the_line(kb: KnowledgeBase, tmp_path: Path) -> None:
    rows = [[f"p{i}", "false"] for i in range(10)]
    rows[7][1] = "perhaps"
    src = write(tmp_path / "in.csv", ["patient_id", "fever"], rows)
    with pytest.raises(CohortError, match="line 9, column 'fever'") as err:
        triage_file(src, tmp_path / "out.parquet", kb, chunk_rows=3, allow_missing=True)
    assert "perhaps" not in str(err.value)  # no patient value in messages
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    # the reader and triage threads are stopped before the error reaches the caller
    assert not [t.name for t in threading.enumerate() if t.name.startswith("cohort")]


def test_a_failed_write_stops_every_thread(kb: KnowledgeBase, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    frame = synthetic_cohort(300, 3, kb)
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    real = cohort_module._Sink.write
    calls: list[int] = []

    def failing(sink: object, table: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        real(sink, table)  # type: ignore[arg-type]

    monkeypatch.setattr(cohort_module._Sink, "write", failing)
    with pytest.raises(OSError, match="disk full") as err:
        triage_file(src, tmp_path / "out.csv", kb, chunk_rows=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    # stopped by the time the error arrives, not when its traceback is dropped
    assert err.traceback
    assert not [t.name for t in threading.enumerate() if t.name.startswith("cohort")]


@pytest.mark.parametrize(("keep", "message"), [
    (["site"], "--keep column 'site' is not in the file"),
    (["fever"], "is a finding, the age or a result column"),
    (["kb_version"], "is a finding, the age or a result column"),
    (["age"], "is a finding, the age or a result column"),
    (["patient_id"], "--keep 'patient_id' is not needed"),
    (["region", "region"], "--keep column 'region' is given twice"),
])
def test_bad_keep(kb: KnowledgeBase, tmp_path: Path, keep: list[str], message: str) -> None:
    src = write(tmp_path / "in.csv", ["patient_id", "region", "fever", "kb_version", "age"],
                [["p1", "north", "true", "x", ""]])
    with pytest.raises(CohortError, match=message):
        triage_file(src, tmp_path / "out.csv", kb, keep=keep, allow_missing=True)


@pytest.mark.parametrize(("name", "message"), [
    ("in.txt", r"use a \.csv, \.csv\.gz or \.parquet file"), ("missing.csv", "no such file")])
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
    seen: list[Tick] = []
    summary = triage_file(src, tmp_path / out_name, kb, keep=["site"], chunk_rows=20,
                          progress=seen.append)
    assert [t.rows for t in seen] == [20, 40, 50]
    assert {(t.total, t.unit) for t in seen} == {(src.stat().st_size, "bytes")}
    assert seen[-1].done == src.stat().st_size
    out = (pd.read_csv(tmp_path / out_name, dtype=str, keep_default_na=False)
           if out_name.endswith(".csv") else pd.read_parquet(tmp_path / out_name).fillna(""))
    columns = ["patient_id", "site", "urgency", "fired_rules", "unanswered_red_flags"]
    assert list(out.columns) == [*columns, "kb_version"]
    assert set(out["kb_version"]) == {kb.version}
    if out_name.endswith(".parquet"):
        schema = pq.read_schema(tmp_path / out_name)
        # one text per pattern, not per row
        assert str(schema.field("fired_rules").type).startswith("dictionary")
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
    triage_file(src, tmp_path / "out.csv", kb, allow_missing=True)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    want = [expected({fid: True}, kb), expected({fid: False}, kb), expected({}, kb)]
    assert rows_of(out) == want


@pytest.mark.parametrize("out_name", ["out.csv", "out.parquet"])
def test_header_only_output_carries_the_version(kb: KnowledgeBase, tmp_path: Path,
                                                out_name: str) -> None:
    src = write(tmp_path / "in.csv", ["patient_id", "fever"], [])
    triage_file(src, tmp_path / out_name, kb, allow_missing=True)
    if out_name.endswith(".csv"):
        assert (tmp_path / out_name).read_text().splitlines() == [
            "patient_id,urgency,fired_rules,unanswered_red_flags,kb_version"]
    else:
        assert pq.read_schema(tmp_path / out_name).metadata[b"kb_version"] == kb.version.encode()


# Every id holds "SECRET": no message may quote it. `block` shrinks Arrow's read block so that
# rows straddle blocks.
@pytest.mark.parametrize(("text", "block", "message"), [
    # one cell too many on every row
    ("patient_id,fever\nSECRET1,true,x\nSECRET2,false,y\n", None,
     r"line 2: the row has too many cells \(3, the header has 2\)"),
    ("patient_id,fever\nSECRET1,true\nSECRET2\n", None,
     r"line 3: the row has too few cells \(1, the header has 2\)"),
    ("patient_id,fever\nSECRET1,true\nSECRET2,false\nSECRET3,true,x,y\n", None,
     "line 4: the row has too many cells"),
    ("patient_id,fever\r\nSECRET1,true\r\n\r\nSECRET2\r\n", None,  # blank line counted
     "line 4: the row has too few cells"),
    ("patient_id,fever\nSECRET1,true\nSECRET2", None, "line 3: the row has too few cells"),
    ("patient_id,fever\n" + "SECRET1,true\n" * 20 + "SECRET2,,\n", 64,
     "line 22: the row has too many cells"),
    ('patient_id,fever\n"SECRET1,a",true\n"SECRET2\nb"\n', None,  # quoted line break
     "line 4: the row has too few cells"),
    ("patient_id,fever\rSECRET1,true\rSECRET2,true,\r", None,  # old Mac line breaks
     "line 3: the row has too many cells"),
])
def test_uneven_rows_name_the_line(kb: KnowledgeBase, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch, text: str,
                                   block: int | None, message: str) -> None:
    if block is not None:
        monkeypatch.setattr(cohort_module, "BLOCK_BYTES", block)
    src = tmp_path / "in.csv"
    src.write_bytes(text.encode())
    with pytest.raises(CohortError, match=message) as err:
        triage_file(src, tmp_path / "out.csv", kb, allow_missing=True)
    assert "SECRET" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(("text", "block"), [
    ("patient_id,fever\r\nSECRET1,true\r\n\r\nSECRET2,\r\n", None),
    ("patient_id,fever\n" + "".join(f"SECRET{i},true\n" for i in range(20)) + "SECRET,", 64),
    ('patient_id,fever\n"SECRET1,a",true\n"SECRET2\nb",\n', None),
    ("patient_id\n" + "".join(f"SECRET{i}\n" for i in range(30)), 64),
    ("patient_id,fever\rSECRET1,true\rSECRET2,\r", None),
    ("\ufeffpatient_id,fever\nSECRET1,true\n", None),  # Excel's "CSV UTF-8" byte-order mark
])
def test_even_rows_pass_the_check(kb: KnowledgeBase, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch, text: str,
                                  block: int | None) -> None:
    if block is not None:
        monkeypatch.setattr(cohort_module, "BLOCK_BYTES", block)
    src = tmp_path / "in.csv"
    src.write_bytes(text.encode())
    assert triage_file(src, tmp_path / "out.csv", kb, allow_missing=True).rows == (
        text.count("SECRET"))


@pytest.mark.parametrize(("rows", "message"), [
    ([["SECRET1", "true"], ["SECRET2", "false"], ["SECRET1", ""]], "lines 2 and 4"),
    ([["SECRET1", "true"], ["SECRET2", "false"], [" SECRET2", ""], ["SECRET1", ""]],
     r"lines 3 and 4, column 'patient_id': the same patient id appears twice \(1 more"),
])
@pytest.mark.parametrize("chunk_rows", [1, 1000])
def test_duplicate_ids_name_both_lines(kb: KnowledgeBase, tmp_path: Path,
                                       rows: list[list[str]], message: str,
                                       chunk_rows: int) -> None:
    src = write(tmp_path / "in.csv", ["patient_id", "fever"], rows)
    with pytest.raises(CohortError, match=message) as err:
        triage_file(src, tmp_path / "out.csv", kb, allow_missing=True, chunk_rows=chunk_rows)
    assert "SECRET" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_missing_red_flag_columns_refused_unless_allowed(kb: KnowledgeBase,
                                                         tmp_path: Path) -> None:
    frame = synthetic_cohort(30, 4, kb)
    red = plan_for(kb).red_flags
    gone = [red[0], red[-1]]
    src = tmp_path / "in.csv"
    frame.drop(columns=gone).to_csv(src, index=False)
    with pytest.raises(CohortError, match="no column for 2 red flags") as err:
        triage_file(src, tmp_path / "out.csv", kb)
    assert all(g in str(err.value) for g in gone)
    assert "--allow-missing" in str(err.value)
    assert not (tmp_path / "out.csv").exists()
    summary = triage_file(src, tmp_path / "out.csv", kb, allow_missing=True)
    assert summary.missing_red_flags == tuple(gone)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    blanked = frame.assign(**dict.fromkeys(gone, ""))
    assert rows_of(out) == rows_of(triage_frame(blanked, plan_for(kb)))


def test_gzipped_csv_in_and_out(kb: KnowledgeBase, tmp_path: Path) -> None:
    frame = synthetic_cohort(80, 6, kb)
    plain, packed = tmp_path / "in.csv", tmp_path / "in.csv.gz"
    frame.to_csv(plain, index=False)
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    triage_file(plain, tmp_path / "a.csv", kb)
    triage_file(packed, tmp_path / "b.csv", kb)
    triage_file(packed, tmp_path / "c.csv.gz", kb)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert gzip.decompress((tmp_path / "c.csv.gz").read_bytes()) == (
        tmp_path / "a.csv").read_bytes()
    bad = frame.copy()
    bad.loc[41, "fever"] = "maybe"
    packed.write_bytes(gzip.compress(bad.to_csv(index=False).encode()))
    with pytest.raises(CohortError, match="line 43, column 'fever'"):
        triage_file(packed, tmp_path / "d.csv", kb)


@pytest.mark.parametrize("piece_blocks", [1, 8])  # lines longer than a piece, several a piece
@pytest.mark.parametrize("last_newline", [True, False])
@pytest.mark.parametrize("name", ["in.csv", "in.csv.gz"])
def test_pieces_cut_at_line_ends(kb: KnowledgeBase, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, piece_blocks: int,
                                 last_newline: bool, name: str) -> None:
    """The CSV is parsed in line-aligned pieces: every byte once, in order."""
    monkeypatch.setattr(cohort_module, "BLOCK_BYTES", 64)
    monkeypatch.setattr(cohort_module, "PIECE_BLOCKS", piece_blocks)
    text = synthetic_cohort(60, 10, kb).to_csv(index=False).encode()
    text = text if last_newline else text.rstrip(b"\n")
    src = tmp_path / name
    src.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    pieces = [bytes(piece) for piece, _ in cohort_module._pieces(src)]
    assert b"".join(pieces) == text
    assert len(pieces) > 10
    assert all(p.endswith(b"\n") and b"\n" in p for p in pieces[:-1])


@pytest.mark.parametrize("odd", [None, 55])  # " Yes " in a middle piece: text from there on
@pytest.mark.parametrize("name", ["in.csv", "in.csv.gz"])
def test_many_pieces_give_every_row_once(kb: KnowledgeBase, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, name: str,
                                         odd: int | None) -> None:
    monkeypatch.setattr(cohort_module, "BLOCK_BYTES", 2048)  # above the header's length
    monkeypatch.setattr(cohort_module, "PIECE_BLOCKS", 1)  # about a dozen rows a piece
    frame = synthetic_cohort(120, 10, kb)
    written = frame.copy()
    if odd is not None:
        written.loc[odd, "fever"] = " Yes " if frame.loc[odd, "fever"] == "true" else " no"
    text = written.to_csv(index=False).encode()
    src = tmp_path / name
    src.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    ticks: list[Tick] = []
    summary = triage_file(src, tmp_path / "out.csv", kb, chunk_rows=50, progress=ticks.append)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert summary.rows == 120
    assert list(out["patient_id"]) == list(frame["patient_id"])
    assert rows_of(out) == rows_of(triage_frame(frame, plan_for(kb)))
    rows = [0, *(t.rows for t in ticks)]
    steps = [b - a for a, b in itertools.pairwise(rows)]
    assert ticks[-1].rows == 120
    assert all(0 < step <= 50 for step in steps)  # a switch to text ends a batch early
    if odd is None:
        assert [t.rows for t in ticks] == [50, 100, 120]
    assert ticks[-1].done == ticks[-1].total == src.stat().st_size


def _age_ids(kb: KnowledgeBase) -> list[str]:
    return sorted(f for f, x in kb.findings.items() if x.min_age is not None)


def test_age_column(kb: KnowledgeBase, tmp_path: Path) -> None:
    frame = synthetic_cohort(60, 9, kb).drop(columns=_age_ids(kb))
    ages = ["", "17", "50", " 66 ", "90", "0", "120", ""] * 7 + ["", "", "30", "71"]
    frame.insert(1, "age", ages)
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    triage_file(src, tmp_path / "out.csv", kb)  # the age answers the age red flags
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    want = []
    for row in frame.to_dict("records"):
        answers: dict[str, object] = {c: v == "true" for c, v in row.items()
                                      if c not in ("patient_id", "age") and v != ""}
        if row["age"].strip():
            answers["age"] = int(row["age"])
        want.append(expected(answers, kb))
    assert rows_of(out) == want


@pytest.mark.parametrize(("age", "other", "message"), [
    ("forty", "", "column 'age': the age is not a whole number"),
    ("121", "", "column 'age': the age is not a whole number"),
    ("-1", "", "column 'age': the age is not a whole number"),
    ("4.5", "", "column 'age': the age is not a whole number"),
    ("30", "true", "the age and .* disagree"),
    ("80", "false", "the age and .* disagree"),
])
def test_bad_age(kb: KnowledgeBase, tmp_path: Path, age: str, other: str, message: str) -> None:
    fid = _age_ids(kb)[0]
    src = write(tmp_path / "in.csv", ["patient_id", "age", fid],
                [["p1", "", ""], ["p2", age, other]])
    with pytest.raises(CohortError, match="line 3, column '" + ("age" if not other else "age, ")
                       ) as err:
        triage_file(src, tmp_path / "out.csv", kb, allow_missing=True)
    assert re.search(message, str(err.value))
    assert age not in str(err.value).replace("0 to 120", "")
    assert not (tmp_path / "out.csv").exists()


def test_parquet_integer_age(kb: KnowledgeBase, tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pd.DataFrame({"patient_id": ["a", "b", "c"],
                  "age": pd.array([70, None, 20], dtype="Int64")}).to_parquet(src)
    triage_file(src, tmp_path / "out.csv", kb, allow_missing=True)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert rows_of(out) == [expected({"age": 70}, kb), expected({}, kb), expected({"age": 20}, kb)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real two-worker Dask cluster (separate processes), as `--scheduler` would reach."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as c:
        yield c.scheduler_address


@pytest.mark.slow
@pytest.mark.parametrize("out_name", ["out.csv", "out.csv.gz"])
def test_dask_cluster_matches_local_byte_for_byte(kb: KnowledgeBase, tmp_path: Path,
                                                  cluster: str, out_name: str) -> None:
    frame = synthetic_cohort(700, 5, kb)
    frame.insert(1, "site", [f"s{i % 4}" for i in range(700)])
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    local, remote = tmp_path / f"local-{out_name}", tmp_path / f"dask-{out_name}"
    triage_file(src, local, kb, keep=["site"], chunk_rows=100)
    summary = triage_file(src, remote, kb, keep=["site"], chunk_rows=100, scheduler=cluster)
    assert local.read_bytes() == remote.read_bytes()
    assert summary.rows == 700
    bad = src.read_text().splitlines()
    bad[300] = bad[300].replace("false", "nope", 1)
    src.write_text("\n".join(bad) + "\n")
    with pytest.raises(CohortError, match="line 301"):
        triage_file(src, tmp_path / "dask2.csv", kb, keep=["site"], chunk_rows=100,
                    scheduler=cluster)
    assert not (tmp_path / "dask2.csv").exists()
    dup = src.read_text().splitlines()
    dup[300] = dup[12]
    src.write_text("\n".join(dup) + "\n")
    with pytest.raises(CohortError, match="lines 13 and 301"):
        triage_file(src, tmp_path / "dask3.csv", kb, keep=["site"], chunk_rows=100,
                    scheduler=cluster)
    assert not (tmp_path / "dask3.csv").exists()


def test_unreachable_scheduler(kb: KnowledgeBase, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    synthetic_cohort(5, 1, kb).to_csv(src, index=False)
    with pytest.raises(CohortError, match="cannot reach the Dask scheduler"):
        triage_file(src, tmp_path / "out.csv", kb, scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("late", [5, 390])
def test_other_spellings_after_typed_blocks(kb: KnowledgeBase, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, late: int) -> None:
    """Usual spellings are read as typed booleans; a later " Yes " switches to text from the
    row reached, without losing or repeating a row."""
    monkeypatch.setattr(cohort_module, "BLOCK_BYTES", 4096)
    frame = synthetic_cohort(400, 8, kb)
    odd = frame.copy()
    odd.loc[late, "fever"] = " Yes " if frame.loc[late, "fever"] == "true" else " no"
    src = tmp_path / "in.csv"
    odd.to_csv(src, index=False)
    summary = triage_file(src, tmp_path / "out.csv", kb, chunk_rows=7)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert summary.rows == 400
    assert list(out["patient_id"]) == list(frame["patient_id"])
    assert rows_of(out) == rows_of(triage_frame(frame, plan_for(kb)))
