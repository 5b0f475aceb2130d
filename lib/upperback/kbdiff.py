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


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


@dataclass(frozen=True)
class CellChange:
    """One cell's text before and after."""

    column: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.column}: {self.old!r} -> {self.new!r}"


@dataclass(frozen=True)
class Row:
    """A whole row (added or removed), with its line in its file."""

    key: str
    line: int
    cells: tuple[tuple[str, str], ...]  # (column, text), in file order

    def __str__(self) -> str:
        filled = ", ".join(f"{c}={_short(v, 40)!r}" for c, v in self.cells if v)
        return f"{self.key} (line {self.line}): {filled}"


@dataclass(frozen=True)
class ChangedRow:
    """A row kept under the same key with some cells changed (old -> new per cell)."""

    key: str
    line: int
    cells: tuple[CellChange, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c.column for c in self.cells)


@dataclass(frozen=True)
class Duplicate:
    """A key held by more than one row: a primary-key breach the analyst must see."""

    key: str
    old_lines: tuple[int, ...]
    new_lines: tuple[int, ...]

    def __str__(self) -> str:
        was = (f"was {len(self.old_lines)} (line{'s' * (len(self.old_lines) != 1)} "
               f"{', '.join(map(str, self.old_lines))})" if self.old_lines else "was absent")
        return (f"{self.key}: {len(self.new_lines)} rows with this id (lines "
                f"{', '.join(map(str, self.new_lines))}), {was}")


@dataclass(frozen=True)
class TableDiff:
    table: str
    file: str
    key: tuple[str, ...]
    added: tuple[Row, ...] = ()
    removed: tuple[Row, ...] = ()
    changed: tuple[ChangedRow, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.duplicates
                    or self.columns_added or self.columns_removed)


