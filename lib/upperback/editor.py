"""Safe editing of the knowledge base: a working copy, validation, atomic publish, backups.

Edits go to a working copy in a temporary folder. Publishing validates the whole working copy
(schema, cross-table rules and safety cases) and writes nothing while any problem remains; then
it backs up the published folder to `<backups>/<timestamp>/` (outside the published folder),
replaces each changed file atomically, checks that the published folder validates and appends an
entry to the knowledge-base changelog. The publish is all or nothing for the knowledge base as a
whole: if anything fails (or is interrupted) part-way, every file already replaced is put back
from the backup before the error is raised. Unchanged rows keep their exact text, so a file's
diff shows only what the analyst changed.

Where backups and the changelog go, unless given explicitly: for the repository's own `data/`
folder, `kb-backups/` and `docs/kb-changelog.md` in the repository; for any other published
folder (say `UPPERBACK_DATA=/tmp/copy`), `kb-backups/` and `kb-changelog.md` beside it
(`/tmp/kb-backups/`, `/tmp/kb-changelog.md`), so editing a copy never touches the repository.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ._errors import Problem, PublishError
from ._io import save_atomic
from ._loader import default_data_dir, validate_knowledge_base
from ._schema import DESCRIPTOR, read_descriptor
from .kbdiff import KbDiff, diff_folders, folder_version

REPO = Path(__file__).resolve().parents[2]
REPO_DATA = REPO / "data"
#: Backups and changelog of the repository's own `data/` folder.
DEFAULT_BACKUPS = REPO / "kb-backups"
DEFAULT_CHANGELOG = REPO / "docs" / "kb-changelog.md"
_CHANGELOG_HEAD = ("# Knowledge-base changelog\n\nOne entry per publish or restore, appended by "
                   "the analyst editor (`upperback.editor`). Newest last.\n")


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

    def render(self) -> str:
        out = io.StringIO()
        out.write(self.header_raw if self.header_raw.endswith("\n") else self.header_raw + "\n")
        writer = csv.writer(out, lineterminator="\n")  # minimal quoting, as the shipped files
        for i, rec in enumerate(self.records):
            if rec.raw is None:
                writer.writerow(rec.values)
            else:
                last = i == len(self.records) - 1
                out.write(rec.raw if last or rec.raw.endswith("\n") else rec.raw + "\n")
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


def _digest(folder: Path, names: Sequence[str]) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() if (folder / n).is_file()
            else "" for n in names}


def _files(folder: Path) -> list[str]:
    """The descriptor and every CSV it declares (and any stray CSV, so validation sees it)."""
    spec = read_descriptor(folder)
    names = {DESCRIPTOR, *(t.path for t in spec.tables.values())}
    names |= {p.name for p in folder.glob("*.csv")}
    return sorted(names)


@dataclass(frozen=True)
class PublishResult:
    """What a publish or restore did. `problems` non-empty means nothing was written."""

    published: bool
    message: str
    problems: tuple[Problem, ...] = ()
    files: tuple[str, ...] = ()
    old_version: str = ""
    new_version: str = ""
    backup: Path | None = None


@dataclass(frozen=True)
class Backup:
    name: str
    path: Path
    version: str


def _is_repo_data(published: Path) -> bool:
    try:
        return published.resolve() == REPO_DATA.resolve()
    except OSError:
        return False


def default_backup_root(published: str | os.PathLike[str] | None = None) -> Path:
    """Where backups of `published` (default: the published folder) go unless told otherwise:
    the repository's `kb-backups/` for its own `data/`, else `kb-backups/` beside `published`."""
    folder = Path(published) if published is not None else default_data_dir()
    return DEFAULT_BACKUPS if _is_repo_data(folder) else folder.absolute().parent / "kb-backups"


