"""Cohort triage: the urgency, fired rules and unanswered red flags of many patients at once.

A CSV (or `.csv.gz`) is read by a thread of its own in line-aligned pieces of a few megabytes,
each parsed by `pyarrow.csv.read_csv` on every core with the answers typed as booleans (Parquet
row groups are read natively), while two threads triage the batches already read and the main
thread writes. Each batch goes through the engine's compiled rule plan column by column
(`_rules.triage_columns`), so a cohort gives exactly what `upperback.assess` gives row by row.
`fired_rules` and `unanswered_red_flags` are joined once per distinct pattern (a bit-packed key
per row) and written as dictionary arrays: no string is built per row. Output goes to a
temporary file beside the target and is renamed into place only once every row passed: all or
nothing.

A CSV must have one cell per header column on every row: Arrow's invalid-row handler stops at the
first uneven row and the error names its line. A bad value, a blank or repeated `patient_id`
(both lines named) and age answers that contradict each other are errors naming line and column,
never quoting a patient value. An optional `age` column (whole years, blank for unknown) fills in
the "aged N or older" findings as `assess` does.

Every output carries the knowledge-base version: a CSV output ends with a constant `kb_version`
column; a Parquet output has the same column and `kb_version` and the decision-support
`disclaimer` in its schema metadata.

`engine="dask"` (or a `scheduler` address) sends the batches to a Dask distributed cluster; the
batches are read here and results come back in file order, so the output is byte for byte the
local one. Progress is reported through a callback with counts only: never a patient value.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import itertools
import os
import tempfile
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from . import _model as m
from ._errors import CohortError
from ._rules import RulePlan, compile_plan, triage_columns
from .lookup import rules_in_order

if TYPE_CHECKING:  # pandas and pyarrow are imported lazily: `import upperback` stays fast
    from concurrent.futures import Future

    import pandas as pd
    import pyarrow as pa

ID_COLUMN = "patient_id"
#: Optional whole years (0-120, blank for unknown): fills in the "aged N or older" findings.
AGE_COLUMN = "age"
RESULT_COLUMNS = ("urgency", "fired_rules", "unanswered_red_flags")
#: The constant last column of every output (Parquet also has it in the schema metadata).
KB_VERSION_COLUMN = "kb_version"
#: Rows per batch: about 100 MB of working memory for the shipped knowledge base.
CHUNK_ROWS = 200_000
#: Bytes Arrow parses per CSV block (blocks are gathered into batches of CHUNK_ROWS): Arrow is
#: fastest with small blocks that stay in the CPU cache.
BLOCK_BYTES = 1 << 20
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
#: Answer codes in the answer matrix.
YES, NO, OPEN = 1, 0, -1
_BAD = -2


@dataclass(frozen=True)
class Tick:
    """Progress: `rows` triaged so far; `done` of `total` in `unit` ("bytes" of a CSV read, or
    "rows" of a Parquet file). Counts only, never a patient value."""

    rows: int
    done: int
    total: int | None
    unit: str


#: Called after each batch.
Progress = Callable[[Tick], None]


@dataclass(frozen=True)
class Plan:
    """The rules table as plain tuples plus the engine's compiled plan: picklable, so a Dask
    worker never loads the knowledge base.

    `rules` are in `assess().fired` order (most urgent first, then id); `red_flags` are the findings
    used by a rule, in checklist order (the order of `assess().unanswered_red_flags`).
    """

    kb_version: str
    findings: tuple[str, ...]
    rules: tuple[str, ...]
    rule_urgency: tuple[str, ...]
    rule_findings: tuple[tuple[str, ...], ...]
    red_flags: tuple[str, ...]
    #: The engine's compiled rule plan: the urgency comes from it, as in `assess`.
    compiled: RulePlan


def plan_for(kb: m.KnowledgeBase) -> Plan:
    rules = rules_in_order(kb)  # the engine's own order, so fired_rules match assess()
    used = {f for r in rules for f in r.findings}
    order = [f.finding_id for f in kb.findings_in_order()]
    return Plan(
        kb_version=kb.version,
        findings=tuple(order),
        rules=tuple(r.rule_id for r in rules),
        rule_urgency=tuple(r.urgency for r in rules),
        rule_findings=tuple(r.findings for r in rules),
        red_flags=tuple(f for f in order if f in used),
        compiled=compile_plan(kb),
    )


class RowError(CohortError):
    """A bad value, reported by batch-local row so the caller can add the batch's offset.

    Its fields travel in `args`, so it pickles intact from a Dask worker.
    """

    def __init__(self, column: str, row: int, problem: str, offset: int = 0) -> None:
        super().__init__(column, row, problem, offset)
        self.column, self.row, self.problem, self.offset = column, row, problem, offset

    def __str__(self) -> str:
        return f"column '{self.column}', data row {self.offset + self.row + 1}: {self.problem}"


Column = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class Answers:
    """The answers of a batch as one yes and one no column per finding of `plan.findings` (a
    row that is neither left it unanswered), age-derived findings already filled in; ages (-1
    unknown)."""

    rows: int
    yes: tuple[Column, ...]
    no: tuple[Column, ...]
    age: np.ndarray[Any, np.dtype[np.int16]] | None


@dataclass(frozen=True)
class Evaluation:
    """Per-row results as arrays: rule status matrices and the urgency index into URGENCIES.

    The matrices are rows x rules (and rows x red flags) views of rule-major arrays, so a
    rule's column is contiguous."""

    fired: np.ndarray[Any, np.dtype[np.bool_]]  # rows x rules
    undecided: np.ndarray[Any, np.dtype[np.bool_]]  # rows x rules
    open_flags: np.ndarray[Any, np.dtype[np.bool_]]  # rows x red_flags
    urgency: np.ndarray[Any, np.dtype[np.int8]]  # index into URGENCIES