@dataclass(frozen=True)
class KbDiff:
    old_version: str
    new_version: str
    tables: tuple[TableDiff, ...]  # only tables with a difference

    @property
    def empty(self) -> bool:
        return not self.tables

    def table(self, name: str) -> TableDiff | None:
        return next((t for t in self.tables if t.table == name), None)

    def to_dict(self) -> dict[str, Any]:
        def row(r: Row) -> dict[str, Any]:
            return {"key": r.key, "line": r.line, "cells": dict(r.cells)}

        return {"old_version": self.old_version, "new_version": self.new_version,
                "tables": {t.table: {
                    "file": t.file, "key": list(t.key),
                    "added": [row(r) for r in t.added],
                    "removed": [row(r) for r in t.removed],
                    "changed": [{"key": c.key, "line": c.line, "columns": list(c.columns),
                                 "cells": [{"column": x.column, "old": x.old, "new": x.new}
                                           for x in c.cells]} for c in t.changed],
                    "duplicates": [{"key": d.key, "old_lines": list(d.old_lines),
                                    "new_lines": list(d.new_lines)} for d in t.duplicates],
                    "columns_added": list(t.columns_added),
                    "columns_removed": list(t.columns_removed)} for t in self.tables}}

    def summary(self) -> str:
        if self.empty:
            return f"No differences ({self.old_version} -> {self.new_version})."
        lines = [f"Knowledge base {self.old_version} -> {self.new_version}"]
        for t in self.tables:
            dup = f", {len(t.duplicates)} duplicated" if t.duplicates else ""
            lines.append(f"{t.file}: {len(t.added)} added, {len(t.removed)} removed, "
                         f"{len(t.changed)} changed{dup}")
            lines += [f"  + {r}" for r in t.added]
            lines += [f"  - {r.key} (was line {r.line}): "
                      + ", ".join(f"{c}={_short(v, 40)!r}" for c, v in r.cells if v)
                      for r in t.removed]
            for c in t.changed:
                lines.append(f"  ~ {c.key} (line {c.line}):")
                lines += [f"      {x.column}: {_short(x.old)!r} -> {_short(x.new)!r}"
                          for x in c.cells]
            lines += [f"  ! duplicate id {d}" for d in t.duplicates]
            if t.columns_added:
                lines.append(f"  columns added: {', '.join(t.columns_added)}")
            if t.columns_removed:
                lines.append(f"  columns removed: {', '.join(t.columns_removed)}")
        return "\n".join(lines)


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Columns and (line, row) pairs; a byte-order mark is not part of the first column."""
    if not path.is_file():
        return [], []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        out: list[tuple[int, dict[str, str]]] = []
        end = reader.line_num
        for values in reader:
            if values:
                out.append((end + 1, dict(zip(header, values, strict=False))))
            end = reader.line_num
        return header, out


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


def _grouped(rows: list[tuple[int, dict[str, str]]], key: tuple[str, ...]
             ) -> dict[str, list[tuple[int, dict[str, str]]]]:
    out: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, r in rows:
        out.setdefault("|".join(r.get(c) or "" for c in key), []).append((line, r))
    return out


def diff_folders(old: str | os.PathLike[str], new: str | os.PathLike[str]) -> KbDiff:
    """Per table, by primary key: rows added and removed (with their content), rows changed
    (old -> new per cell) and ids held by more than one row. Raises KnowledgeBaseError when a
    folder has no readable descriptor."""
    a, b = Path(old), Path(new)
    spec_a, spec_b = read_descriptor(a), read_descriptor(b)
    out = []
    for name in [*spec_b.tables, *(t for t in spec_a.tables if t not in spec_b.tables)]:
        table = spec_b.tables.get(name) or spec_a.tables[name]
        key = table.primary_key
        cols_a, rows_a = _rows(a / spec_a.tables[name].path) if name in spec_a.tables else ([], [])
        cols_b, rows_b = _rows(b / table.path) if name in spec_b.tables else ([], [])
        ga, gb = _grouped(rows_a, key), _grouped(rows_b, key)
        shared = [c for c in cols_b if c in cols_a]
        changed = []
        for k, group in gb.items():
            if k not in ga:
                continue
            (_, was), (line, row) = ga[k][0], group[0]
            cells = tuple(CellChange(c, was.get(c) or "", row.get(c) or "") for c in shared
                          if (was.get(c) or "") != (row.get(c) or ""))
            cells += tuple(CellChange(c, "", row[c]) for c in cols_b
                           if c not in cols_a and row.get(c))
            if cells:
                changed.append(ChangedRow(k, line, cells))

        def as_row(k: str, line: int, r: dict[str, str], cols: list[str]) -> Row:
            return Row(k, line, tuple((c, r.get(c) or "") for c in cols))

        t = TableDiff(
            name, table.path, key,
            added=tuple(as_row(k, *g[0], cols_b) for k, g in gb.items() if k not in ga),
            removed=tuple(as_row(k, *g[0], cols_a) for k, g in ga.items() if k not in gb),
            changed=tuple(changed),
            duplicates=tuple(
                Duplicate(k, tuple(x for x, _ in ga.get(k, [])), tuple(x for x, _ in g))
                for k, g in gb.items() if len(g) > 1 and len(g) != len(ga.get(k, []))),
            columns_added=tuple(c for c in cols_b if c not in cols_a),
            columns_removed=tuple(c for c in cols_a if c not in cols_b),
        )
        if not t.empty:
            out.append(t)
    return KbDiff(folder_version(a, unreadable="unreadable"),
                  folder_version(b, unreadable="unreadable"), tuple(out))


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
    #: Protected rules and safety cases deleted or weakened, and the sign-offs that cover them.
    protected: tuple[ProtectedChange, ...] = ()
    signoffs: tuple[SignOffRecord, ...] = ()
    #: Safety and teaching cases whose urgency, leading causes or treatments change.
    cases: tuple[CaseChange, ...] = ()

    @property
    def unsigned(self) -> tuple[ProtectedChange, ...]:
        return unsigned(self.protected, self.signoffs)

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
                           "patients": r.patients} for r in self.rules],
                "protected": [{"item": c.token, "change": c.change,
                               "signed_off": c not in self.unsigned} for c in self.protected],
                "signoffs": [{"entry": s.entry, "date": s.date, "by": s.by, "reason": s.reason,
                              "covers": list(s.covers)} for s in self.signoffs],
                "cases": [{"kind": c.kind, "case": c.case_id, "old_urgency": c.old_urgency,
                           "new_urgency": c.new_urgency, "old_causes": list(c.old_causes),
                           "new_causes": list(c.new_causes),
                           "treatments_added": list(c.treatments_added),
                           "treatments_removed": list(c.treatments_removed)}
                          for c in self.cases]}

    def protected_lines(self) -> list[str]:
        """The protected changes and their sign-off, or that one is still needed."""
        if not self.protected:
            return []
        missing = self.unsigned
        levels = " or ".join(protected_urgencies())
        lines = [f"PROTECTED changes ({len(self.protected)}; rules at {levels} and their "
                 "safety cases):"]
        lines += [f"  {c}{'  NEEDS CLINICAL SIGN-OFF' if c in missing else ''}"
                  for c in self.protected]
        lines += [f"  signed off by {s.by} on {s.date} (changelog entry {s.entry}): {s.reason}"
                  for s in self.signoffs]
        return lines

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
        lines += self.protected_lines()
        if self.cases:
            lines.append("Safety and teaching cases that change (urgency, leading causes, "
                         "treatments):")
            lines += [f"  {c}" for c in self.cases]
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
                  tuple(changes), tuple(sample), protected_changes(old, new),
                  signoffs(old, new), case_changes(old, new))


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
            keys = [*(r.key for r in t.added), *(r.key for r in t.removed),
                    *(c.key for c in t.changed)]
            out += [k.split("|")[0] for k in keys]
    return sorted(set(out))


# --- protected rules and clinical sign-off ---------------------------------------------------

#: The least urgent level whose rules are protected: this one and every more urgent level (read
#: from the engine's order, so new levels such as ambulance are protected without a code change).
PROTECTED_FROM = "emergency"
#: The table where sign-offs are recorded (declared in datapackage.json).
CHANGELOG = "changelog"


def protected_urgencies() -> tuple[str, ...]:
    """Urgencies at least as urgent as `PROTECTED_FROM`, most urgent first."""
    levels: tuple[str, ...] = m.URGENCIES
    return levels[: levels.index(PROTECTED_FROM) + 1] if PROTECTED_FROM in levels else levels[:1]


@dataclass(frozen=True)
class ProtectedChange:
    """A protected rule or safety case that a change deletes or weakens."""

    kind: str  # "rule" or "case"
    id: str
    change: str

    @property
    def token(self) -> str:
        """How a sign-off names it in changelog.csv's signed_off column."""
        return f"{self.kind}:{self.id}"

    def __str__(self) -> str:
        return f"{self.token} {self.change}"


