"""Cohort benchmark (issues 6 and 11), every baseline measured in the same run:

- the triage computation alone against a row-wise `DataFrame.apply` of `assess` (goal >= 100x);
- the whole `cohort-triage` command against `pyarrow.csv.read_csv` of the same file plus writing
  a two-column CSV (goal: ratio <= 2);
- peak memory of `cohort-triage` alone: the maximum RSS of a fresh subprocess that runs only the
  command (`resource.getrusage(RUSAGE_CHILDREN)` in a small launcher; goal < 1 GB).
"""

from __future__ import annotations

import subprocess
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


def _arrow_baseline(src: Path, out: Path) -> tuple[float, float]:
    """(wall, CPU seconds) to read the whole file with Arrow and write patient_id plus one
    column: what any tool must at least do."""
    import pyarrow.csv as pcsv

    t, c = time.perf_counter(), time.process_time()
    table = pcsv.read_csv(src)
    pcsv.write_csv(table.select([0, 1]), out)
    return time.perf_counter() - t, time.process_time() - c


def _child(code: str) -> tuple[float, float]:
    """(seconds, peak MB) of `code` run in a fresh Python.

    A small launcher process runs it and reports `getrusage(RUSAGE_CHILDREN).ru_maxrss`: asked
    here, the answer would include this process's own peak (Linux folds the parent's memory
    high-water mark into a child started with vfork), which holds the whole synthetic cohort.
    """
    launcher = ("import resource, subprocess, sys; "
                f"subprocess.run([sys.executable, '-c', {code!r}], check=True); "
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", launcher], check=True, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - t
    return seconds, int(done.stdout.split()[-1]) / 1024


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

        # the command first in its own process (so its peak is its own), then the baseline;
        # both read the file from the page cache, warmed by writing it
        whole, peak = _child(
            "from upperback.cli import main; import sys; "
            f"sys.exit(main(['cohort-triage', {str(src)!r}, '-o', {str(out)!r}]))")
        baseline, baseline_cpu = min(_arrow_baseline(src, plain) for _ in range(2))
        t, c = time.perf_counter(), time.process_time()
        code = cli_main(["cohort-triage", str(src), "-o", str(out)])
        in_process, in_process_cpu = time.perf_counter() - t, time.process_time() - c
        if code:
            sys.exit(code)

    print(f"cohort benchmark ({n:,} synthetic patients, {size_mb:.0f} MB CSV)")
    print(f"  triage computation alone: {vector:.2f} s, {n / vector:,.0f} rows/s; row-wise "
          f"apply of assess (from {SAMPLE:,} rows) {rowwise:.0f} s: {rowwise / vector:.0f}x "
          "faster (goal >= 100x)")
    print(f"  whole cohort-triage: {in_process:.2f} s, {n / in_process:,.0f} rows/s; "
          f"pyarrow read_csv + two-column write_csv {baseline:.2f} s: ratio "
          f"{in_process / baseline:.2f} (goal <= 2)")
    # CPU time is steadier than wall time on a shared machine: both are shown
    print(f"  same in CPU time: {in_process_cpu:.2f} s against {baseline_cpu:.2f} s: ratio "
          f"{in_process_cpu / baseline_cpu:.2f}")
    print(f"  cohort-triage in a fresh process (with Python start-up and imports): {whole:.2f} s; "
          f"peak memory (max RSS of that process) {peak:,.0f} MB (goal < 1,000 MB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