# --- reading answers -------------------------------------------------------------------------

def _lookup(values: Sequence[object]) -> np.ndarray[Any, np.dtype[np.int8]]:
    """Code per distinct spelling: true/yes/1, false/no/0 (any case, spaces), blank; else _BAD."""
    out = np.empty(len(values), dtype=np.int8)
    for i, v in enumerate(values):
        text = ("true" if v else "false") if isinstance(v, bool) else str(v).strip().lower()
        out[i] = (YES if text in _TRUE else NO if text in _FALSE else OPEN if text == ""
                  else _BAD)
    return out


def _dictionary(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray[Any, Any], list[Any]]:
    """(indices with -1 for null, distinct values) of an Arrow column of any type."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    if isinstance(arr, pa.ChunkedArray):  # dictionary_encode keeps a chunked input chunked
        arr = arr.combine_chunks()
    idx = arr.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return idx, arr.dictionary.to_pylist()


def _bits(buf: Any, offset: int, n: int) -> Column:
    """An Arrow bitmap (values or validity) as booleans."""
    raw = np.frombuffer(buf, dtype=np.uint8)
    bits: Column = np.unpackbits(raw, bitorder="little", count=offset + n)[offset:].view(bool)
    return bits


def _single(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        return arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr


def _yes_no(arr: pa.Array | pa.ChunkedArray, column: str) -> tuple[Column, Column]:
    """The yes and no columns of an answer column; a null (a blank, a Parquet missing value)
    is neither. Booleans are read straight from Arrow's bitmaps, text once per spelling."""
    import pyarrow as pa

    if pa.types.is_boolean(arr.type):
        arr = _single(arr)
        n = len(arr)
        if n == 0:
            return np.zeros(0, bool), np.zeros(0, bool)
        validity, values = arr.buffers()
        yes = _bits(values, arr.offset, n)
        no = ~yes
        if arr.null_count:
            valid = _bits(validity, arr.offset, n)
            yes &= valid
            no &= valid
        return yes, no
    codes = _codes(arr, column)
    return codes == YES, codes == NO


def _codes(arr: pa.Array | pa.ChunkedArray, column: str) -> np.ndarray[Any, np.dtype[np.int8]]:
    """YES/NO/OPEN per row of a text column; a null is OPEN."""
    idx, values = _dictionary(arr)
    lut = np.append(_lookup(values), np.int8(OPEN))  # index -1 (null) takes the last slot
    out: np.ndarray[Any, np.dtype[np.int8]] = lut[idx]
    wrong = np.flatnonzero(out == _BAD)
    if wrong.size:
        raise RowError(column, int(wrong[0]),
                       "the value is not true/false, yes/no, 1/0 or blank (unanswered)")
    return out


def _ages(arr: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.int16]]:
    """Whole years per row, -1 for blank or null."""
    idx, values = _dictionary(arr)
    lut = np.empty(len(values) + 1, dtype=np.int16)
    lut[-1] = -1
    lo, hi = m.AGE_RANGE
    for i, v in enumerate(values):
        text = str(v).strip()
        if text == "":
            lut[i] = -1
            continue
        try:
            years = int(text) if not isinstance(v, float) or v.is_integer() else None
        except ValueError:
            years = None
        lut[i] = years if years is not None and lo <= years <= hi else -2
    out: np.ndarray[Any, np.dtype[np.int16]] = lut[idx]
    wrong = np.flatnonzero(out == -2)
    if wrong.size:
        raise RowError(AGE_COLUMN, int(wrong[0]),
                       f"the age is not a whole number of years from {lo} to {hi} (or blank)")
    return out


