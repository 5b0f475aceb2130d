"""The CSV schema, read from `data/datapackage.json` (the single contract), and the checks a
schema can state: types, enums, required cells, keys and foreign keys (run by frictionless)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import KnowledgeBaseError, Problem

DESCRIPTOR = "datapackage.json"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    description: str
    required: bool
    enum: tuple[str, ...] | None


@dataclass(frozen=True)
class TableSpec:
    name: str
    path: str
    title: str
    description: str
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class PackageSpec:
    version: str
    tables: Mapping[str, TableSpec]
    raw: Mapping[str, Any]


def _as_tuple(v: str | list[str]) -> tuple[str, ...]:
    return (v,) if isinstance(v, str) else tuple(v)


def read_descriptor(folder: Path) -> PackageSpec:
    """Read the descriptor, or raise KnowledgeBaseError naming what is wrong with it."""
    path = folder / DESCRIPTOR
    if not path.is_file():
        raise KnowledgeBaseError(
            [Problem(DESCRIPTOR, f"missing: every knowledge-base folder needs {DESCRIPTOR} "
                     "beside its CSV files (copy it from the shipped data/ folder)")],
            str(folder),
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        tables: dict[str, TableSpec] = {}
        for res in raw["resources"]:
            schema = res["schema"]
            fields = tuple(
                FieldSpec(
                    f["name"], f.get("type", "string"), f.get("description", ""),
                    bool(f.get("constraints", {}).get("required", False)),
                    tuple(f["constraints"]["enum"]) if "enum" in f.get("constraints", {}) else None,
                )
                for f in schema["fields"]
            )
            fks = tuple(
                (_as_tuple(fk["fields"]), fk["reference"]["resource"] or res["name"],
                 _as_tuple(fk["reference"]["fields"]))
                for fk in schema.get("foreignKeys", [])
            )
            tables[res["name"]] = TableSpec(
                res["name"], res["path"], res.get("title", res["name"]),
                res.get("description", ""), fields,
                _as_tuple(schema.get("primaryKey", [])), fks,
            )
        version = str(raw["version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KnowledgeBaseError(
            [Problem(DESCRIPTOR, f"not a valid data package descriptor ({type(exc).__name__}: "
                     f"{exc}); restore it from version control")],
            str(folder),
        ) from None
    return PackageSpec(version, tables, raw)


#: A knowledge-base table is hand-curated: far below this. A bigger file is the wrong file, and
#: refusing it at once keeps `validate` fast on junk (frictionless would take minutes).
MAX_TABLE_BYTES = 5_000_000
#: More rows of the wrong width than this and the file is not the table it claims to be.
MAX_BAD_ROWS = 20
#: Problems shown per file (the rest are counted), so junk gives a short, readable report.
MAX_PROBLEMS_PER_FILE = 25
#: Byte-order mark that Excel's "CSV UTF-8" writes: accepted everywhere, kept on save.
BOM = "\ufeff"


def _lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _scan(table: TableSpec, text: str) -> list[Problem]:
    """Header and quoting problems, each reported once, in plain words (see `_prepass`)."""
    path = table.path
    declared = [f.name for f in table.fields]
    lines = _lines_of(text.removeprefix(BOM))
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, [])
    except csv.Error:
        return [Problem(path, "the header row has an unclosed quote (\"): the header is the "
                        "column names separated by commas: " + ",".join(declared), line=1)]
    problems: list[Problem] = []
    last = max((i + 1 for i, h in enumerate(header) if h.strip()), default=0)
    named, trailing = header[:last], len(header) - last
    if trailing:
        problems.append(Problem(
            path, f"the header ends with {trailing} empty column{'s' * (trailing != 1)} after "
            f"'{named[-1] if named else ''}' (a spreadsheet adds them when cells to the right "
            "were touched): delete those columns and save again", line=1))
    for i, name in enumerate(named):
        if not name.strip():
            problems.append(Problem(path, f"column {i + 1} of the header has no name: name it "
                                    "or delete the column", line=1))
        elif name not in declared:
            problems.append(Problem(path, f"column '{name}' is not declared in {DESCRIPTOR}: "
                                    "remove it, or declare it there", line=1, column=name))
        elif named.index(name) != i:
            problems.append(Problem(path, f"the column '{name}' appears twice: keep one",
                                    line=1, column=name))
    if problems:
        for name in declared:
            if name not in named:
                problems.append(Problem(path, f"column '{name}' is missing: add it back (every "
                                        "declared column is required)", line=1, column=name))
        return problems  # every row would look wrong against a wrong header: fix it first
    width = len(header)
    bad: list[int] = []
    rows = 0
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            return [_open_quote(path, start, max(reader.line_num, start))]
        end = reader.line_num
        rows += 1
        if row and len(row) != width:
            if end > start and '"' in lines[start - 1]:
                # A cell that runs over several lines and leaves the row the wrong width: a
                # quote opened on `start` and closed only by a later cell's quote.
                return [_open_quote(path, start, end)]
            bad.append(start)
    if len(bad) > MAX_BAD_ROWS:
        shown = ", ".join(map(str, bad[:5]))
        problems.append(Problem(
            path, f"{len(bad)} of {rows} rows do not have the {width} cells of the header "
            f"(lines {shown}, ...): this does not look like the table {table.name}; restore the "
            "file from version control or a backup"))
    return problems


def _open_quote(path: str, start: int, end: int) -> Problem:
    return Problem(path, f"a quote (\") opens a cell on line {start} and is not closed on that "
                   f"line, so lines {start} to {end} run together: add the closing quote, or "
                   "remove the stray one", line=start)


def _prepass(folder: Path, spec: PackageSpec) -> list[Problem]:
    """Problems frictionless reports poorly: missing, undeclared, empty, huge or non-UTF-8
    files, Excel's trailing empty columns, undeclared columns, unclosed quotes and junk."""
    problems: list[Problem] = []
    declared = {t.path for t in spec.tables.values()}
    for extra in sorted(p.name for p in folder.glob("*.csv") if p.name not in declared):
        problems.append(Problem(extra, f"not declared in {DESCRIPTOR}: declare it as a resource "
                                "there, or move it out of the knowledge-base folder"))
    for table in spec.tables.values():
        path = folder / table.path
        if not path.is_file():
            problems.append(Problem(table.path, f"missing: {DESCRIPTOR} declares it; restore the "
                                    "file or remove its resource from the descriptor"))
            continue
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            problems.append(Problem(table.path, f"is {size / 1e6:.0f} MB, too big for a "
                                    f"knowledge-base table (at most {MAX_TABLE_BYTES / 1e6:.0f} "
                                    "MB): is it the right file? Restore it from version control"))
            continue
        data = path.read_bytes()
        if not data.strip() or data.strip() == BOM.encode():
            problems.append(Problem(table.path, "the file is empty: it needs at least the header "
                                    "row " + ",".join(f.name for f in table.fields)))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            problems.append(Problem(
                table.path, f"is not UTF-8 (byte 0x{data[exc.start]:02x}): save the file as "
                "UTF-8 in your editor or spreadsheet (\"CSV UTF-8\")", line=line))
            continue
        problems += _scan(table, text)
    return problems


