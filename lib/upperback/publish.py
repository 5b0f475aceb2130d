"""Publishing a knowledge base: one transaction, whatever happens to the process.

1. **Lock.** An exclusive `flock` on `.<folder>.lock` beside the published folder: concurrent
   publishes (editor, command line, two machines on one NFS-free disk) queue, and the second one
   sees what the first published. The kernel drops the lock when its process dies, kill -9 too.
2. **Check, under the lock.** The published version must still be the one the edit was made
   from (else nothing is written: the analyst reloads and redoes the edit, no edit is lost); the
   new knowledge base must validate; a change that deletes or weakens a protected rule or safety
   case (`kbdiff.protected_changes`) needs a clinical sign-off (who, why), recorded in the
   knowledge base's own `changelog.csv` together with the date.
3. **Stage.** The complete new folder (source files plus the changelog row) is written beside
   the published one, on the same filesystem, fsynced, and validated again as written.
4. **History.** The current published folder is copied to `<history>/<timestamp>/` (written
   under a temporary name, then renamed), so every published version can be restored.
5. **Swap.** `renameat2(RENAME_EXCHANGE)` swaps the staged and published folders in one atomic
   step: a reader, or a kill at any instant, sees either the whole old or the whole new knowledge
   base. The old folder (now under the staging name) is deleted; anything a killed publish left
   behind is deleted by the next one (`recover`).

Where the kernel or filesystem cannot exchange two names (not Linux), the swap falls back to two
renames with a journal; `recover` (run first by every publish) finishes or undoes a swap that
was interrupted between them.

History, by default: `kb-backups/` in the repository for its own `data/`, else `kb-backups/`
beside the published folder. Why not one git commit per publish: the repository belongs to the
developers (a tool committing to whatever branch is checked out, with whatever is staged, is a
surprise), and a knowledge base published outside a clone has no repository; the changelog
travels inside the data, so `git log data/changelog.csv` and every backup tell the same story.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import errno
import getpass
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ._errors import KnowledgeBaseError, Problem, PublishError
from ._io import save_atomic
from ._loader import default_data_dir, load_knowledge_base
from ._schema import BOM, DESCRIPTOR, read_descriptor
from .kbdiff import CHANGELOG, ProtectedChange, folder_version, protected_changes, signoffs

REPO = Path(__file__).resolve().parents[2]
REPO_DATA = REPO / "data"
#: History of the repository's own `data/` folder.
DEFAULT_BACKUPS = REPO / "kb-backups"
#: How long a publish waits for another one to finish before giving up (seconds).
LOCK_WAIT = 120.0


@dataclass(frozen=True)
class SignOff:
    """A clinician's sign-off for deleting or weakening protected rules: who, and why when it
    adds to the publish's own reason (the date is the publish date). Recorded in
    `changelog.csv` with the changes it covers."""

    by: str
    reason: str = ""


@dataclass(frozen=True)
class PublishResult:
    """What a publish or restore did. `published` False means nothing was written."""

    published: bool
    message: str
    problems: tuple[Problem, ...] = ()
    files: tuple[str, ...] = ()
    old_version: str = ""
    new_version: str = ""
    backup: Path | None = None
    protected: tuple[ProtectedChange, ...] = ()


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
    """Where the history of `published` (default: the published folder) goes unless told
    otherwise: the repository's `kb-backups/` for its own `data/`, else `kb-backups/` beside."""
    folder = Path(published) if published is not None else default_data_dir()
    return DEFAULT_BACKUPS if _is_repo_data(folder) else folder.absolute().parent / "kb-backups"


def list_backups(backup_root: str | os.PathLike[str] | None = None) -> list[Backup]:
    """Earlier published versions, newest first (default: those of the published folder)."""
    root = Path(backup_root) if backup_root is not None else default_backup_root()
    if not root.is_dir():
        return []
    # A damaged backup is still listed, as such; half-written ones (".tmp-...") are not.
    return [Backup(p.name, p, folder_version(p, unreadable="unreadable"))
            for p in sorted(root.iterdir(), reverse=True)
            if not p.name.startswith(".") and (p / DESCRIPTOR).is_file()]


def _now() -> datetime:
    return datetime.now(UTC)


# --- files of a knowledge-base folder -----------------------------------------------------------