def answers_of(table: pa.Table | pa.RecordBatch, plan: Plan) -> Answers:
    """The answers of a batch; a finding column absent from it is unanswered for every row.

    Raises RowError for a bad value, a blank patient id, or age answers that contradict each
    other or the age (as `assess` refuses them).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    names = set(table.column_names)
    n = table.num_rows
    none: Column = np.zeros(n, dtype=bool)  # shared by every absent finding: never written
    yes: list[Column] = []
    no: list[Column] = []
    for fid in plan.findings:
        y, f = _yes_no(table.column(fid), fid) if fid in names else (none, none)
        yes.append(y)
        no.append(f)
    ids = table.column(ID_COLUMN)
    blank = ids.is_null()
    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(pa.string())
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        blank = pc.or_(blank, pc.equal(pc.utf8_trim_whitespace(ids), ""))
    hits = np.flatnonzero(blank.fill_null(True).to_numpy(zero_copy_only=False))
    if hits.size:
        raise RowError(ID_COLUMN, int(hits[0]), "the patient id is blank: every row needs one")
    age = _ages(table.column(AGE_COLUMN)) if AGE_COLUMN in names else None
    min_age = plan.compiled.min_age
    col = {f: j for j, f in enumerate(plan.findings)}
    if age is not None:
        known = age >= 0
        for fid, years in min_age.items():
            j = col[fid]
            older = age >= years
            derived_yes, derived_no = known & older, known & ~older
            clash = np.flatnonzero((yes[j] & derived_no) | (no[j] & derived_yes))
            if clash.size:
                raise RowError(f"{AGE_COLUMN}, {fid}", int(clash[0]),
                               f"the age and {fid} disagree: give one of them, or correct "
                               "the other")
            yes[j] = yes[j] | derived_yes
            no[j] = no[j] | derived_no
    # a yes to "aged N or older" and a no to "aged M or older" with N >= M contradict
    lo = np.zeros(n, dtype=np.int16)
    hi = np.full(n, m.AGE_RANGE[1], dtype=np.int16)
    for fid, years in min_age.items():
        np.maximum(lo, years, out=lo, where=yes[col[fid]])
        np.minimum(hi, years - 1, out=hi, where=no[col[fid]])
    bad = np.flatnonzero(lo > hi)
    if bad.size:
        raise RowError(", ".join(sorted(min_age)), int(bad[0]),
                       "the age answers contradict each other: correct them")
    return Answers(n, tuple(yes), tuple(no), age)


def answer_matrix(frame: pd.DataFrame, plan: Plan) -> Answers:
    """`answers_of` for a pandas frame (text or boolean columns)."""
    import pyarrow as pa

    return answers_of(pa.Table.from_pandas(frame, preserve_index=False), plan)


def check_columns(columns: Sequence[str], plan: Plan, keep: Sequence[str] = (),
                  also_allowed: Sequence[str] = ()) -> None:
    """Raise CohortError for a missing patient_id, a duplicate, or a column that is no finding."""
    seen: set[str] = set()
    for c in columns:
        if c in seen:
            raise CohortError(f"column '{c}' appears twice: keep one")
        seen.add(c)
    if ID_COLUMN not in seen:
        raise CohortError(f"there is no '{ID_COLUMN}' column: add one (a pseudonymous id per row)")
    if ID_COLUMN in keep:
        raise CohortError(f"--keep '{ID_COLUMN}' is not needed: the output always starts with it")
    twice = [k for i, k in enumerate(keep) if k in keep[:i]]
    if twice:
        raise CohortError(f"--keep column '{twice[0]}' is given twice: give it once")
    missing = [k for k in keep if k not in seen]
    if missing:
        raise CohortError(f"--keep column '{missing[0]}' is not in the file")
    clash = [k for k in keep if k in plan.findings or k in RESULT_COLUMNS
             or k in (KB_VERSION_COLUMN, AGE_COLUMN)]
    if clash:
        raise CohortError(f"--keep column '{clash[0]}' is a finding, the age or a result "
                          "column: findings and the age are read as answers and results are "
                          "added anyway")
    known = set(plan.findings) | {ID_COLUMN, AGE_COLUMN, *keep, *also_allowed}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise CohortError(
            f"column '{unknown[0]}' is not a finding id of knowledge base {plan.kb_version}"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + ": fix the spelling (see `upperback findings`), or pass it with --keep to carry "
            "it through unread")


def missing_red_flags(columns: Sequence[str], plan: Plan) -> tuple[str, ...]:
    """Red-flag findings with no column (an `age` column answers the "aged N or older" ones)."""
    have = set(columns)
    if AGE_COLUMN in have:
        have |= set(plan.compiled.min_age)
    return tuple(f for f in plan.red_flags if f not in have)


# --- the triage ------------------------------------------------------------------------------

def evaluate(answers: Answers, plan: Plan) -> Evaluation:
    """The engine's decisions (`_rules.triage_columns`) plus the rule statuses behind them."""
    col = {f: j for j, f in enumerate(plan.findings)}
    cp = plan.compiled
    pos = [col[f] for f in cp.finding_ids]
    # one definition of triage: the engine's plan gives the urgency and the rule statuses
    ranks, fired, undecided = triage_columns(
        cp, answers.rows, [answers.yes[j] for j in pos], [answers.no[j] for j in pos],
        answers.age)
    order = {r.rule_id: i for i, r in enumerate(cp.rules)}
    perm = [order[r] for r in plan.rules]
    if perm != list(range(len(perm))):
        fired, undecided = fired[perm], undecided[perm]
    urgency = (len(m.URGENCIES) - 1 - ranks).astype(np.int8)
    # A red flag is listed when it is unanswered and some undecided rule contains it.
    flags = np.zeros((len(plan.red_flags), answers.rows), dtype=bool)
    for i, fid in enumerate(plan.red_flags):
        out = flags[i]
        for r, fids in enumerate(plan.rule_findings):
            if fid in fids:
                out |= undecided[r]
        j = col[fid]
        out &= ~(answers.yes[j] | answers.no[j])
    return Evaluation(fired.T, undecided.T, flags.T, urgency)