_PLAIN = {
    "missing-label": "column '{field}' is missing: add it back (every declared column is required)",
    "extra-label": "column '{label}' is not declared in datapackage.json: remove it or declare it",
    "missing-cell": "the row has too few cells: check for a missing comma",
    "extra-cell": "the row has too many cells: check for an unquoted comma in a text cell",
    "blank-row": "the row is blank: delete it",
    "duplicate-label": "the column '{cell}' appears twice: keep one",
}


def _plain(err: Any, table: TableSpec | None) -> str:
    etype = err.type
    field = getattr(err, "field_name", None)
    cell = getattr(err, "cell", None)
    if etype == "constraint-error":
        spec = next((f for f in table.fields if f.name == field), None) if table else None
        if spec is not None and spec.enum and cell not in (None, ""):
            return f"'{cell}' is not one of the allowed values: {', '.join(spec.enum)}"
        if cell in (None, ""):
            return "this cell is required but empty"
        return f"'{cell}' breaks the rule {err.note}"
    if etype == "type-error":
        want = next((f.type for f in table.fields if f.name == field), "") if table else ""
        hint = " (write true or false)" if want == "boolean" else ""
        return f"'{cell}' is not a valid {want or 'value'}{hint}"
    if etype == "incorrect-label":
        expected = (table.fields[err.field_number - 1].name
                    if table and 0 < err.field_number <= len(table.fields) else "?")
        return (f"the header says '{err.label}' where column '{expected}' is expected: rename it "
                "back, or keep the columns in the declared order")
    if etype == "primary-key" and table is not None:
        cells = list(getattr(err, "cells", None) or [])
        names = [f.name for f in table.fields]
        key = ", ".join(str(cells[names.index(k)]) for k in table.primary_key
                        if names.index(k) < len(cells))
        return (f"duplicate id '{key}': the same {' + '.join(table.primary_key)} as on "
                f"{err.note.replace('the same as in the row at position', 'line')}; every row "
                "needs its own id")
    if etype == "foreign-key":
        ref = spec_path = str(getattr(err, "reference_name", "") or (table.name if table else ""))
        if table is not None:
            spec_path = next((r for c, r, _ in table.foreign_keys
                              if list(c) == list(err.field_names)), ref)
        target = ", ".join(err.reference_field_names)
        value = ", ".join(str(v) for v in err.field_cells)
        return (f"'{value}' does not match any {target} in {spec_path}.csv: fix the typo, or "
                "add the missing row there first")
    if etype in _PLAIN:
        key = ", ".join(str(c) for c in (getattr(err, "cells", None) or [cell]))
        return _PLAIN[etype].format(field=field, cell=cell, key=key, note=err.note,
                                    label=getattr(err, "label", None) or cell)
    return f"{err.title}: {err.note}"


