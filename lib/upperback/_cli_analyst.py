"""Analyst commands (diff, synth-cohort, cohort-triage, impact): registered by `cli.py`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ._errors import CohortError
from ._model import DISCLAIMER
from .cli import _add_data, _print_json


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
    start = time.perf_counter()

    def progress(done: int, total: int | None) -> None:  # counts only, never a patient value
        of = f" of {total:,}" if total else ""
        print(f"cohort-triage: {done:,}{of} rows triaged ({time.perf_counter() - start:.1f} s)",
              file=sys.stderr, flush=True)

    summary = triage_file(args.input, args.output, kb, keep=args.keep or (),
                          engine=args.engine, scheduler=args.scheduler, progress=progress)
    counts = ", ".join(f"{u} {c:,}" for u, c in summary.counts.items())
    print(f"wrote {summary.rows:,} rows to {summary.output} ({counts}); knowledge base "
          f"{summary.kb_version}. {DISCLAIMER}")
    return 0


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
    p.add_argument("-o", "--output", type=Path, required=True, help=".csv or .parquet file")
    _add_data(p)
    p.set_defaults(handler=cmd_synth)

    p = sub.add_parser("cohort-triage", help="triage every patient of a cohort file")
    p.add_argument("input", metavar="INPUT", type=Path, help=".csv or .parquet cohort")
    p.add_argument("-o", "--output", type=Path, required=True, help=".csv or .parquet result")
    p.add_argument("--engine", choices=["pandas", "dask"], default="pandas")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address (default: a local one-worker cluster)")
    p.add_argument("--keep", nargs="+", metavar="COL", help="extra columns to carry through")
    _add_data(p)
    p.set_defaults(handler=cmd_cohort_triage)

    p = sub.add_parser("impact", help="how a knowledge-base change moves a cohort's urgencies")
    p.add_argument("--old", required=True, metavar="DIR", type=Path)
    p.add_argument("--new", required=True, metavar="DIR", type=Path)
    p.add_argument("--cohort", required=True, metavar="FILE", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_impact)