def _patterns(flags: np.ndarray[Any, np.dtype[np.bool_]], ids: Sequence[str]
              ) -> pa.DictionaryArray:
    """Each row's ids joined by ';' (`flags` is ids x rows) as a dictionary array: one text per
    distinct pattern, joined by Arrow (no string per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    k, n = flags.shape
    if k == 0:
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                              pa.array([""], pa.string()))
    # one integer key per row (64 flags per word): the row's bits packed across the ids
    words = (k + 63) // 64
    packed = np.zeros((words * 8, n), dtype=np.uint8)
    for i in range(k):  # eight ids per byte, one contiguous row of bytes at a time
        packed[i // 8] |= flags[i].view(np.uint8) << np.uint8(i % 8)
    keys = np.ascontiguousarray(packed.T).view("<u8")  # rows x words
    if words == 1:
        encoded = pc.dictionary_encode(pa.array(keys.reshape(-1)))
        uniq = encoded.dictionary.to_numpy().astype("<u8").reshape(-1, 1)
        inverse = encoded.indices
    else:
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inverse = pa.array(inv.reshape(-1).astype(np.int32))
    # the distinct patterns as lists of ids (in order), joined by Arrow
    bits = np.unpackbits(np.ascontiguousarray(uniq).view(np.uint8), axis=1,
                         bitorder="little")[:, :k]
    rows, cols = np.nonzero(bits)
    offsets = np.zeros(len(uniq) + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=len(uniq)), out=offsets[1:])
    names = pa.array(list(ids), pa.string()).take(pa.array(cols.astype(np.int32)))
    texts = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), names), ";")
    return pa.DictionaryArray.from_arrays(inverse, texts)


def triage_table(table: pa.Table | pa.RecordBatch, plan: Plan, keep: Sequence[str] = (),
                 offset: int = 0) -> pa.Table:
    """patient_id, the kept columns, then urgency, fired_rules, unanswered_red_flags.

    Columns must already have passed `check_columns`. Raises RowError (with `offset`, the
    batch's first data row) for a bad value. Runs on a Dask worker as it runs here.
    """
    import pyarrow as pa

    try:
        ev = evaluate(answers_of(table, plan), plan)
    except RowError as exc:
        exc.offset = offset
        raise
    urgency = pa.DictionaryArray.from_arrays(pa.array(ev.urgency.astype(np.int32)),
                                             pa.array(list(m.URGENCIES), pa.string()))
    columns = [table.column(c) for c in (ID_COLUMN, *keep)]
    columns = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in columns]
    return pa.table([*columns, urgency, _patterns(ev.fired.T, plan.rules),
                     _patterns(ev.open_flags.T, plan.red_flags)],
                    names=[ID_COLUMN, *keep, *RESULT_COLUMNS])


def triage_frame(frame: pd.DataFrame, plan: Plan, keep: Sequence[str] = ()) -> pd.DataFrame:
    """`triage_table` for a pandas frame; result columns as text."""
    import pyarrow as pa

    # in batches, as files are: the working arrays stay small and in cache
    parts = [triage_table(pa.Table.from_pandas(frame.iloc[start:start + CHUNK_ROWS],
                                               preserve_index=False), plan, keep, start)
             for start in range(0, max(len(frame), 1), CHUNK_ROWS)]
    out: pd.DataFrame = _plain(pa.concat_tables(parts)).to_pandas()
    return out


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns as plain text."""
    import pyarrow as pa

    return pa.table([c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c
                     for c in table.columns], names=table.column_names)


# --- files -----------------------------------------------------------------------------------

def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise CohortError(f"{path}: use a .csv, .csv.gz or .parquet file (the format follows the "
                      "extension)")


def _text(path: Path) -> IO[str]:
    """The CSV as text: gunzipped if .gz; a UTF-8 byte-order mark (Excel's "CSV UTF-8") skipped."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def read_columns(path: Path) -> list[str]:
    """The header of a cohort file, without reading its rows."""
    if not path.is_file():
        raise CohortError(f"{path}: no such file")
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:  # Arrow's own error types: named, never a traceback
            raise CohortError(f"{path} cannot be read as Parquet ({type(exc).__name__})"
                              ) from None
    try:
        with _text(path) as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError:
        raise CohortError(f"{path} is not UTF-8 text: save it as CSV UTF-8") from None
    except (OSError, EOFError):  # a damaged .gz
        raise CohortError(f"{path} cannot be read as gzip-compressed CSV") from None
    if not header:
        raise CohortError(f"{path} is empty: it needs a header row with '{ID_COLUMN}'")
    return [h.strip() for h in header]


def _lines(path: Path, rows: Iterable[int]) -> dict[int, int]:
    """The line number of each data row (0 = first row after the header), counting blank lines
    and line breaks inside quotes as the file shows them. Used on the error path only."""
    want = set(rows)
    out: dict[int, int] = {}
    if not want:
        return out
    with _text(path) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        k = 0
        for row in reader:
            if not row:  # a blank line is skipped, as Arrow skips it
                continue
            if k in want:
                out[k] = reader.line_num
                if len(out) == len(want):
                    break
            k += 1
    return out


def _first_uneven(path: Path, n_columns: int) -> tuple[int, int] | None:
    """(line, cells) of the first row whose cell count differs from the header's."""
    with _text(path) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            if row and len(row) != n_columns:
                return reader.line_num, len(row)
    return None


def _uneven(path: Path, line: int, cells: int, n_columns: int) -> CohortError:
    few = "too few" if cells < n_columns else "too many"
    return CohortError(
        f"{path.name}, line {line}: the row has {few} cells ({cells}, the header has "
        f"{n_columns}): give every row one cell per column, and leave a cell empty for "
        "unanswered")


def _needed(columns: Sequence[str], plan: Plan, keep: Sequence[str]) -> list[str]:
    wanted = {ID_COLUMN, AGE_COLUMN, *plan.findings, *keep}
    return [c for c in columns if c in wanted]


#: Reports (done, total, unit) as the file is read: bytes of a CSV, rows of a Parquet file.
_Read = Callable[[int, "int | None", str], None]


#: The spellings Arrow reads as booleans on the fast path (any other is read as text).
_TYPED_TRUE = ("true", "True", "TRUE", "yes", "Yes", "YES", "1")
_TYPED_FALSE = ("false", "False", "FALSE", "no", "No", "NO", "0")


def _batches(path: Path, columns: Sequence[str], needed: Sequence[str],
             answers: Sequence[str], chunk_rows: int = CHUNK_ROWS,
             progress: _Read | None = None, typed_first: bool = True
             ) -> Iterator[tuple[int, pa.Table]]:
    """(first data row index, table) per batch of at most `chunk_rows` rows of the `needed`
    columns: from a CSV, the `answers` columns as booleans (or dictionary-encoded text when
    `typed_first` is off or a cell is spelled otherwise) and the others as text; Parquet types
    as they are."""
    import pyarrow as pa

    done = 0
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        total = pf.metadata.num_rows
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=list(needed)):
            if progress is not None:  # before the yield: the caller reports on receiving it
                progress(done + batch.num_rows, total, "rows")
            yield done, pa.Table.from_batches([batch])
            done += batch.num_rows
        return
    size = path.stat().st_size
    # Arrow parses a piece with all cores; numpy wants big batches: gather pieces, cut batches
    pending: list[pa.Table] = []
    rows = 0
    for table, read in itertools.chain(_csv_tables(path, columns, needed, answers, typed_first),
                                       [(None, size)]):
        if table is not None:
            if pending and table.schema != pending[0].schema:  # a switch to text: flush
                for part in _cut(pa.concat_tables(pending), chunk_rows, everything=True):
                    if progress is not None:
                        progress(read, size, "bytes")
                    yield done, part
                    done += part.num_rows
                pending, rows = [], 0
            pending.append(table)
            rows += table.num_rows
            if rows < chunk_rows:
                continue
        if not pending:
            return
        gathered = pa.concat_tables(pending)
        kept = 0
        for part in _cut(gathered, chunk_rows, everything=table is None):
            if progress is not None:  # before the yield: the caller reports on it
                progress(read, size, "bytes")
            yield done, part
            done += part.num_rows
            kept += part.num_rows
        rest = gathered.slice(kept)
        pending, rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)