def validate_schema(folder: Path, spec: PackageSpec) -> list[Problem]:
    """Every problem the descriptor can state, each with file, line, column and value."""
    from frictionless import Package, Resource  # slow import: only when validating

    problems = _prepass(folder, spec)
    broken = {p.file for p in problems}
    reports: list[tuple[TableSpec | None, Any]] = []
    # utf-8-sig reads a file with or without Excel's byte-order mark alike.
    resources = [{**res, "encoding": "utf-8-sig"} for res in spec.raw["resources"]]
    if not problems:
        package = Package({**spec.raw, "resources": resources}, basepath=str(folder))
        report = package.validate(limit_errors=_LIMIT_ERRORS)
        reports = [(spec.tables.get(task.name), task) for task in report.tasks]
    else:
        # A broken file would make every foreign key into it fail too: check the healthy
        # files alone (without foreign keys) so each problem is reported once, in its own file.
        for res in resources:
            if res["path"] in broken:
                continue
            descriptor = {k: v for k, v in res.items() if k != "schema"}
            descriptor["schema"] = {k: v for k, v in res["schema"].items() if k != "foreignKeys"}
            report = Resource(descriptor, basepath=str(folder)).validate(
                limit_errors=_LIMIT_ERRORS)
            reports += [(spec.tables.get(res["name"]), task) for task in report.tasks]
    for table, task in reports:
        path = table.path if table else str(task.name)
        for err in task.errors:
            line = getattr(err, "row_number", None)
            column = getattr(err, "field_name", None) or getattr(err, "label", None)
            if err.type == "primary-key" and table is not None:
                column = "+".join(table.primary_key)
            if err.type == "foreign-key":
                column = "+".join(err.field_names)
            problems.append(Problem(
                path, _plain(err, table), line=line, column=column,
                value=(", ".join(map(str, err.field_cells)) if err.type == "foreign-key"
                       else None if getattr(err, "cell", None) is None else str(err.cell)),
            ))
    return capped(problems)


#: Frictionless stops collecting after this many errors (per validation run).
_LIMIT_ERRORS = 200


def capped(problems: list[Problem], per_file: int = MAX_PROBLEMS_PER_FILE) -> list[Problem]:
    """At most `per_file` problems per file, then one line counting the rest: a report of junk
    stays readable, and the first problems are the ones to fix first anyway."""
    seen: dict[str, int] = {}
    out: list[Problem] = []
    for p in problems:
        seen[p.file] = seen.get(p.file, 0) + 1
        if seen[p.file] <= per_file:
            out.append(p)
    for file, n in seen.items():
        if n > per_file:
            out.append(Problem(file, f"... and {n - per_file} more problems in this file, not "
                               "shown: fix the ones above first (they are often the cause)"))
    return out


def _convert(value: str, type_: str) -> object:
    if value == "":
        return None
    if type_ == "integer":
        return int(value)
    if type_ == "number":
        return float(value)
    if type_ == "boolean":
        return value.strip().lower() in {"true", "1"}
    return value


def read_table(folder: Path, table: TableSpec) -> tuple[dict[str, object], ...]:
    """Rows typed from the descriptor. Call only after `validate_schema` found no problems."""
    types = {f.name: f.type for f in table.fields}
    with (folder / table.path).open(encoding="utf-8-sig", newline="") as fh:
        return tuple(
            {k: _convert(v, types[k]) for k, v in row.items()} for row in csv.DictReader(fh)
        )
