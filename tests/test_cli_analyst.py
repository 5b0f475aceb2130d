"""Analyst commands: output, errors and exit codes (0 ok, 1 bad data, 2 usage)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from upperback.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_diff_text_and_json(capsys: pytest.CaptureFixture[str], data_copy: Path) -> None:
    code, out, _ = run(capsys, "diff", str(DATA), str(data_copy))
    assert (code, "No differences" in out) == (0, True)
    path = data_copy / "triage_rules.csv"
    path.write_text(path.read_text().replace("Saddle or leg numbness,", "Saddle numbness,", 1))
    code, out, _ = run(capsys, "diff", str(DATA), str(data_copy), "--json")
    assert code == 0
    tables = json.loads(out)["tables"]
    assert tables["triage_rules"]["changed"] == [{
        "key": "em_saddle_or_leg_numbness",
        "line": next(i for i, x in enumerate((DATA / "triage_rules.csv").read_text()
                                             .splitlines(), 1)
                     if x.startswith("em_saddle_or_leg_numbness,")),
        "columns": ["label"],
        "cells": [{"column": "label", "old": "Saddle or leg numbness", "new": "Saddle numbness"}]}]
    assert json.loads(out)["protected"] == []


def test_diff_missing_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "diff", str(DATA), str(tmp_path))
    assert code == 1
    assert "datapackage.json" in err


@pytest.mark.parametrize("name", ["c.csv", "c.parquet"])
def test_synth_then_triage_then_impact(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                       name: str) -> None:
    cohort = tmp_path / name
    assert run(capsys, "synth-cohort", "120", "--seed", "4", "-o", str(cohort))[0] == 0
    out_path = tmp_path / "r.csv"
    code, out, err = run(capsys, "cohort-triage", str(cohort), "-o", str(out_path))
    assert code == 0, err
    assert "wrote 120 rows" in out
    assert "Decision support" in out
    assert err == ""  # not a terminal: no progress unless asked
    code, out, err = run(capsys, "cohort-triage", str(cohort), "-o", str(out_path), "--progress")
    assert code == 0, err
    unit = "MB read" if name.endswith(".csv") else "of 120 rows"
    assert "120 rows triaged" in err
    assert unit in err
    assert "(100%)" in err
    assert "rows/s" in err
    assert "SYN" not in err
    result = pd.read_csv(out_path, dtype=str, keep_default_na=False)
    assert list(result.columns) == ["patient_id", "urgency", "fired_rules",
                                    "unanswered_red_flags", "kb_version"]
    assert len(result) == 120
    code, out, _ = run(capsys, "impact", "--old", str(DATA), "--new", str(DATA), "--cohort",
                       str(cohort), "--json")
    report = json.loads(out)
    assert (code, report["patients"], report["changed"]) == (0, 120, 0)
    code, out, _ = run(capsys, "impact", "--old", str(DATA), "--new", str(DATA), "--cohort",
                       str(cohort))
    assert code == 0
    assert "0 change urgency" in out


@pytest.mark.slow
def test_cohort_triage_dask_and_keep(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cohort = tmp_path / "c.csv"
    run(capsys, "synth-cohort", "60", "--seed", "2", "-o", str(cohort))
    frame = pd.read_csv(cohort, dtype=str, keep_default_na=False)
    frame.insert(1, "site", "north")
    frame.to_csv(cohort, index=False)
    code, _, err = run(capsys, "cohort-triage", str(cohort), "-o", str(tmp_path / "r.parquet"),
                       "--engine", "dask", "--keep", "site")
    assert code == 0, err
    assert list(pd.read_parquet(tmp_path / "r.parquet").columns)[:2] == ["patient_id", "site"]


def test_cohort_missing_red_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cohort = tmp_path / "c.csv"
    run(capsys, "synth-cohort", "20", "--seed", "2", "-o", str(cohort))
    pd.read_csv(cohort, dtype=str, keep_default_na=False).drop(columns="fever").to_csv(
        cohort, index=False)
    out_path = tmp_path / "r.csv"
    code, _, err = run(capsys, "cohort-triage", str(cohort), "-o", str(out_path))
    assert code == 1
    assert "no column for 1 red flag: fever" in err
    assert not out_path.exists()
    code, out, err = run(capsys, "cohort-triage", str(cohort), "-o", str(out_path),
                         "--allow-missing")
    assert code == 0, err
    assert "no column for fever: read as unanswered for every patient" in err
    assert "wrote 20 rows" in out


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["cohort-triage", "{bad}", "-o", "{out}", "--allow-missing"], 1, "line 3, column 'fever'"),
    (["cohort-triage", "{typo}", "-o", "{out}"], 1, "column 'fevr' is not a finding id"),
    (["cohort-triage", "{missing}", "-o", "{out}"], 1, "no such file"),
    (["cohort-triage", "{bad}", "-o", "{tmp}/r.xlsx"], 1, "use a .csv, .csv.gz or .parquet"),
    (["cohort-triage", "{dup}", "-o", "{out}", "--allow-missing"], 1,
     "lines 2 and 4, column 'patient_id': the same patient id appears twice"),
    (["cohort-triage", "{bad}", "-o", "{out}", "--engine", "spark"], 2, "invalid choice"),
    (["cohort-triage", "{bad}"], 2, "-o/--output"),
    (["synth-cohort", "10", "-o", "{out}"], 2, "--seed"),
    (["synth-cohort", "ten", "--seed", "1", "-o", "{out}"], 2, "invalid int"),
    (["synth-cohort", "-3", "--seed", "1", "-o", "{out}"], 1, "N must be 0 or more"),
    (["synth-cohort", "10", "--seed", "1", "-o", "{tmp}/x.txt"], 1, "use a .csv, .csv.gz or"),
    (["impact", "--old", "{data}", "--new", "{data}", "--cohort", "{typo}"], 1, "'fevr'"),
    (["impact", "--old", "{data}", "--cohort", "{typo}"], 2, "--new"),
    (["diff", "{data}"], 2, "NEW_DIR"),
])
def test_errors_and_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                               argv: list[str], code: int, message: str) -> None:
    (tmp_path / "bad.csv").write_text("patient_id,fever\np1,true\np2,sometimes\n")
    (tmp_path / "typo.csv").write_text("patient_id,fevr\np1,true\n")
    (tmp_path / "dup.csv").write_text("patient_id,fever\np1,true\np2,\np1,false\n")
    names = {"bad": tmp_path / "bad.csv", "typo": tmp_path / "typo.csv",
             "dup": tmp_path / "dup.csv",
             "missing": tmp_path / "missing.csv", "out": tmp_path / "out.csv",
             "tmp": tmp_path, "data": DATA}
    got, _, err = run(capsys, *(a.format(**names) for a in argv))
    assert got == code
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("first", ["upperback._cli_analyst", "upperback.cli"])
def test_analyst_commands_import_either_way_round(first: str) -> None:
    """`_cli_analyst` imports its helpers from `cli`, which imports it only lazily: no cycle,
    whichever module is imported first."""
    code = (f"import {first}; from upperback.cli import build_parser; "
            "from upperback import _cli_analyst, cli; "
            "assert _cli_analyst._print_json is cli._print_json; "
            "build_parser().parse_args(['diff', 'a', 'b'])")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    done = subprocess.run([sys.executable, "-m", "upperback", "--help"], check=True,
                          capture_output=True, text=True, timeout=120)
    assert "cohort-triage" in done.stdout
