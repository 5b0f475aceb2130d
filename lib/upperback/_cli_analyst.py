"""Analyst commands (diff, synth-cohort, cohort-triage, impact): registered by `cli.py`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import CohortError
from ._model import DISCLAIMER
from .cli import _add_data, _print_json

if TYPE_CHECKING:  # the cohort module (numpy) is imported only when a cohort command runs
    from .cohort import Tick


def cmd_diff(args: argparse.Namespace) -> int:
    from .kbdiff import diff_folders

    diff = diff_folders(args.old_dir, args.new_dir)
    if args.json:
        _print_json(diff.to_dict())
    else:
        print(diff.summary())
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from ._loader import load_knowledge_base
    from .synth import synthetic_cohort, write_cohort

    if args.n < 0:
        raise CohortError("N must be 0 or more")
    kb = load_knowledge_base(args.data)
    write_cohort(synthetic_cohort(args.n, args.seed, kb), str(args.output))
    print(f"wrote {args.n} synthetic patients to {args.output} (seed {args.seed}, knowledge "
          f"base {kb.version})")
    return 0


def cmd_cohort_triage(args: argparse.Namespace) -> int:
    from ._loader import load_knowledge_base
    from .cohort import triage_file

    kb = load_knowledge_base(args.data)
    report = _progress_reporter(args.progress or sys.stderr.isatty())
    try:
        summary = triage_file(args.input, args.output, kb, keep=args.keep or (),
                              engine=args.engine, scheduler=args.scheduler,
                              allow_missing=args.allow_missing, progress=report)
    finally:
        if report is not None:
            report.close()
    if summary.missing_red_flags:
        print(f"cohort-triage: no column for {', '.join(summary.missing_red_flags)}: read as "
              "unanswered for every patient (--allow-missing)", file=sys.stderr)
    counts = ", ".join(f"{u} {c:,}" for u, c in summary.counts.items())
    print(f"wrote {summary.rows:,} rows to {summary.output} ({counts}); knowledge base "
          f"{summary.kb_version}. {DISCLAIMER}")
    return 0


class _Reporter:
    """Cohort progress on stderr, counts only (never a patient value): a live bar on a
    terminal (rich), else one line per batch."""

    def __init__(self, live: bool) -> None:
        self.start = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None
        if live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("cohort-triage"), BarColumn(), TaskProgressColumn(),
                                TextColumn("{task.fields[rows]} rows, {task.fields[rate]}/s"),
                                TimeRemainingColumn(), console=Console(stderr=True),
                                transient=False)
            self.bar.start()

    def __call__(self, tick: Tick) -> None:
        rate = tick.rows / max(time.perf_counter() - self.start, 1e-9)
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task("", total=tick.total, rows="0", rate="0")
            self.bar.update(self.task, completed=tick.done, total=tick.total,
                            rows=f"{tick.rows:,}", rate=f"{rate:,.0f}")
            return
        if tick.total:
            of = (f"{tick.done / 1e6:,.1f} of {tick.total / 1e6:,.1f} MB read"
                  if tick.unit == "bytes" else f"{tick.done:,} of {tick.total:,} rows")
            share = f"{of} ({100 * tick.done / tick.total:.0f}%), "
        else:
            share = ""
        print(f"cohort-triage: {tick.rows:,} rows triaged, {share}{rate:,.0f} rows/s",
              file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _progress_reporter(wanted: bool) -> _Reporter | None:
    return _Reporter(live=sys.stderr.isatty()) if wanted else None


def cmd_impact(args: argparse.Namespace) -> int:
    from .kbdiff import impact_of_files

    result = impact_of_files(args.old, args.new, args.cohort)
    if args.json:
        _print_json({**result.to_dict(), "disclaimer": DISCLAIMER})
    else:
        print(result.summary())
        print(DISCLAIMER)
    return 0


def register(sub: Any) -> None:
    """Add the analyst subcommands to the `upperback` parser (see issue 6)."""
    p = sub.add_parser("diff", help="rows added, removed and changed between two knowledge bases")
    p.add_argument("old_dir", metavar="OLD_DIR", type=Path)
    p.add_argument("new_dir", metavar="NEW_DIR", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_diff)

    p = sub.add_parser("synth-cohort", help="write a reproducible synthetic cohort (CSV/Parquet)")
    p.add_argument("n", metavar="N", type=int, help="number of patients")
    p.add_argument("--seed", type=int, required=True, help="random seed (same seed, same file)")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help=".csv, .csv.gz or .parquet file")
    _add_data(p)
    p.set_defaults(handler=cmd_synth)

    p = sub.add_parser("cohort-triage", help="triage every patient of a cohort file")
    p.add_argument("input", metavar="INPUT", type=Path, help=".csv, .csv.gz or .parquet cohort")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help=".csv, .csv.gz or .parquet result")
    p.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="local (default, fastest on one machine) or dask: a two-worker local "
                   "Dask cluster, or the one given by --scheduler")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the rules on an existing Dask distributed cluster, e.g. "
                   "tcp://scheduler:8786 (implies --engine dask; needs upperback[dask] here and "
                   "on the workers)")
    p.add_argument("--keep", nargs="+", metavar="COL", help="extra columns to carry through")
    p.add_argument("--allow-missing", action="store_true",
                   help="accept a cohort without some red-flag columns (read as unanswered for "
                   "every patient; the list is printed)")
    p.add_argument("--progress", action="store_true",
                   help="report progress on stderr even when it is not a terminal (counts only)")
    _add_data(p)
    p.set_defaults(handler=cmd_cohort_triage)

    p = sub.add_parser("impact", help="how a knowledge-base change moves a cohort's urgencies")
    p.add_argument("--old", required=True, metavar="DIR", type=Path)
    p.add_argument("--new", required=True, metavar="DIR", type=Path)
    p.add_argument("--cohort", required=True, metavar="FILE", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_impact)
