"""Safe editing of the knowledge base: a working copy, validation, and publishing through
`upperback.publish` (a locked, all-or-nothing transaction that keeps every earlier version).

Edits go to a working copy in a temporary folder. Unchanged rows keep their exact text, and an
edited file keeps its byte-order mark and line endings (CRLF stays CRLF), so a file's diff shows
only what the analyst changed. Publishing is refused when the published knowledge base moved on
since the copy was taken (someone else published), when anything does not validate, and when a
protected rule or safety case is deleted or weakened without a clinical sign-off.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import Problem, PublishError
from ._io import save_atomic
from ._loader import default_data_dir, load_knowledge_base, validate_knowledge_base
from ._schema import BOM, read_descriptor
from .kbdiff import KbDiff, ProtectedChange, diff_folders, folder_version, protected_changes
from .publish import (
    DEFAULT_BACKUPS,
    REPO,
    REPO_DATA,
    Backup,
    PublishResult,
    SignOff,
    changed_files,
    default_backup_root,
    kb_files,
    list_backups,
    publish_folder,
    restore_backup,
)

__all__ = ["DEFAULT_BACKUPS", "REPO", "REPO_DATA", "Backup", "PublishResult", "SignOff",
           "WorkingCopy", "default_backup_root", "list_backups", "restore_backup"]


@dataclass
class _Record:
    values: list[str]
    raw: str | None  # the record's exact text in the file; None once edited


@dataclass
class _Table:
    name: str
    path: str
    key: tuple[str, ...]
    header_raw: str
    columns: list[str]
    records: list[_Record] = field(default_factory=list)
    bom: bool = False

    @property
    def newline(self) -> str:
        """The file's own line ending, for edited rows (a CRLF file stays CRLF)."""
        return "\r\n" if self.header_raw.endswith("\r\n") else "\n"

    def render(self) -> str:
        out = io.StringIO()
        nl = self.newline
        out.write(BOM if self.bom else "")
        out.write(self.header_raw if self.header_raw.endswith("\n") else self.header_raw + nl)
        writer = csv.writer(out, lineterminator=nl)  # minimal quoting, as the shipped files
        for i, rec in enumerate(self.records):
            if rec.raw is None:
                writer.writerow(rec.values)
            else:
                last = i == len(self.records) - 1
                out.write(rec.raw if last or rec.raw.endswith("\n") else rec.raw + nl)
        return out.getvalue()


def _parse(text: str) -> tuple[str, list[str], list[_Record]]:
    """Header text, columns and records, each record with the exact lines it came from."""
    lines = iter(text.splitlines(keepends=True))
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(feed())
    header = next(reader, [])
    header_raw = "".join(consumed)
    records = []
    while True:
        consumed.clear()
        try:
            values = next(reader)
        except StopIteration:
            break
        records.append(_Record(values, "".join(consumed)))
    return header_raw, header, records