def _cut(table: pa.Table, chunk_rows: int, everything: bool) -> Iterator[pa.Table]:
    """Slices of `chunk_rows` rows; the shorter last one only with `everything`."""
    end = table.num_rows if everything else table.num_rows - table.num_rows % chunk_rows
    for start in range(0, end, chunk_rows):
        yield table.slice(start, min(chunk_rows, end - start))


#: Blocks per piece of a CSV: each piece is parsed by Arrow on every core at once.
PIECE_BLOCKS = 16


def _pieces(path: Path) -> Iterator[tuple[pa.Buffer, int]]:
    """The CSV's bytes (gunzipped if .gz) in pieces of about PIECE_BLOCKS * BLOCK_BYTES that
    end at a line end, each with the bytes of the file read so far.

    A piece ends at the last line end it holds, as Arrow's own blocks do (`newlines_in_values`
    off): a quoted line break that straddles a cut is refused as an uneven row, as it is at
    Arrow's block boundaries.
    """
    import pyarrow as pa

    want = PIECE_BLOCKS * BLOCK_BYTES
    gz = path.name.lower().endswith(".gz")
    size = path.stat().st_size
    with pa.OSFile(str(path), "rb") as raw:
        stream: Any = pa.CompressedInputStream(raw, "gzip") if gz else raw
        pos = 0  # a plain file: where the next piece starts (its tail is read again)
        carry = b""  # gzip: the unfinished last line of the previous read
        while True:
            buf = stream.read_buffer(want)
            end = buf.size == 0 if gz else pos + buf.size >= size
            if carry:
                buf = pa.py_buffer(carry + buf.to_pybytes())
                carry = b""
            cut = buf.size if end else _last_newline(buf) + 1
            if cut == 0 and not end:  # a line longer than a piece: read on
                if gz:
                    carry = buf.to_pybytes()
                else:
                    want *= 2
                    raw.seek(pos)
                continue
            if cut:
                yield buf.slice(0, cut), raw.tell() if gz else pos + cut
            if end:
                return
            if gz:
                carry = buf.slice(cut).to_pybytes()
            else:
                pos += cut
                raw.seek(pos)


