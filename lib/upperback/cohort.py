"""Cohort triage: the urgency, fired rules and unanswered red flags of many patients at once.

Vectorised with numpy from the rules table (no per-row Python), giving exactly what
`upperback.assess` gives row by row. Reads CSV in chunks (or Parquet in batches) so memory stays
bounded; the Dask path maps the same pandas function over partitions. Output is written to a
temporary file beside the target and renamed into place: all or nothing.

A CSV must have one cell per header column on every row: a row with too few or too many cells is
an error naming its line (pandas would otherwise shift the answers or read the gap as
"unanswered"). The rows are counted from the raw bytes before parsing, which costs one fast pass.

Every output carries the knowledge-base version it was triaged with: a CSV output ends with a
constant `kb_version` column (after `patient_id`, the --keep columns, `urgency`, `fired_rules` and
`unanswered_red_flags`); a Parquet output keeps those columns and puts `kb_version` and the
decision-support `disclaimer` in its schema metadata.

Progress is reported through a callback with counts only: never a patient value.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _model as m
from ._engine import rules_in_order
from ._errors import CohortError
from ._rules import RulePlan, compile_plan, triage_batch

if TYPE_CHECKING:  # pandas is imported lazily: `import upperback` stays fast
    import pandas as pd

#: Called after each chunk or partition with (rows done, total rows if known).
Progress = Callable[[int, "int | None"], None]

ID_COLUMN = "patient_id"
RESULT_COLUMNS = ("urgency", "fired_rules", "unanswered_red_flags")
#: The constant last column of a CSV output (Parquet carries it in the schema metadata).
KB_VERSION_COLUMN = "kb_version"
#: Rows per CSV chunk: about 100 MB of working memory for the shipped knowledge base.
CHUNK_ROWS = 200_000
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
#: Answer codes in the answer matrix.
YES, NO, OPEN = 1, 0, -1


@dataclass(frozen=True)
class Plan:
    """The rules table as plain tuples: picklable, so a Dask worker never loads the knowledge base.

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
    """A bad value, reported by chunk-local row so the caller can add the chunk's offset.

    Its fields travel in `args`, so it pickles intact from a Dask worker.
    """

    def __init__(self, column: str, row: int, problem: str, offset: int = 0) -> None:
        super().__init__(column, row, problem, offset)
        self.column, self.row, self.problem, self.offset = column, row, problem, offset

    def __str__(self) -> str:
        return f"column '{self.column}', data row {self.offset + self.row + 1}: {self.problem}"


@dataclass(frozen=True)
class Evaluation:
    """Per-row results as arrays: rule status matrices and the urgency index into URGENCIES."""

    fired: np.ndarray[Any, np.dtype[np.bool_]]  # rows x rules
    undecided: np.ndarray[Any, np.dtype[np.bool_]]  # rows x rules
    open_flags: np.ndarray[Any, np.dtype[np.bool_]]  # rows x red_flags
    urgency: np.ndarray[Any, np.dtype[np.int8]]  # index into URGENCIES


# --- reading answers -------------------------------------------------------------------------

def _codes(values: pd.Series[Any], column: str) -> np.ndarray[Any, np.dtype[np.int8]]:
    """true/yes/1 -> YES, false/no/0 -> NO, blank -> OPEN (any case, spaces allowed)."""
    import pandas as pd

    if values.dtype == bool:
        return values.to_numpy().astype(np.int8)
    # Factorize first: a column holds a handful of distinct spellings, so only those are parsed.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lut = np.empty(len(uniques) + 1, dtype=np.int8)
    lut[-1] = OPEN  # the NA sentinel (-1) indexes the last slot
    bad = -2
    for i, u in enumerate(uniques):
        text = str(u).strip().lower()
        if isinstance(u, (bool, np.bool_)):
            text = "true" if u else "false"
        lut[i] = (YES if text in _TRUE else NO if text in _FALSE else OPEN if text == ""
                  else bad)
    out = lut[codes]
    wrong = np.flatnonzero(out == bad)
    if wrong.size:
        raise RowError(column, int(wrong[0]),
                       "the value is not true/false, yes/no, 1/0 or blank (unanswered)")
    return out


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
    clash = [k for k in keep
             if k in plan.findings or k in RESULT_COLUMNS or k == KB_VERSION_COLUMN]
    if clash:
        raise CohortError(f"--keep column '{clash[0]}' is a finding or a result column: "
                          "findings are read as answers and results are added anyway")
    known = set(plan.findings) | {ID_COLUMN, *keep, *also_allowed}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise CohortError(
            f"column '{unknown[0]}' is not a finding id of knowledge base {plan.kb_version}"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + ": fix the spelling (see `upperback findings`), or pass it with --keep to carry "
            "it through unread")