class WorkingCopy:
    """A private copy of the published knowledge base to edit, check and publish.

    `backup_root` (the history of published versions) defaults to that of `published`: the
    repository's `kb-backups/` for its own `data/`, else `kb-backups/` beside the folder.
    """

    def __init__(self, published: str | os.PathLike[str] | None = None, *,
                 backup_root: str | os.PathLike[str] | None = None) -> None:
        self.published = Path(published) if published is not None else default_data_dir()
        self.backup_root = (Path(backup_root) if backup_root is not None
                            else default_backup_root(self.published))
        self.folder = Path(tempfile.mkdtemp(prefix="upperback-edit-"))
        self._tables: dict[str, _Table] = {}
        self.reset()

    # --- lifecycle ---
    def reset(self) -> None:
        """Throw away every edit: the working copy becomes the published folder again."""
        for p in self.folder.iterdir():
            p.unlink()
        for n in kb_files(self.published):
            save_atomic(self.folder / n, (self.published / n).read_bytes())
        # The version this copy was taken from: publishing over any other is refused.
        self.base_version = folder_version(self.folder)
        self._tables.clear()
        self._spec = read_descriptor(self.folder)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> WorkingCopy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---
    @property
    def version(self) -> str:
        """The published version this copy was taken from."""
        return folder_version(self.published, unreadable="unreadable")

    def tables(self) -> list[str]:
        return list(self._spec.tables)

    def _table(self, name: str) -> _Table:
        if name not in self._tables:
            if name not in self._spec.tables:
                raise PublishError(f"there is no table '{name}': choose one of "
                                   f"{', '.join(self._spec.tables)}")
            spec = self._spec.tables[name]
            text = (self.folder / spec.path).read_bytes().decode("utf-8")
            header_raw, columns, records = _parse(text.removeprefix(BOM))
            self._tables[name] = _Table(name, spec.path, spec.primary_key, header_raw, columns,
                                        records, bom=text.startswith(BOM))
        return self._tables[name]

    def columns(self, table: str) -> list[str]:
        return list(self._table(table).columns)

    def primary_key(self, table: str) -> tuple[str, ...]:
        return self._table(table).key

    def rows(self, table: str) -> list[dict[str, str]]:
        t = self._table(table)
        return [dict(zip(t.columns, r.values + [""] * (len(t.columns) - len(r.values)),
                         strict=False)) for r in t.records]

    def key_of(self, table: str, index: int) -> str:
        t = self._table(table)
        row = self.rows(table)[index]
        return "|".join(row.get(k, "") for k in t.key)

    # --- editing (each edit rewrites only that table in the working copy) ---
    def _save(self, t: _Table) -> None:
        save_atomic(self.folder / t.path, t.render())

    def _check_index(self, t: _Table, index: int) -> None:
        if not 0 <= index < len(t.records):
            raise PublishError(f"{t.path} has no row {index + 1}")

    def set_cell(self, table: str, index: int, column: str, value: str) -> None:
        t = self._table(table)
        self._check_index(t, index)
        if column not in t.columns:
            raise PublishError(f"{t.path} has no column '{column}'")
        rec = t.records[index]
        values = rec.values + [""] * (len(t.columns) - len(rec.values))
        if values[t.columns.index(column)] == value:
            return  # no change: keep the row's exact text
        values[t.columns.index(column)] = value
        t.records[index] = _Record(values, None)
        self._save(t)

    def add_row(self, table: str, values: Mapping[str, str] | None = None) -> int:
        """Append a row (blank cells unless given); returns its index."""
        t = self._table(table)
        given = dict(values or {})
        unknown = [c for c in given if c not in t.columns]
        if unknown:
            raise PublishError(f"{t.path} has no column '{unknown[0]}'")
        t.records.append(_Record([given.get(c, "") for c in t.columns], None))
        self._save(t)
        return len(t.records) - 1

    def delete_row(self, table: str, index: int) -> None:
        t = self._table(table)
        self._check_index(t, index)
        del t.records[index]
        self._save(t)

    # --- judging and publishing ---
    def changed_files(self) -> list[str]:
        return changed_files(self.folder, self.published)

    def diff(self) -> KbDiff:
        return diff_folders(self.published, self.folder)

    def validate(self) -> list[Problem]:
        return validate_knowledge_base(self.folder)

    def protected(self) -> tuple[ProtectedChange, ...]:
        """Protected rules and safety cases this edit deletes or weakens (each needs a clinical
        sign-off to publish); raises KnowledgeBaseError while the copy does not validate."""
        return protected_changes(load_knowledge_base(self.published),
                                 load_knowledge_base(self.folder))

    def publish(self, note: str | None = None, editor: str | None = None,
                signoff: SignOff | None = None) -> PublishResult:
        """Publish the working copy (see `upperback.publish`), or write nothing. `note` says why
        (required); `signoff` is the clinician's, needed when a protected rule is weakened."""
        if not self.changed_files():
            return PublishResult(False, "No changes: nothing was written.")
        result = publish_folder(self.folder, self.published, reason=note, editor=editor,
                                base_version=self.base_version, signoff=signoff,
                                backup_root=self.backup_root,
                                action="Published from the editor")
        if result.published:
            self.reset()
        return result
