"""Cohort benchmark (issue 6): vectorised triage against a row-wise `DataFrame.apply` of
`assess`, and the whole `cohort-triage` command against plain pandas read + write of the same
file, each baseline measured in the same run. Peak memory is the process's maximum RSS."""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import upperback
from upperback.cli import main as cli_main
from upperback.cohort import plan_for, triage_frame
from upperback.synth import synthetic_cohort, write_cohort

SAMPLE = 5_000  # rows for the row-wise baseline (it is slow)


def _row_assess(row: pd.Series, kb: upperback.KnowledgeBase) -> str:
    answers = {k: v == "true" for k, v in row.items() if k != "patient_id" and v != ""}
    return upperback.assess(answers, kb).urgency


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(n: int = 1_000_000) -> None:
    kb = upperback.load_knowledge_base()
    plan = plan_for(kb)
    with tempfile.TemporaryDirectory(prefix="upperback-bench-") as tmp:
        src, out, plain = Path(tmp) / "cohort.csv", Path(tmp) / "out.csv", Path(tmp) / "p.csv"
        frame = synthetic_cohort(n, 1, kb)
        write_cohort(frame, str(src))
        size_mb = src.stat().st_size / 1e6

        t = time.perf_counter()
        triage_frame(frame, plan)
        vector = time.perf_counter() - t
        sample = frame.iloc[:SAMPLE]
        t = time.perf_counter()
        sample.apply(_row_assess, axis=1, kb=kb)
        rowwise = (time.perf_counter() - t) / len(sample) * n
        del frame, sample

        t = time.perf_counter()
        pd.read_csv(src).to_csv(plain)
        baseline = time.perf_counter() - t

        t = time.perf_counter()
        code = cli_main(["cohort-triage", str(src), "-o", str(out)])
        whole = time.perf_counter() - t
        if code:
            sys.exit(code)

    print(f"cohort benchmark ({n:,} synthetic patients, {size_mb:.0f} MB CSV)")
    print(f"  triage computation alone: {vector:.2f} s, {n / vector:,.0f} rows/s; row-wise "
          f"apply of assess (from {SAMPLE:,} rows) {rowwise:.0f} s: {rowwise / vector:.0f}x "
          "faster (goal >= 100x)")
    print(f"  whole cohort-triage: {whole:.2f} s, {n / whole:,.0f} rows/s; pandas read_csv + "
          f"to_csv {baseline:.2f} s: ratio {whole / baseline:.2f} (goal <= 1.5)")
    print(f"  peak memory (max RSS of this process, whole run): {_peak_mb():,.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