def _last_newline(buf: pa.Buffer) -> int:
    """Position of the last b"\\n" of `buf`, or -1; read backwards in small windows."""
    view = memoryview(buf)
    hi = len(view)
    while hi > 0:
        lo = max(0, hi - (1 << 16))
        at = bytes(view[lo:hi]).rfind(b"\n")
        if at >= 0:
            return lo + at
        hi = lo
    return -1


def _csv_tables(path: Path, columns: Sequence[str], needed: Sequence[str],
                answers: Sequence[str], typed_first: bool
                ) -> Iterator[tuple[pa.Table, int]]:
    """The CSV's pieces parsed by Arrow (with the bytes read so far): answers as booleans
    until a piece has another spelling, from then on as dictionary-encoded text, where each
    distinct spelling is parsed once or named as an error."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    uneven: list[int] = []

    def on_invalid(row: Any) -> str:
        # Arrow's own message quotes the row (patient data): note it, let Arrow stop, and name
        # the line below
        uneven.append(row.actual_columns)
        return "error"

    as_text = pa.dictionary(pa.int32(), pa.string())
    coded = set(answers) - {AGE_COLUMN}

    def convert(typed: bool) -> Any:
        return pcsv.ConvertOptions(
            include_columns=list(needed), strings_can_be_null=False, null_values=[""],
            true_values=list(_TYPED_TRUE), false_values=list(_TYPED_FALSE),
            column_types={c: (pa.bool_() if typed else as_text) if c in coded
                          else as_text if c == AGE_COLUMN else pa.string() for c in needed})

    parse = pcsv.ParseOptions(invalid_row_handler=on_invalid)
    options = {typed: convert(typed) for typed in (True, False)}
    typed = [typed_first]  # switched off for good by the first piece with another spelling

    def parsed(piece: pa.Buffer, first: bool) -> pa.Table:
        while True:
            as_bool = typed[0]
            try:
                return pcsv.read_csv(
                    pa.BufferReader(piece),
                    read_options=pcsv.ReadOptions(column_names=list(columns),
                                                  skip_rows=1 if first else 0,
                                                  block_size=BLOCK_BYTES),
                    parse_options=parse, convert_options=options[as_bool])
            except pa.ArrowInvalid as exc:
                if as_bool and not uneven and "to bool" in str(exc):
                    typed[0] = False  # this piece again, and the rest, as text
                    continue
                raise

    from concurrent.futures import ThreadPoolExecutor

    window: deque[tuple[Any, int]] = deque()
    # two pieces parsed at once: while one finishes its last blocks, the next keeps the cores
    # busy
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cohort-parse")
    try:
        for i, (piece, read) in enumerate(_pieces(path)):
            window.append((pool.submit(parsed, piece, i == 0), read))
            if len(window) > 1:
                future, at = window.popleft()
                yield future.result(), at
        while window:
            future, at = window.popleft()
            yield future.result(), at
    except pa.ArrowInvalid as exc:
        if uneven:
            found = _first_uneven(path, len(columns))
            if found is not None:
                raise _uneven(path, *found, len(columns)) from None
        if "UTF8" in str(exc):
            raise CohortError(f"{path} is not UTF-8 text: save it as CSV UTF-8") from None
        head = str(exc).split(":", 1)[0]  # the rest may quote a row: patient data
        raise CohortError(f"{path} cannot be read as CSV ({head})") from None
    except (OSError, EOFError) as exc:
        raise CohortError(f"{path} cannot be read ({type(exc).__name__})") from None
    finally:
        for future, _ in window:
            future.cancel()
        pool.shutdown()


def iter_chunks(path: Path, columns: Sequence[str],
                chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[int, pd.DataFrame]]:
    """(first data row index, frame) per chunk, every CSV column as text (Parquet keeps its
    types)."""
    src = Path(path)
    answers = [c for c in columns if c != ID_COLUMN]
    for offset, table in _batches(src, columns, list(columns), answers, chunk_rows,
                                  typed_first=False):
        frame: pd.DataFrame = _plain(table).to_pandas()
        yield offset, frame


def located(exc: RowError, path: Path) -> CohortError:
    """The error with its place in the file: a CSV line number, or a Parquet row number."""
    row = exc.offset + exc.row
    if _kind(path) == "csv":
        where = f"line {_lines(path, [row]).get(row, row + 2)}"
    else:
        where = f"row {row + 1}"
    return CohortError(f"{path.name}, {where}, column '{exc.column}': {exc.problem}")


def _check_unique(ids: list[pa.Array | pa.ChunkedArray], path: Path) -> None:
    """Raise CohortError naming the lines of the first repeated patient id (never the id)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = [c for a in ids for c in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])]
    chunks = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in chunks]
    if not chunks:
        return
    allids = pa.chunked_array(chunks)
    if pa.types.is_string(allids.type) or pa.types.is_large_string(allids.type):
        allids = pc.utf8_trim_whitespace(allids)  # " p1" and "p1" are the same patient
    encoded = pc.dictionary_encode(allids.combine_chunks())
    distinct = len(encoded.dictionary)
    if distinct == len(encoded):
        return
    # indices count up in order of first appearance: a row whose index is not above every
    # earlier one repeats an id
    idx = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    before = np.maximum.accumulate(np.concatenate(([-1], idx[:-1])))
    second = int(np.flatnonzero(idx <= before)[0])
    first_row = int(np.argmax(idx == idx[second]))
    if _kind(path) == "csv":
        lines = _lines(path, [first_row, second])
        where = (f"lines {lines.get(first_row, first_row + 2)} and "
                 f"{lines.get(second, second + 2)}")
    else:
        where = f"rows {first_row + 1} and {second + 1}"
    more = len(idx) - distinct - 1
    raise CohortError(f"{path.name}, {where}, column '{ID_COLUMN}': the same patient id appears "
                      "twice" + (f" ({more} more repeats)" if more else "")
                      + ": give each patient one row with a unique id")