def default_changelog(published: str | os.PathLike[str] | None = None) -> Path:
    """The changelog of `published` unless told otherwise: the repository's
    `docs/kb-changelog.md` for its own `data/`, else `kb-changelog.md` beside `published`."""
    folder = Path(published) if published is not None else default_data_dir()
    return (DEFAULT_CHANGELOG if _is_repo_data(folder)
            else folder.absolute().parent / "kb-changelog.md")


def list_backups(backup_root: str | os.PathLike[str] | None = None) -> list[Backup]:
    """Backups, newest first (default: those of the published folder)."""
    root = Path(backup_root) if backup_root is not None else default_backup_root()
    if not root.is_dir():
        return []
    # A damaged backup is still listed, as such.
    return [Backup(p.name, p, folder_version(p, unreadable="unreadable"))
            for p in sorted(root.iterdir(), reverse=True) if (p / DESCRIPTOR).is_file()]


def _now() -> datetime:
    return datetime.now(UTC)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return str(exc.strerror or exc)
    return str(exc) or type(exc).__name__


def _roll_back(backup: Path, published: Path, names: Sequence[str]) -> None:
    """Make each of `names` in `published` what it was in `backup` again (absent if absent)."""
    for n in names:
        if (backup / n).is_file():
            if _digest(backup, [n]) != _digest(published, [n]):
                save_atomic(published / n, (backup / n).read_bytes())
        else:
            (published / n).unlink(missing_ok=True)


def _install(source: Path, published: Path, backup_root: Path, changelog: Path, *,
             action: str, note: str | None, editor: str | None) -> PublishResult:
    """Copy the differing files of `source` over `published`, after validation and a backup."""
    names = sorted(set(_files(source)) | set(_files(published)))
    changed = [n for n in names if _digest(source, [n]) != _digest(published, [n])]
    if not changed:
        return PublishResult(False, "No changes: nothing was written.")
    problems = tuple(validate_knowledge_base(source))
    if problems:
        count = len(problems)
        return PublishResult(False, f"Not published: {count} problem{'s' * (count != 1)} to fix "
                             "first. "
                             "Nothing was written.", problems)
    # A broken published folder must not block a restore.
    old_version = folder_version(published, unreadable="unreadable")
    stamp = _now().strftime("%Y%m%dT%H%M%S%fZ")
    backup = backup_root / stamp
    backup.mkdir(parents=True, exist_ok=False)
    try:
        for n in _files(published):
            save_atomic(backup / n, (published / n).read_bytes())
    except BaseException:
        shutil.rmtree(backup, ignore_errors=True)  # nothing published was touched
        raise
    try:
        for n in changed:
            if (source / n).is_file():
                save_atomic(published / n, (source / n).read_bytes())
            else:
                (published / n).unlink(missing_ok=True)
        after = validate_knowledge_base(published)
        if after:
            _roll_back(backup, published, changed)
            count = len(after)
            return PublishResult(False, f"Not published: the installed files did not validate "
                                 f"({count} problem{'s' * (count != 1)}), so the previous files "
                                 "were put back.", tuple(after), backup=backup)
        new_version = folder_version(published)
        tables = sorted({Path(n).stem for n in changed})
        entry = [f"\n## {_now():%Y-%m-%d %H:%M} UTC: {old_version} -> {new_version}\n",
                 f"- {action}",
                 f"- Tables changed: {', '.join(tables)}",
                 f"- Backup of the previous version: {backup_root.name}/{stamp}"]
        if editor:
            entry.append(f"- Editor: {' '.join(editor.split())}")
        if note:
            entry.append(f"- Note: {' '.join(note.split())}")
        current = (changelog.read_text(encoding="utf-8") if changelog.is_file()
                   else _CHANGELOG_HEAD)
        changelog.parent.mkdir(parents=True, exist_ok=True)
        save_atomic(changelog, current + "\n".join(entry) + "\n")  # the last step
    except BaseException as exc:
        try:
            _roll_back(backup, published, changed)
        except BaseException as again:
            raise PublishError(
                f"could not publish to {published} ({_reason(exc)}) nor put the previous files "
                f"back ({_reason(again)}): restore backup {stamp} from {backup_root}") from exc
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: keep their meaning
            raise
        raise PublishError(f"could not publish to {published}: {_reason(exc)}; the previous "
                           "files were put back") from exc
    return PublishResult(True, f"{action}: {', '.join(changed)} ({old_version} -> "
                         f"{new_version}). Previous version backed up as {stamp}.",
                         (), tuple(changed), old_version, new_version, backup)


