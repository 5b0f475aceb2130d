"""What changed between two knowledge-base folders, and what that change does to a cohort.

Rows are matched by each table's primary key, read from the descriptor; cells are compared as
the text in the file, so a change of spelling shows even where the typed value would not.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _model as m
from ._errors import UpperbackError
from ._schema import read_descriptor

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ChangedRow:
    key: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class TableDiff:
    table: str
    file: str
    key: tuple[str, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[ChangedRow, ...] = ()
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.columns_added
                    or self.columns_removed)


@dataclass(frozen=True)
class KbDiff:
    old_version: str
    new_version: str
    tables: tuple[TableDiff, ...]  # only tables with a difference

    @property
    def empty(self) -> bool:
        return not self.tables

    def to_dict(self) -> dict[str, Any]:
        return {"old_version": self.old_version, "new_version": self.new_version,
                "tables": {t.table: {
                    "file": t.file, "key": list(t.key), "added": list(t.added),
                    "removed": list(t.removed),
                    "changed": [{"key": c.key, "columns": list(c.columns)} for c in t.changed],
                    "columns_added": list(t.columns_added),
                    "columns_removed": list(t.columns_removed)} for t in self.tables}}

    def summary(self) -> str:
        if self.empty:
            return f"No differences ({self.old_version} -> {self.new_version})."
        lines = [f"Knowledge base {self.old_version} -> {self.new_version}"]
        for t in self.tables:
            lines.append(f"{t.file}: {len(t.added)} added, {len(t.removed)} removed, "
                         f"{len(t.changed)} changed")
            lines += [f"  + {k}" for k in t.added]
            lines += [f"  - {k}" for k in t.removed]
            lines += [f"  ~ {c.key}: {', '.join(c.columns)}" for c in t.changed]
            if t.columns_added:
                lines.append(f"  columns added: {', '.join(t.columns_added)}")
            if t.columns_removed:
                lines.append(f"  columns removed: {', '.join(t.columns_removed)}")
        return "\n".join(lines)


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        return [], []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def folder_version(folder: str | os.PathLike[str], *, unreadable: str | None = None) -> str:
    """The content version of a knowledge-base folder (descriptor version plus content hash).

    A folder whose descriptor or files cannot be read raises, unless `unreadable` is given: then
    that text is returned instead (for listings that must not fail on a damaged folder).
    """
    from ._loader import content_version

    path = Path(folder)
    try:
        return content_version(path, read_descriptor(path))
    except (UpperbackError, OSError, ValueError):
        if unreadable is None:
            raise
        return unreadable


def diff_folders(old: str | os.PathLike[str], new: str | os.PathLike[str]) -> KbDiff:
    """Rows added, removed and changed per table, by primary key (raises KnowledgeBaseError
    when a folder has no readable descriptor)."""
    a, b = Path(old), Path(new)
    spec_a, spec_b = read_descriptor(a), read_descriptor(b)
    out = []
    for name in [*spec_b.tables, *(t for t in spec_a.tables if t not in spec_b.tables)]:
        table = spec_b.tables.get(name) or spec_a.tables[name]
        key = table.primary_key
        cols_a, rows_a = _rows(a / spec_a.tables[name].path) if name in spec_a.tables else ([], [])
        cols_b, rows_b = _rows(b / table.path) if name in spec_b.tables else ([], [])

        def keyed(rows: list[dict[str, str]], k: tuple[str, ...] = key) -> dict[str, Any]:
            return {"|".join(r.get(c) or "" for c in k): r for r in rows}

        ka, kb_ = keyed(rows_a), keyed(rows_b)
        shared = [c for c in cols_b if c in cols_a]
        changed = []
        for k, row in kb_.items():
            if k in ka:
                diff = tuple(c for c in shared if (ka[k].get(c) or "") != (row.get(c) or ""))
                diff += tuple(c for c in cols_b if c not in cols_a and row.get(c))
                if diff:
                    changed.append(ChangedRow(k, diff))
        t = TableDiff(
            name, table.path, key,
            added=tuple(k for k in kb_ if k not in ka),
            removed=tuple(k for k in ka if k not in kb_),
            changed=tuple(changed),
            columns_added=tuple(c for c in cols_b if c not in cols_a),
            columns_removed=tuple(c for c in cols_a if c not in cols_b),
        )
        if not t.empty:
            out.append(t)
    return KbDiff(folder_version(a), folder_version(b), tuple(out))


# --- impact on a cohort ----------------------------------------------------------------------

@dataclass(frozen=True)
class RuleChange:
    """A rule whose status differs between the two knowledge bases for patients who changed."""

    rule_id: str
    newly_fires: int  # changed patients for whom it fires only under the new knowledge base
    no_longer_fires: int  # ... only under the old one
    patients: int  # changed patients for whom this rule's status or urgency differs


@dataclass(frozen=True)
class Impact:
    old_version: str
    new_version: str
    patients: int
    changed: int
    #: old urgency -> new urgency -> patients, every urgency present, most urgent first.
    crosstab: Mapping[str, Mapping[str, int]]
    #: (old, new, patients) for each change, urgency downgrades first (largest drop first).
    transitions: tuple[tuple[str, str, int], ...]
    rules: tuple[RuleChange, ...]
    #: Up to 20 changed patient ids per transition, downgrades first: for follow-up only.
    examples: tuple[tuple[str, str, str], ...] = field(default=())

    @property
    def downgrades(self) -> int:
        return sum(c for o, n, c in self.transitions if m.urgency_rank(n) < m.urgency_rank(o))

    def to_dict(self) -> dict[str, Any]:
        return {"old_version": self.old_version, "new_version": self.new_version,
                "patients": self.patients, "changed": self.changed,
                "downgrades": self.downgrades,
                "crosstab": {o: dict(r) for o, r in self.crosstab.items()},
                "transitions": [{"old": o, "new": n, "patients": c}
                                for o, n, c in self.transitions],
                "rules": [{"rule": r.rule_id, "newly_fires": r.newly_fires,
                           "no_longer_fires": r.no_longer_fires,
                           "patients": r.patients} for r in self.rules]}

    def summary(self) -> str:
        lines = [f"Impact of {self.old_version} -> {self.new_version} on {self.patients} "
                 f"patients: {self.changed} change urgency ({self.downgrades} downgraded)."]
        for o, n, c in self.transitions:
            mark = "DOWNGRADE " if m.urgency_rank(n) < m.urgency_rank(o) else ""
            lines.append(f"  {mark}{o} -> {n}: {c}")
        lines.append("Crosstab (rows old, columns new):")
        head = ["old \\ new", *m.URGENCIES]
        table = [[o, *(str(self.crosstab[o][n]) for n in m.URGENCIES)] for o in m.URGENCIES]
        widths = [max(len(r[i]) for r in [head, *table]) for i in range(len(head))]
        for cells in [head, *table]:
            lines.append("  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
        if self.rules:
            lines.append("Rules behind the changes:")
            for r in self.rules:
                lines.append(f"  {r.rule_id}: newly fires for {r.newly_fires}, no longer fires "
                             f"for {r.no_longer_fires}, involved for {r.patients}")
        return "\n".join(lines)


def _status_codes(fired: np.ndarray[Any, Any], undecided: np.ndarray[Any, Any]
                  ) -> np.ndarray[Any, Any]:
    return np.where(fired, 2, np.where(undecided, 1, 0)).astype(np.int8)


def impact(old: m.KnowledgeBase, new: m.KnowledgeBase, cohort: pd.DataFrame,
           examples: int = 20) -> Impact:
    """How the change from `old` to `new` moves each patient of `cohort` (a cohort frame)."""
    from .cohort import ID_COLUMN, answer_matrix, check_columns, evaluate, plan_for

    plan_a, plan_b = plan_for(old), plan_for(new)
    columns = [str(c) for c in cohort.columns]
    # A finding either knowledge base knows is a fair column; anything else is an error.
    check_columns(columns, plan_a, also_allowed=plan_b.findings)
    ev_a = evaluate(answer_matrix(cohort, plan_a), plan_a)
    ev_b = evaluate(answer_matrix(cohort, plan_b), plan_b)
    ua, ub = ev_a.urgency, ev_b.urgency  # index into URGENCIES: 0 is the most urgent
    moved = ua != ub
    cross: dict[str, dict[str, int]] = {
        o: {n: int(((ua == i) & (ub == j)).sum()) for j, n in enumerate(m.URGENCIES)}
        for i, o in enumerate(m.URGENCIES)}
    transitions = [(o, n, cross[o][n]) for o in m.URGENCIES for n in m.URGENCIES
                   if o != n and cross[o][n]]
    # Downgrades first, largest drop first; then upgrades.
    transitions.sort(key=lambda t: (m.urgency_rank(t[1]) - m.urgency_rank(t[0]), t[0], t[1]))

    rule_ids = sorted(set(plan_a.rules) | set(plan_b.rules))
    n = len(cohort)
    zeros = np.zeros(n, dtype=np.int8)
    st_a = _status_codes(ev_a.fired, ev_a.undecided)
    st_b = _status_codes(ev_b.fired, ev_b.undecided)
    changes = []
    urg_a = dict(zip(plan_a.rules, plan_a.rule_urgency, strict=True))
    urg_b = dict(zip(plan_b.rules, plan_b.rule_urgency, strict=True))
    for rid in rule_ids:
        a = st_a[:, plan_a.rules.index(rid)] if rid in plan_a.rules else zeros
        b = st_b[:, plan_b.rules.index(rid)] if rid in plan_b.rules else zeros
        # A rule explains a move when its status differs, or when its urgency was changed
        # and it still fires or could fire for that patient.
        regraded = urg_a.get(rid) != urg_b.get(rid)
        differs = moved & ((a != b) | (regraded & ((a > 0) | (b > 0))))
        if differs.any():
            changes.append(RuleChange(rid, int((differs & (b == 2) & (a != 2)).sum()),
                                      int((differs & (a == 2) & (b != 2)).sum()),
                                      int(differs.sum())))
    changes.sort(key=lambda r: (-r.patients, r.rule_id))

    ids = cohort[ID_COLUMN].astype("string").to_numpy()
    sample: list[tuple[str, str, str]] = []
    for o, nw, _ in transitions:
        rows = np.flatnonzero((ua == m.URGENCIES.index(o)) & (ub == m.URGENCIES.index(nw)))
        sample += [(str(ids[r]), o, nw) for r in rows[:examples]]
    return Impact(old.version, new.version, n, int(moved.sum()), cross, tuple(transitions),
                  tuple(changes), tuple(sample))


def read_cohort(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A whole cohort file as text columns (for impact, which compares in memory)."""
    import pandas as pd

    from .cohort import iter_chunks, read_columns

    src = Path(path)
    columns = read_columns(src)
    frames = [f for _, f in iter_chunks(src, columns)]
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype="str") for c in columns})
    return pd.concat(frames, ignore_index=True)


def impact_of_files(old: str | os.PathLike[str], new: str | os.PathLike[str],
                    cohort: str | os.PathLike[str] | pd.DataFrame) -> Impact:
    """`impact` for two knowledge-base folders (each fully validated) and a cohort file."""
    from ._errors import CohortError
    from ._loader import load_knowledge_base
    from .cohort import RowError, located

    kb_old, kb_new = load_knowledge_base(old), load_knowledge_base(new)
    if not isinstance(cohort, (str, os.PathLike)):
        return impact(kb_old, kb_new, cohort)
    frame = read_cohort(cohort)
    try:
        return impact(kb_old, kb_new, frame)
    except RowError as exc:
        raise located(exc, Path(cohort)) from None
    except CohortError as exc:
        raise CohortError(f"{Path(cohort).name}: {exc}") from None


def changed_rules(diff: KbDiff) -> Sequence[str]:
    """Rule ids touched by a diff (their row or one of their findings)."""
    out: list[str] = []
    for t in diff.tables:
        if t.table in ("triage_rules", "rule_findings"):
            keys = [*t.added, *t.removed, *(c.key for c in t.changed)]
            out += [k.split("|")[0] for k in keys]
    return sorted(set(out))