class _Sink:
    """Writes result tables to a temporary file beside the target; `commit` renames it.

    Every output ends with the constant `kb_version` column; Parquet also gets `kb_version` and
    `disclaimer` in its schema metadata. CSV values are quoted (Arrow's writer), the header not.
    """

    def __init__(self, target: Path, kb_version: str) -> None:
        self.target = target
        self.kb_version = kb_version
        self.kind = _kind(target)
        if not target.parent.is_dir():
            raise CohortError(f"{target.parent}: no such folder for the output")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.file: Any = None
        self.writer: Any = None
        self.rows = 0

    def _versioned(self, table: pa.Table) -> pa.Table:
        import pyarrow as pa

        version = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(table.num_rows, dtype=np.int32)),
            pa.array([self.kb_version], pa.string()))
        return table.append_column(KB_VERSION_COLUMN, version)

    def write(self, table: pa.Table) -> None:
        table = self._versioned(table)
        if self.writer is None:
            self._open(table.schema)
        if self.kind == "csv":
            self.writer.write_table(table)
        else:
            self.writer.write_table(table.cast(self.writer.schema))
        self.rows += table.num_rows

    def _open(self, schema: pa.Schema) -> None:
        import pyarrow as pa

        if self.kind == "csv":
            import pyarrow.csv as pcsv

            self.file = pa.OSFile(str(self.tmp), "wb")
            if self.target.name.lower().endswith(".gz"):
                self.file = pa.CompressedOutputStream(self.file, "gzip")
            header = io.StringIO()
            csv.writer(header, lineterminator="\n").writerow(schema.names)
            self.file.write(header.getvalue().encode("utf-8"))
            self.writer = pcsv.CSVWriter(self.file, schema,
                                         write_options=pcsv.WriteOptions(include_header=False))
        else:
            import pyarrow.parquet as pq

            schema = schema.with_metadata({b"kb_version": self.kb_version.encode(),
                                           b"disclaimer": m.DISCLAIMER.encode()})
            self.writer = pq.ParquetWriter(str(self.tmp), schema)

    def commit(self, empty: pa.Table) -> None:
        if self.writer is None:  # a header-only input still gives a header-only output
            self.write(empty)
        self.writer.close()
        if self.file is not None:
            self.file.close()
        with self.tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        self.tmp.replace(self.target)

    def discard(self) -> None:
        for closable in (self.writer, self.file):
            if closable is not None:
                with contextlib.suppress(Exception):  # a broken writer: its file goes anyway
                    closable.close()
        self.tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class CohortSummary:
    rows: int
    counts: Mapping[str, int]  # urgency -> patients
    kb_version: str
    output: Path
    #: Red-flag findings with no column, read as unanswered for everyone (--allow-missing).
    missing_red_flags: tuple[str, ...] = ()