def answer_matrix(frame: pd.DataFrame, plan: Plan) -> np.ndarray[Any, np.dtype[np.int8]]:
    """rows x plan.findings of YES/NO/OPEN; a finding column absent from the frame is OPEN."""
    out = np.full((len(frame), len(plan.findings)), OPEN, dtype=np.int8)
    for j, fid in enumerate(plan.findings):
        if fid in frame.columns:
            out[:, j] = _codes(frame[fid], fid)
    blank = _blank_ids(frame)
    if blank is not None:
        raise RowError(ID_COLUMN, blank, "the patient id is blank: every row needs one")
    return out


def _blank_ids(frame: pd.DataFrame) -> int | None:
    ids = frame[ID_COLUMN]
    bad = ids.isna().to_numpy() | (ids.astype("string").str.strip() == "").fillna(True).to_numpy()
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else None


# --- the triage ------------------------------------------------------------------------------

def evaluate(answers: np.ndarray[Any, np.dtype[np.int8]], plan: Plan) -> Evaluation:
    """The same decisions as `_engine._status` / `_decide`, as column operations."""
    col = {f: j for j, f in enumerate(plan.findings)}
    yes, no, open_ = answers == YES, answers == NO, answers == OPEN
    n = answers.shape[0]
    fired = np.empty((n, len(plan.rules)), dtype=bool)
    ruled_out = np.empty_like(fired)
    for i, fids in enumerate(plan.rule_findings):
        cols = [col[f] for f in fids]
        fired[:, i] = yes[:, cols].all(axis=1)
        ruled_out[:, i] = no[:, cols].any(axis=1)
    undecided = ~fired & ~ruled_out
    # the urgency is the engine's own decision (rules and cause floors), one definition
    cp = plan.compiled
    pos = [col[f] for f in cp.finding_ids]
    # contradictory age answers are refused, as `assess` refuses them
    lo = np.zeros(n, dtype=np.int16)
    hi = np.full(n, m.AGE_RANGE[1], dtype=np.int16)
    for fid, years in cp.min_age.items():
        lo = np.where(yes[:, col[fid]], np.maximum(lo, years), lo)
        hi = np.where(no[:, col[fid]], np.minimum(hi, years - 1), hi)
    bad = np.flatnonzero(lo > hi)
    if bad.size:
        raise RowError(", ".join(sorted(cp.min_age)), int(bad[0]),
                       "the age answers contradict each other: correct them")
    ranks = triage_batch(cp, yes[:, pos], no[:, pos])
    urgency = (len(m.URGENCIES) - 1 - ranks).astype(np.int8)
    # A red flag is listed when it is unanswered and some undecided rule contains it.
    open_flags = np.empty((n, len(plan.red_flags)), dtype=bool)
    for k, fid in enumerate(plan.red_flags):
        rules = [i for i, fids in enumerate(plan.rule_findings) if fid in fids]
        open_flags[:, k] = open_[:, col[fid]] & undecided[:, rules].any(axis=1)
    return Evaluation(fired, undecided, open_flags, urgency)