def restore_backup(name: str, published: str | os.PathLike[str] | None = None, *,
                   backup_root: str | os.PathLike[str] | None = None,
                   changelog: str | os.PathLike[str] | None = None,
                   note: str | None = None) -> PublishResult:
    """Make backup `name` the published knowledge base again (validated; the current version is
    itself backed up first, so a restore can be undone). Backups and changelog default to those
    of `published` (see the module docstring)."""
    target = Path(published) if published is not None else default_data_dir()
    root = Path(backup_root) if backup_root is not None else default_backup_root(target)
    log = Path(changelog) if changelog is not None else default_changelog(target)
    source = root / name
    if not (source / DESCRIPTOR).is_file():
        raise PublishError(f"there is no backup '{name}' in {root}")
    return _install(source, target, root, log,
                    action=f"Restored backup {name}", note=note, editor=None)


class WorkingCopy:
    """A private copy of the published knowledge base to edit, check and publish.

    `backup_root` and `changelog` default to those of `published`: the repository's
    `kb-backups/` and `docs/kb-changelog.md` for its own `data/`, else `kb-backups/` and
    `kb-changelog.md` beside the published folder.
    """

    def __init__(self, published: str | os.PathLike[str] | None = None, *,
                 backup_root: str | os.PathLike[str] | None = None,
                 changelog: str | os.PathLike[str] | None = None) -> None:
        self.published = Path(published) if published is not None else default_data_dir()
        self.backup_root = (Path(backup_root) if backup_root is not None
                            else default_backup_root(self.published))
        self.changelog = (Path(changelog) if changelog is not None
                          else default_changelog(self.published))
        self.folder = Path(tempfile.mkdtemp(prefix="upperback-edit-"))
        self._tables: dict[str, _Table] = {}
        self.reset()

    # --- lifecycle ---
    def reset(self) -> None:
        """Throw away every edit: the working copy becomes the published folder again."""
        for p in self.folder.iterdir():
            p.unlink()
        names = _files(self.published)
        for n in names:
            save_atomic(self.folder / n, (self.published / n).read_bytes())
        self._baseline = _digest(self.published, names)
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
            text = (self.folder / spec.path).read_text(encoding="utf-8")
            header_raw, columns, records = _parse(text)
            self._tables[name] = _Table(name, spec.path, spec.primary_key, header_raw, columns,
                                        records)
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
        names = sorted(set(_files(self.folder)) | set(self._baseline))
        now = _digest(self.folder, names)
        return [n for n in names if now[n] != self._baseline.get(n, "")]

    def diff(self) -> KbDiff:
        return diff_folders(self.published, self.folder)

    def validate(self) -> list[Problem]:
        return validate_knowledge_base(self.folder)

    def publish(self, note: str | None = None, editor: str | None = None) -> PublishResult:
        """Validate, back up, then replace each changed file atomically; or write nothing."""
        if _digest(self.published, list(self._baseline)) != self._baseline:
            raise PublishError(f"{self.published} changed since this working copy was taken "
                               "(someone else published): reload the editor, then redo the edit")
        if not self.changed_files():
            return PublishResult(False, "No changes: nothing was written.")
        result = _install(self.folder, self.published, self.backup_root, self.changelog,
                          action="Published from the editor", note=note, editor=editor)
        if result.published:
            self.reset()
        return result