def triage_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    kb: m.KnowledgeBase,
    *,
    keep: Sequence[str] = (),
    engine: str = "local",
    scheduler: str | None = None,
    allow_missing: bool = False,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> CohortSummary:
    """Triage every row of `source` into `output` (CSV, .csv.gz or Parquet by extension), all or
    nothing. `engine="dask"` or a `scheduler` address runs the rules on a Dask cluster."""
    import pyarrow as pa

    src, dst = Path(source), Path(output)
    _kind(dst)
    if src.resolve() == dst.resolve():
        raise CohortError("the output must not overwrite the input: choose another -o file")
    if engine not in ("local", "pandas", "dask"):
        raise CohortError(f"engine '{engine}' is unknown: use local or dask")
    plan = plan_for(kb)
    columns = read_columns(src)
    check_columns(columns, plan, keep)
    missing = missing_red_flags(columns, plan)
    if missing and not allow_missing:
        raise CohortError(
            f"{src.name} has no column for {len(missing)} red flag"
            f"{'s' * (len(missing) > 1)}: {', '.join(missing)}. Add the columns (blank cells "
            "for unanswered), or pass --allow-missing to read them as unanswered for every "
            "patient")
    sink = _Sink(dst, plan.kb_version)
    counts = np.zeros(len(m.URGENCIES), dtype=np.int64)
    ids: list[pa.ChunkedArray] = []
    rows = 0
    last: list[tuple[int, int | None, str]] = []
    needed = _needed(columns, plan, keep)
    answers = [c for c in needed if c not in (ID_COLUMN, *keep)]
    from concurrent.futures import ThreadPoolExecutor

    checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cohort-ids")
    unique: list[Future[None]] = []

    def read() -> Iterator[tuple[int, pa.Table]]:
        for offset, batch in _batches(src, columns, needed, answers, chunk_rows,
                                      lambda *where: last.append(where)):
            ids.append(batch.column(ID_COLUMN))
            yield offset, batch
        # every id is read: check them while the last batches are triaged and written
        unique.append(checker.submit(_check_unique, ids, src))

    parts = (_dask_parts(_ahead(read()), plan, keep, scheduler)
             if engine == "dask" or scheduler else _local_parts(_ahead(read()), plan, keep))
    try:
        for _, result in parts:
            sink.write(result)
            urg = result.column("urgency").combine_chunks()
            counts += np.bincount(urg.indices.to_numpy(), minlength=len(m.URGENCIES))
            rows += result.num_rows
            if progress is not None and last:
                progress(Tick(rows, *last[-1]))
        if unique:
            unique[0].result()
        else:  # a reader not drained to its end (never expected): check here
            _check_unique(ids, src)
        empty = _plain(triage_table(pa.table({c: pa.array([], pa.string())
                                              for c in (ID_COLUMN, *keep)}), plan, keep))
        sink.commit(empty)
    except RowError as exc:
        sink.discard()
        raise located(exc, src) from None
    except BaseException:
        sink.discard()
        raise
    finally:
        parts.close()  # on an error: stop the reader and the triage threads now
        checker.shutdown(cancel_futures=True)
    return CohortSummary(rows, dict(zip(m.URGENCIES, map(int, counts), strict=True)),
                         plan.kb_version, dst, missing)


#: Threads that triage batches on this machine: two, so the batches left when the reading ends
#: do not queue behind one thread.
TRIAGE_THREADS = 2


def _local_parts(batches: Iterator[tuple[int, pa.Table]], plan: Plan, keep: Sequence[str]
                 ) -> Generator[tuple[int, pa.Table]]:
    """Batches triaged by TRIAGE_THREADS threads while the next ones are read and the last
    written (Arrow and numpy release the interpreter lock), yielded in file order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=TRIAGE_THREADS, thread_name_prefix="cohort") as pool:
        yield from _in_order(batches, lambda b, o: pool.submit(triage_table, b, plan, keep, o),
                             ahead=TRIAGE_THREADS)


def _ahead(items: Iterator[tuple[int, pa.Table]], depth: int = 2
           ) -> Iterator[tuple[int, pa.Table]]:
    """`items` produced by a thread of their own, at most `depth` ahead of the consumer: the
    file is read on while results are written. The producer's error is raised here; on an
    early stop the producer is stopped and its file closed."""
    import queue
    import threading

    done = object()
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # raised again in the consumer's thread
            put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=run, name="cohort-read", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _in_order(batches: Iterator[tuple[int, pa.Table]], submit: Any, ahead: int
              ) -> Iterator[tuple[int, pa.Table]]:
    """Results of `submit(batch, offset)` (a future) in file order, with at most `ahead`
    batches submitted beyond the one being waited for; on an error or an early stop nothing
    is left running."""
    window: deque[tuple[int, Any]] = deque()
    try:
        for offset, batch in batches:
            window.append((offset, submit(batch, offset)))
            if len(window) > ahead:
                o, future = window.popleft()
                yield o, future.result()
        while window:
            o, future = window.popleft()
            yield o, future.result()
    finally:
        for _, future in window:
            future.cancel()


#: Batches in flight per Dask worker: enough to keep each busy, few enough to bound memory.
IN_FLIGHT = 2


def _dask_parts(batches: Iterator[tuple[int, pa.Table]], plan: Plan, keep: Sequence[str],
                scheduler: str | None) -> Generator[tuple[int, pa.Table]]:
    """Batches triaged on a Dask cluster, yielded in file order.

    The batches are read here and sent to the workers, so a worker needs neither the file nor
    the knowledge base (the plan is sent once to each).
    """
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        else:
            # ":0", not None: with None the scheduler still claims port 8787 for its HTTP
            # routes and fails when another cluster on the machine holds it
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
            client = Client(cluster)  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise CohortError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    try:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        shared = client.scatter(plan, broadcast=True)  # type: ignore[no-untyped-call]
        yield from _in_order(
            batches, lambda b, o: client.submit(triage_table, b, shared, list(keep), o,
                                                pure=False),
            ahead=IN_FLIGHT * workers - 1)
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