def _joined(flags: np.ndarray[Any, np.dtype[np.bool_]], ids: Sequence[str]) -> np.ndarray[Any, Any]:
    """Each row's ids joined by ';': built once per distinct pattern, not per row."""
    if flags.shape[1] == 0:
        return np.full(flags.shape[0], "", dtype=object)
    if flags.shape[1] <= 64:  # one integer per row: a 1-D unique is far faster than axis=0
        weights = np.left_shift(np.uint64(1), np.arange(flags.shape[1], dtype=np.uint64))
        keys = (flags.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
        patterns_1d, inverse = np.unique(keys, return_inverse=True)
        bits = ((patterns_1d[:, None] & weights) != 0)
    else:
        packed = np.packbits(flags, axis=1)
        patterns, inverse = np.unique(packed, axis=0, return_inverse=True)
        bits = np.unpackbits(patterns, axis=1, count=flags.shape[1]).astype(bool)
    texts = np.empty(len(bits), dtype=object)
    for p, row in enumerate(bits):
        texts[p] = ";".join(ids[int(i)] for i in np.flatnonzero(row))
    return texts[inverse.reshape(-1)]


def triage_frame(frame: pd.DataFrame, plan: Plan, keep: Sequence[str] = ()) -> pd.DataFrame:
    """patient_id, the kept columns, then urgency, fired_rules, unanswered_red_flags.

    Columns must already have passed `check_columns`. Raises RowError for a bad value.
    """
    import pandas as pd

    ev = evaluate(answer_matrix(frame, plan), plan)
    out = frame[[ID_COLUMN, *keep]].reset_index(drop=True)
    out["urgency"] = pd.array(np.asarray(m.URGENCIES, dtype=object)[ev.urgency], dtype="str")
    out["fired_rules"] = pd.array(_joined(ev.fired, plan.rules), dtype="str")
    out["unanswered_red_flags"] = pd.array(_joined(ev.open_flags, plan.red_flags), dtype="str")
    return out


# --- files -----------------------------------------------------------------------------------

def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise CohortError(f"{path}: use a .csv or .parquet file (the format follows the extension)")


def read_columns(path: Path) -> list[str]:
    """The header of a cohort file, without reading its rows."""
    if not path.is_file():
        raise CohortError(f"{path}: no such file")
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError:
        raise CohortError(f"{path} is not UTF-8 text: save it as CSV UTF-8") from None
    if not header:
        raise CohortError(f"{path} is empty: it needs a header row with '{ID_COLUMN}'")
    return [h.strip() for h in header]


#: Bytes per block of the raw row-length check.
_BLOCK = 1 << 24


def check_row_lengths(path: Path, n_columns: int) -> None:
    """Raise CohortError naming the first CSV line whose cell count differs from the header's.

    Blank lines are skipped, as pandas skips them. Without a quote character the cells are counted
    from the commas of each line with numpy (a block at a time); a file with quotes is counted by
    the csv module instead, which knows quoted commas and line breaks (and a bare carriage return
    as a line break).
    """
    with path.open("rb") as fh:
        header = fh.readline(1 << 20)
        # Quotes or a bare carriage return (old Mac line breaks): the csv module decides.
        fast = header.endswith(b"\n") and not any(
            c in header.rstrip(b"\r\n") for c in (b'"', b"\r"))
        line = 1  # lines read so far
        while fast:
            block = fh.read(_BLOCK)
            if not block:
                return
            if not block.endswith(b"\n"):
                block += fh.readline()
            if b'"' in block or (b"\r" in block
                                 and block.count(b"\r") != block.count(b"\r\n")):
                break
            buf = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(buf == 10)
            if not block.endswith(b"\n"):
                ends = np.append(ends, len(buf))
            starts = np.concatenate(([0], ends[:-1] + 1))
            # Commas per line: differences of the running comma count at each line's end.
            cum = np.cumsum(buf == 44, dtype=np.int32)
            commas = np.diff(cum[np.minimum(ends, len(buf) - 1)], prepend=0)
            # A line's length without its line break; 0 is a blank line.
            length = ends - starts - ((ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13))
            bad = np.flatnonzero((commas != n_columns - 1) & (length > 0))
            if bad.size:
                i = int(bad[0])
                _uneven(path, line + i + 1, int(commas[i]) + 1, n_columns)
            line += len(ends)
    # The csv module from the start (quoted line breaks make bytes and rows differ).
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for row in reader:
                if row and len(row) != n_columns:
                    _uneven(path, reader.line_num, len(row), n_columns)
    except UnicodeDecodeError:
        raise CohortError(f"{path} is not UTF-8 text: save it as CSV UTF-8") from None


def _uneven(path: Path, line: int, cells: int, n_columns: int) -> None:
    few = "too few" if cells < n_columns else "too many"
    raise CohortError(
        f"{path.name}, line {line}: the row has {few} cells ({cells}, the header has "
        f"{n_columns}): give every row one cell per column, and leave a cell empty for "
        "unanswered")


def iter_chunks(path: Path, columns: Sequence[str],
                chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[int, pd.DataFrame]]:
    """(first data row index, frame) per chunk, every column as text (Parquet keeps its types)."""
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        done = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            yield done, frame
            done += len(frame)
        return
    import pandas as pd

    # keep_default_na=False: "NA" or "null" must be an error, never a silent "unanswered".
    done = 0
    try:
        check_row_lengths(path, len(columns))
        with pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                         chunksize=chunk_rows, encoding="utf-8") as reader:
            for frame in reader:
                if not isinstance(frame.index, pd.RangeIndex):  # pandas took a column as index
                    raise CohortError(f"{path.name}: the rows have more cells than the header")
                frame.columns = list(columns)  # the stripped header names
                yield done, frame
                done += len(frame)
    except UnicodeDecodeError:
        raise CohortError(f"{path} is not UTF-8 text: save it as CSV UTF-8") from None
    except pd.errors.ParserError as exc:
        raise CohortError(f"{path} cannot be read as CSV: {str(exc).splitlines()[0]}") from None


def located(exc: RowError, path: Path) -> CohortError:
    """The error with its place in the file: a CSV line number, or a Parquet row number."""
    row = exc.offset + exc.row
    where = f"line {row + 2}" if _kind(path) == "csv" else f"row {row + 1}"
    return CohortError(f"{path.name}, {where}, column '{exc.column}': {exc.problem}")


