"""Analyst commands (diff, synth-cohort, cohort-triage, impact, publish, history, restore):
registered by `cli.py`."""

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
    from ._errors import KnowledgeBaseError
    from ._loader import load_knowledge_base
    from .kbdiff import ProtectedChange, diff_folders, protected_changes, signoffs, unsigned

    diff = diff_folders(args.old_dir, args.new_dir)
    changes: tuple[ProtectedChange, ...] | None
    missing: tuple[ProtectedChange, ...] | None
    try:  # protected changes are judged on valid knowledge bases only
        old, new = load_knowledge_base(args.old_dir), load_knowledge_base(args.new_dir)
        changes = protected_changes(old, new)
        missing = unsigned(changes, signoffs(old, new))
    except KnowledgeBaseError:
        changes = missing = None
    if args.json:
        _print_json({**diff.to_dict(), "protected": None if changes is None else [
            {"item": c.token, "change": c.change, "signed_off": c not in (missing or ())}
            for c in changes]})
        return 0
    print(diff.summary())
    if changes is None:
        print("(protected rules not checked: a folder does not validate; run `upperback "
              "validate --data DIR`)")
    for c in changes or ():
        print(f"PROTECTED {c}" + ("  NEEDS CLINICAL SIGN-OFF" if c in (missing or ())
                                  else "  (signed off)"))
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


def _signoff(args: argparse.Namespace) -> Any:
    from .publish import SignOff

    return SignOff(args.signoff_by, args.reason or "") if args.signoff_by else None


def _report(result: Any, as_json: bool) -> int:
    if as_json:
        _print_json({"published": result.published, "message": result.message,
                     "old_version": result.old_version, "new_version": result.new_version,
                     "backup": result.backup.name if result.backup else None,
                     "protected": [str(c) for c in result.protected],
                     "problems": [{"file": p.file, "line": p.line, "column": p.column,
                                   "value": p.value, "message": p.message}
                                  for p in result.problems]})
    else:
        print(result.message, file=sys.stdout if result.published else sys.stderr)
        for p in result.problems:
            print(f"- {p}", file=sys.stderr)
    refused = not result.published and (result.problems or result.message.startswith("Not"))
    return 1 if refused else 0


def cmd_publish(args: argparse.Namespace) -> int:
    from .publish import publish_folder

    return _report(publish_folder(args.source, args.data, reason=args.reason, editor=args.editor,
                                  base_version=args.base_version, signoff=_signoff(args),
                                  dry_run=args.dry_run), args.json)


def cmd_history(args: argparse.Namespace) -> int:
    from ._loader import default_data_dir
    from .publish import default_backup_root, list_backups

    root = default_backup_root(args.data or default_data_dir())
    backups = list_backups(root)
    if args.json:
        _print_json([{"name": b.name, "version": b.version} for b in backups])
    elif not backups:
        print(f"no earlier versions in {root}")
    else:
        print(f"earlier published versions in {root}, newest first:")
        for b in backups:
            print(f"  {b.name}  {b.version}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from .publish import restore_backup

    return _report(restore_backup(args.name, args.data, note=args.reason, editor=args.editor,
                                  signoff=_signoff(args)), args.json)


def _add_who(p: Any, reason_required: bool) -> None:
    p.add_argument("--reason", required=reason_required, metavar="TEXT",
                   help="why (recorded in changelog.csv; the clinical reason when signed off)")
    p.add_argument("--editor", metavar="NAME", help="who publishes (default: your login name)")
    p.add_argument("--signoff-by", metavar="NAME",
                   help="clinician signing off a deleted or weakened protected (emergency-level) "
                   "rule or safety case")
    p.add_argument("--json", action="store_true", help="print JSON")


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

    p = sub.add_parser("publish", help="make a knowledge-base folder the published one (locked, "
                       "validated, all files at once, history kept)")
    p.add_argument("source", metavar="SOURCE", type=Path, help="the edited knowledge-base folder")
    p.add_argument("--base-version", metavar="VERSION",
                   help="the published version SOURCE was copied from: refused if it moved on")
    p.add_argument("--dry-run", action="store_true", help="run every check, write nothing")
    _add_who(p, reason_required=True)
    _add_data(p)
    p.set_defaults(handler=cmd_publish)

    p = sub.add_parser("history", help="earlier published versions (restorable)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_data(p)
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser("restore", help="publish an earlier version again (see `history`)")
    p.add_argument("name", metavar="NAME", help="a name listed by `upperback history`")
    _add_who(p, reason_required=False)
    _add_data(p)
    p.set_defaults(handler=cmd_restore)