def kb_files(folder: Path) -> list[str]:
    """The descriptor and every CSV it declares (and any stray CSV, so validation sees it)."""
    spec = read_descriptor(folder)
    names = {DESCRIPTOR, *(t.path for t in spec.tables.values())}
    names |= {p.name for p in folder.glob("*.csv")}
    return sorted(n for n in names if (folder / n).is_file())


def _digest(folder: Path, names: Sequence[str]) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() if (folder / n).is_file()
            else "" for n in names}


def changed_files(source: Path, published: Path) -> list[str]:
    names = sorted(set(kb_files(source)) | set(kb_files(published)))
    a, b = _digest(source, names), _digest(published, names)
    return [n for n in names if a[n] != b[n]]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_folder(source: Path, target: Path, names: Sequence[str]) -> None:
    """`names` of `source` into the existing folder `target`, each fsynced."""
    for n in names:
        save_atomic(target / n, (source / n).read_bytes())
    _fsync_dir(target)


# --- the lock --------------------------------------------------------------------------------

def lock_path(published: Path) -> Path:
    return published.absolute().parent / f".{published.name}.lock"


@contextlib.contextmanager
def publish_lock(published: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold the publish lock of `published`, waiting up to `wait` seconds for another publish."""
    import fcntl  # POSIX only, like the swap

    path = lock_path(published)
    with path.open("a+b") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PublishError(
                        f"another publish of {published} has held the lock ({path}) for more "
                        f"than {wait:.0f} s: wait for it to finish, then publish again; "
                        "nothing was written") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --- the swap ----------------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names `a` and `b` atomically; False if this system cannot (then nothing moved)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _journal(published: Path) -> Path:
    return published.absolute().parent / f".{published.name}.swap.json"


def _staging_prefix(published: Path) -> str:
    return f".{published.name}.publishing-"


def _swap(staging: Path, published: Path) -> None:
    """Make `staging` the published folder and the published folder `staging`, atomically where
    the system allows it, else by two renames with a journal that `recover` completes."""
    if not _exchange(staging, published):
        journal = _journal(published)
        aside = staging.with_name(staging.name + "-old")
        save_atomic(journal, json.dumps({"new": staging.name, "old": aside.name}))
        published.rename(aside)
        staging.rename(published)
        aside.rename(staging)  # the caller deletes the old folder under the staging name
        journal.unlink()
    _fsync_dir(published.absolute().parent)


def recover(published: Path, backup_root: Path | None = None) -> list[str]:
    """Finish or undo what a killed publish left behind; returns what was done. Call it under
    the lock (every publish does)."""
    parent = published.absolute().parent
    done: list[str] = []
    journal = _journal(published)
    if journal.is_file():
        try:
            names = json.loads(journal.read_text(encoding="utf-8"))
            new, old = parent / names["new"], parent / names["old"]
        except (ValueError, KeyError, TypeError):
            new = old = parent / "\0"  # unreadable journal: written before any rename
        if not published.exists():
            # Killed between the two renames: the new folder is complete (it was staged and
            # validated before the journal was written), so finish the swap.
            (new if new.is_dir() else old).rename(published)
            done.append(f"finished an interrupted swap of {published.name}")
        journal.unlink()
    for p in parent.glob(_staging_prefix(published) + "*"):
        shutil.rmtree(p, ignore_errors=True)
        done.append(f"removed {p.name}")
    for p in parent.glob(f".{journal.name}.*.tmp"):  # a journal killed while being written
        p.unlink(missing_ok=True)
        done.append(f"removed {p.name}")
    root = backup_root if backup_root is not None else default_backup_root(published)
    if root.is_dir():
        for p in root.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {root.name}/{p.name}")
    return done


# --- the changelog -------------------------------------------------------------------------------

def _append_changelog(folder: Path, row: dict[str, str]) -> None:
    """Append `row` to `folder`'s changelog.csv, keeping its BOM and line endings."""
    spec = read_descriptor(folder)
    table = spec.tables[CHANGELOG]
    path = folder / table.path
    raw = path.read_bytes().decode("utf-8")
    newline = "\r\n" if "\r\n" in raw else "\n"
    text = raw.removeprefix(BOM)
    entries = [int(r["entry"]) for r in csv.DictReader(io.StringIO(text))
               if (r.get("entry") or "").strip().isdigit()]
    row = {**row, "entry": str(max(entries, default=0) + 1)}
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerow([row.get(f.name, "")
                                                      for f in table.fields])
    if raw and not raw.endswith(("\n", "\r")):
        raw += newline
    save_atomic(path, raw + out.getvalue())


def _changelog_rows(folder: Path) -> dict[str, tuple[str, ...]]:
    """Entry -> row of `folder`'s changelog.csv ({} when it has none)."""
    path = folder / f"{CHANGELOG}.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {row[0]: tuple(row) for row in list(csv.reader(fh))[1:] if row}


def _missing_entries(source: Path, published: Path) -> list[str]:
    """Changelog entries of `published` that `source` lacks or has otherwise: then `source` was
    copied from an older version, and publishing it would undo someone else's publish."""
    if not (source / f"{CHANGELOG}.csv").is_file():
        return []  # no changelog at all: reported as such after validation
    mine = _changelog_rows(source)
    return [e for e, row in _changelog_rows(published).items() if mine.get(e) != row]


def _signoff_problems(missing: Sequence[ProtectedChange]) -> tuple[Problem, ...]:
    return tuple(Problem(
        "changelog.csv", f"{c} needs a clinical sign-off (who and why): a protected rule or "
        "safety case is deleted or weakened. Publish with a sign-off (editor: 'Signed off by' and "
        "the note; command line: --signoff-by NAME --reason TEXT), or undo the change",
        column="signed_off", value=c.token) for c in missing)


# --- the transaction ---------------------------------------------------------------------------

def _problem_result(problems: Sequence[Problem], what: str) -> PublishResult:
    n = len(problems)
    return PublishResult(False, f"Not published: {n} problem{'s' * (n != 1)} {what}. Nothing "
                         "was written.", tuple(problems))


def publish_folder(source: str | os.PathLike[str],
                   published: str | os.PathLike[str] | None = None, *,
                   reason: str | None, editor: str | None = None,
                   base_version: str | None = None, signoff: SignOff | None = None,
                   backup_root: str | os.PathLike[str] | None = None,
                   action: str = "Published", keep_changelog: bool = False,
                   lock_wait: float = LOCK_WAIT, dry_run: bool = False) -> PublishResult:
    """Make the knowledge base in `source` the published one (see the module docstring), or
    write nothing. `base_version`: the published version the edit was made from (refused with
    PublishError if the published folder has moved on). `keep_changelog`: take the changelog of
    the published folder rather than the source's (a restore keeps the history it restores
    over). `dry_run`: every check, then stop before writing anything. Raises PublishError
    when it cannot publish for a reason outside the data."""
    src = Path(source)
    target = Path(published) if published is not None else default_data_dir()
    root = Path(backup_root) if backup_root is not None else default_backup_root(target)
    reason = " ".join((reason or "").split())
    who = " ".join((editor or "").split()) or getpass.getuser()
    if not target.absolute().parent.is_dir():
        raise PublishError(f"{target} is not a folder: point --data or UPPERBACK_DATA at the "
                           "published knowledge base")
    with publish_lock(target, lock_wait):
        recover(target, root)  # first: it may put back a folder a killed publish moved aside
        if not target.is_dir():
            raise PublishError(f"{target} is not a folder: point --data or UPPERBACK_DATA at "
                               "the published knowledge base")
        old_version = folder_version(target, unreadable="unreadable")
        if base_version is not None and old_version != base_version:
            raise PublishError(
                f"the published knowledge base is now {old_version}, but this edit was made from "
                f"{base_version} (someone else published since): reload, redo the edit on the "
                "new version and publish again; nothing was written")
        lost = [] if keep_changelog else _missing_entries(src, target)
        if lost:
            raise PublishError(
                f"{src} lacks changelog entr{'ies' if len(lost) > 1 else 'y'} "
                f"{', '.join(lost)} of the published knowledge base: it was copied from an older "
                "version (someone else published since). Copy the published folder again, redo "
                "the edit and publish again; nothing was written")
        changed = [n for n in changed_files(src, target)
                   if not (keep_changelog and n == f"{CHANGELOG}.csv")]
        if not changed:
            return PublishResult(False, "No changes: nothing was written.")
        try:
            new_kb = load_knowledge_base(src)  # validates everything (and is cached)
        except KnowledgeBaseError as exc:
            return _problem_result(exc.problems, "to fix first")
        if not reason:
            return PublishResult(False, "Not published: say why in the note (it is recorded in "
                                 "the changelog with who and when). Nothing was written.")
        why = " ".join(signoff.reason.split()) if signoff else ""
        if why and why != reason:
            reason = f"{reason} (sign-off: {why})"
        try:
            old_kb = load_knowledge_base(target)
        except KnowledgeBaseError:
            old_kb = None  # a broken published folder protects nothing (and may be restored)
        if old_kb is not None and CHANGELOG not in read_descriptor(src).tables:
            return _problem_result([Problem(DESCRIPTOR, f"declares no '{CHANGELOG}' resource: "
                                            "every publish is recorded there; copy it from the "
                                            "shipped data/datapackage.json")], "to fix first")
        changes = protected_changes(old_kb, new_kb) if old_kb is not None else ()
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(target), dir=target.parent))
        try:
            others = [p.name for p in target.iterdir() if p.is_file()
                      and not p.name.startswith(".") and p.suffix != ".csv"
                      and p.name != DESCRIPTOR]
            _copy_folder(target, staging, others)  # a README beside the data stays
            _copy_folder(src, staging, kb_files(src))
            if keep_changelog and (target / f"{CHANGELOG}.csv").is_file():
                _copy_folder(target, staging, [f"{CHANGELOG}.csv"])
            if CHANGELOG in read_descriptor(staging).tables:
                _append_changelog(staging, {
                    "date": _now().date().isoformat(), "editor": who, "reason": reason,
                    "from_version": old_version if old_version != "unreadable" else "",
                    "signed_off_by": " ".join(signoff.by.split()) if signoff and changes else "",
                    "signed_off": ";".join(str(c) for c in changes) if signoff else ""})
            try:  # what is installed is exactly what was checked
                staged_kb = load_knowledge_base(staging)
            except KnowledgeBaseError as exc:
                return _problem_result(exc.problems, "in the staged knowledge base")
            missing: tuple[ProtectedChange, ...] = ()
            if old_kb is not None:
                covered = {t for s in signoffs(old_kb, staged_kb) for t in s.covers}
                missing = tuple(c for c in changes if c.token not in covered)
            if missing:
                n = len(missing)
                return PublishResult(
                    False, f"Not published: {n} change{'s' * (n != 1)} to protected rules or "
                    f"safety cases need{'s' * (n == 1)} a clinical sign-off: "
                    f"{'; '.join(map(str, missing))}. Nothing was written.",
                    _signoff_problems(missing), protected=changes)
            new_version = folder_version(staging)
            if dry_run:
                return PublishResult(False, f"Would publish: {', '.join(changed)} "
                                     f"({old_version} -> a new version); nothing was written "
                                     "(dry run).", protected=changes)
            backup = _keep_history(target, root)
            _swap(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # the old folder, or the unpublished one
    files = tuple(sorted({*changed, f"{CHANGELOG}.csv"} & set(kb_files(target))))
    signed = f" Signed off by {signoff.by}." if signoff and changes else ""
    return PublishResult(True, f"{action}: {', '.join(changed)} ({old_version} -> "
                         f"{new_version}). Previous version kept as {backup.name}.{signed}",
                         (), files, old_version, new_version, backup, changes)


def _keep_history(published: Path, root: Path) -> Path:
    """Copy the published folder to `root/<timestamp>`, appearing only once complete."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = _now().strftime("%Y%m%dT%H%M%S%fZ")
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        _copy_folder(published, tmp, [p.name for p in published.iterdir() if p.is_file()
                                      and not p.name.startswith(".")])
        final = root / stamp
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(root)
    return final


def restore_backup(name: str, published: str | os.PathLike[str] | None = None, *,
                   backup_root: str | os.PathLike[str] | None = None,
                   note: str | None = None, editor: str | None = None,
                   signoff: SignOff | None = None) -> PublishResult:
    """Make backup `name` the published knowledge base again: a publish like any other
    (validated, protected rules need a sign-off, the current version kept in the history, a
    changelog row appended to the current changelog, which the restore keeps)."""
    target = Path(published) if published is not None else default_data_dir()
    root = Path(backup_root) if backup_root is not None else default_backup_root(target)
    source = root / name
    if name.startswith(".") or not (source / DESCRIPTOR).is_file():
        raise PublishError(f"there is no backup '{name}' in {root}")
    reason = f"Restored backup {name}" + (f": {note}" if note else "")
    return publish_folder(source, target, reason=reason, editor=editor, signoff=signoff,
                          backup_root=root, action=f"Restored backup {name}",
                          keep_changelog=True)