class _Sink:
    """Appends result frames to a temporary file beside the target; `commit` renames it.

    A CSV gets the constant `kb_version` column last; Parquet gets `kb_version` and `disclaimer`
    in its schema metadata.
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
        self.writer: Any = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == "csv":
            frame = frame.assign(**{KB_VERSION_COLUMN: self.kb_version})
            frame.to_csv(self.tmp, mode="w" if self.rows == 0 else "a", header=self.rows == 0,
                         index=False, lineterminator="\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self.writer is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                schema = table.schema.with_metadata({
                    **(table.schema.metadata or {}),
                    b"kb_version": self.kb_version.encode(),
                    b"disclaimer": m.DISCLAIMER.encode(),
                })
                table = table.replace_schema_metadata(schema.metadata)
                self.writer = pq.ParquetWriter(self.tmp, schema)
            else:
                table = pa.Table.from_pandas(frame, schema=self.writer.schema,
                                             preserve_index=False)
            self.writer.write_table(table)
        self.rows += len(frame)

    def commit(self, empty_columns: Sequence[str]) -> None:
        if self.rows == 0:  # a header-only input still gives a header-only output
            import pandas as pd

            self.write(pd.DataFrame({c: pd.Series([], dtype="str") for c in empty_columns}))
        if self.writer is not None:
            self.writer.close()
        with self.tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        self.tmp.replace(self.target)

    def discard(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):  # a broken writer: its file goes anyway
                self.writer.close()
        self.tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class CohortSummary:
    rows: int
    counts: Mapping[str, int]  # urgency -> patients
    kb_version: str
    output: Path


def triage_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    kb: m.KnowledgeBase,
    *,
    keep: Sequence[str] = (),
    engine: str = "pandas",
    scheduler: str | None = None,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> CohortSummary:
    """Triage every row of `source` into `output` (CSV or Parquet by extension), all or nothing."""
    src, dst = Path(source), Path(output)
    _kind(dst)
    if src.resolve() == dst.resolve():
        raise CohortError("the output must not overwrite the input: choose another -o file")
    plan = plan_for(kb)
    columns = read_columns(src)
    check_columns(columns, plan, keep)
    out_columns = [ID_COLUMN, *keep, *RESULT_COLUMNS]
    sink = _Sink(dst, plan.kb_version)
    counts: dict[str, int] = dict.fromkeys(m.URGENCIES, 0)
    try:
        parts = (_dask_parts(src, columns, plan, keep, scheduler) if engine == "dask"
                 else _pandas_parts(src, columns, plan, keep, chunk_rows))
        for offset, result in parts:
            sink.write(result)
            for u, c in result["urgency"].value_counts().items():
                counts[str(u)] += int(c)
            if progress is not None:
                progress(offset + len(result), None)
        sink.commit(out_columns)
    except RowError as exc:
        sink.discard()
        raise located(exc, src) from None
    except BaseException:
        sink.discard()
        raise
    return CohortSummary(sink.rows, counts, plan.kb_version, dst)


def _pandas_parts(src: Path, columns: Sequence[str], plan: Plan, keep: Sequence[str],
                  chunk_rows: int) -> Iterator[tuple[int, pd.DataFrame]]:
    for offset, frame in iter_chunks(src, columns, chunk_rows):
        try:
            yield offset, triage_frame(frame, plan, keep)
        except RowError as exc:
            exc.offset = offset
            raise


def _dask_parts(src: Path, columns: Sequence[str], plan: Plan, keep: Sequence[str],
                scheduler: str | None) -> Iterator[tuple[int, pd.DataFrame]]:
    """Partitions computed on a Dask cluster, yielded in file order with their row offsets."""
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    if _kind(src) == "parquet":
        ddf = dd.read_parquet(src)
    else:
        check_row_lengths(src, len(columns))
        ddf = dd.read_csv(src, dtype=str, keep_default_na=False, na_values=[""],
                          blocksize="64MB", encoding="utf-8")
        ddf.columns = list(columns)
    meta = triage_frame(ddf._meta, plan, keep)  # the empty frame gives the output's dtypes
    results = ddf.map_partitions(triage_frame, plan, list(keep), meta=meta).to_delayed()
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        else:
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
            client = Client(cluster)  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise CohortError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    # A bad value is re-raised here with its line; the worker's own traceback log is noise.
    quiet = [logging.getLogger(n) for n in ("distributed.worker", "distributed.core")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL)
    try:
        futures = client.compute(results)  # type: ignore[no-untyped-call]
        offset = 0
        for future in futures:
            try:
                part = future.result()
            except RowError as exc:
                exc.offset = offset
                raise
            yield offset, part
            offset += len(part)
    finally:
        for lg, level in zip(quiet, levels, strict=True):
            lg.setLevel(level)
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