@dataclass(frozen=True)
class SignOffRecord:
    """A changelog row that signs off protected changes: who, why, when and what (the input to
    a publish is `upperback.publish.SignOff`)."""

    entry: int
    date: str
    by: str
    reason: str
    covers: tuple[str, ...]  # tokens, e.g. "rule:em_cancer_balance"


def _protected_cases(kb: m.KnowledgeBase) -> dict[str, m.SafetyCase]:
    """Safety cases at a protected level, or exercising a protected rule."""
    levels = protected_urgencies()
    rules = [r for r in kb.rules.values() if r.urgency in levels]
    return {c.case_id: c for c in kb.safety_cases.values()
            if c.min_urgency in levels
            or any(all(c.answers.get(f) is True for f in r.findings) for r in rules)}


def protected_changes(old: m.KnowledgeBase, new: m.KnowledgeBase) -> tuple[ProtectedChange, ...]:
    """Every protected rule (urgency at least `PROTECTED_FROM` in `old`) that `new` deletes,
    downgrades or narrows (a finding added to what it needs), and every protected safety case
    that `new` deletes, lowers or answers differently. Each needs a clinical sign-off."""
    out: list[ProtectedChange] = []
    levels = protected_urgencies()
    for rule in old.rules.values():
        if rule.urgency not in levels:
            continue
        now = new.rules.get(rule.rule_id)
        if now is None:
            out.append(ProtectedChange("rule", rule.rule_id, f"deleted (was {rule.urgency})"))
        elif m.urgency_rank(now.urgency) < m.urgency_rank(rule.urgency):
            out.append(ProtectedChange("rule", rule.rule_id,
                                       f"downgraded {rule.urgency} -> {now.urgency}"))
        elif set(now.findings) - set(rule.findings):
            extra = ", ".join(sorted(set(now.findings) - set(rule.findings)))
            out.append(ProtectedChange("rule", rule.rule_id,
                                       f"narrowed: now also needs {extra}"))
    for case in _protected_cases(old).values():
        now_case = new.safety_cases.get(case.case_id)
        if now_case is None:
            out.append(ProtectedChange("case", case.case_id,
                                       f"deleted (was at least {case.min_urgency})"))
        elif m.urgency_rank(now_case.min_urgency) < m.urgency_rank(case.min_urgency):
            out.append(ProtectedChange("case", case.case_id, f"lowered {case.min_urgency} -> "
                                       f"{now_case.min_urgency}"))
        elif dict(now_case.answers) != dict(case.answers):
            out.append(ProtectedChange("case", case.case_id, "answers changed"))
        elif getattr(now_case, "others_no", None) != getattr(case, "others_no", None):
            # Whether unlisted questions count as "no" changes what the case proves.
            out.append(ProtectedChange("case", case.case_id, "others_no changed"))
    return tuple(out)


def _changelog(kb: m.KnowledgeBase) -> tuple[Mapping[str, object], ...]:
    return tuple(kb.extra_tables.get(CHANGELOG, ()))


def signoffs(old: m.KnowledgeBase, new: m.KnowledgeBase) -> tuple[SignOffRecord, ...]:
    """The sign-offs this change adds: changelog rows of `new` not in `old`, signed by someone."""
    before = {r.get("entry") for r in _changelog(old)}
    out = []
    for r in _changelog(new):
        by = str(r.get("signed_off_by") or "").strip()
        if r.get("entry") in before or not by:
            continue
        covers = tuple(item.split()[0] for item in str(r.get("signed_off") or "").split(";")
                       if item.strip())
        out.append(SignOffRecord(int(str(r["entry"])), str(r.get("date") or ""), by,
                           str(r.get("reason") or ""), covers))
    return tuple(out)


def unsigned(changes: Sequence[ProtectedChange], signed: Sequence[SignOffRecord]
             ) -> tuple[ProtectedChange, ...]:
    covered = {t for s in signed for t in s.covers}
    return tuple(c for c in changes if c.token not in covered)


# --- what changes for the safety and teaching cases ------------------------------------------

@dataclass(frozen=True)
class CaseChange:
    """A safety or teaching case whose urgency, leading causes or treatments differ."""

    kind: str  # "safety" or "teaching"
    case_id: str
    old_urgency: str
    new_urgency: str
    old_causes: tuple[str, ...]
    new_causes: tuple[str, ...]
    treatments_added: tuple[str, ...]
    treatments_removed: tuple[str, ...]

    @property
    def downgraded(self) -> bool:
        return m.urgency_rank(self.new_urgency) < m.urgency_rank(self.old_urgency)

    def __str__(self) -> str:
        parts = []
        if self.old_urgency != self.new_urgency:
            mark = "DOWNGRADE " if self.downgraded else ""
            parts.append(f"{mark}urgency {self.old_urgency} -> {self.new_urgency}")
        if self.old_causes != self.new_causes:
            parts.append(f"leading causes {', '.join(self.old_causes) or 'none'} -> "
                         f"{', '.join(self.new_causes) or 'none'}")
        if self.treatments_added:
            parts.append(f"treatments added {', '.join(self.treatments_added)}")
        if self.treatments_removed:
            parts.append(f"treatments removed {', '.join(self.treatments_removed)}")
        return f"{self.kind} case {self.case_id}: " + "; ".join(parts)


def _case_answers(kb: m.KnowledgeBase) -> dict[tuple[str, str], tuple[dict[str, bool], bool]]:
    """(kind, case id) -> (answers, whether every other question counts as "no")."""
    out: dict[tuple[str, str], tuple[dict[str, bool], bool]] = {
        ("safety", c.case_id): (dict(c.answers), bool(getattr(c, "others_no", False)))
        for c in kb.safety_cases.values()}
    from .quiz import read_cases  # one row per teaching case, answers already expanded

    for case in read_cases(kb)[0]:
        out[("teaching", case.case_id)] = (dict(case.answers), False)
    return out


def _given(answers: dict[str, bool], others_no: bool, kb: m.KnowledgeBase) -> dict[str, bool]:
    base = dict.fromkeys(kb.findings, False) if others_no else {}
    return {**base, **{f: v for f, v in answers.items() if f in kb.findings}}


def case_changes(old: m.KnowledgeBase, new: m.KnowledgeBase) -> tuple[CaseChange, ...]:
    """Each safety and teaching case (its answers as in `new`, else as in `old`) run through both
    knowledge bases: the cases whose urgency, leading causes or treatments change, downgrades
    first. Answers a knowledge base does not know are left out for it."""
    from . import _engine

    leading = int(getattr(_engine, "LEADING_CAUSES", 3))  # the engine's own cut, if it has one
    cases = {**_case_answers(old), **_case_answers(new)}
    out = []
    for (kind, case_id), (answers, others_no) in sorted(cases.items()):
        a = _engine.assess(_given(answers, others_no, old), old)
        b = _engine.assess(_given(answers, others_no, new), new)
        ca = tuple(c.condition_id for c in a.candidates[:leading])
        cb = tuple(c.condition_id for c in b.candidates[:leading])
        ta = {t.treatment_id for t in a.treatments}
        tb = {t.treatment_id for t in b.treatments}
        if a.urgency != b.urgency or ca != cb or ta != tb:
            out.append(CaseChange(kind, case_id, a.urgency, b.urgency, ca, cb,
                                  tuple(sorted(tb - ta)), tuple(sorted(ta - tb))))
    out.sort(key=lambda c: (not c.downgraded, c.kind, c.case_id))
    return tuple(out)
