"""Widget builders for the analyst notebooks: the knowledge-base editor, the data dictionary and
the impact of one knowledge base against another. Logic lives in `editor`, `kbdiff`, `cohort`
and `synth`; this face only wires it to widgets, on the faces kit (`upperback.widgets.kit`):
the one stylesheet, the footer, the callback guard and autoescaping templates
(`templates/analyst.html.j2`). Every callback error becomes a visible message.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w

from . import _model as m
from . import _render
from ._errors import Problem, UpperbackError
from ._loader import default_data_dir, load_knowledge_base
from ._schema import read_descriptor
from .editor import PublishResult, SignOff, WorkingCopy, list_backups, restore_backup
from .kbdiff import Impact, KbDiff, diff_folders, folder_version, impact, impact_of_files
from .widgets import kit

#: Synthetic patients used to show an edit's impact (quick enough to run on every click).
IMPACT_PATIENTS = 2000
IMPACT_SEED = 1
TEMPLATE = "analyst.html.j2"
#: What the guard adds after an unexpected error (the kit's default speaks of Reset).
EDITOR_HINT = "Nothing was published. Please report this problem."
HINT = "Please report this problem."


def _html(name: str, *args: Any) -> str:
    return _render.macro(TEMPLATE, name, *args)


def _note(kind: str, text: str) -> str:
    """A status line (`ok`, `info` or `error`) that says what it is in words, not colour."""
    return _html("note", kind, text)


def _head(title: str, version: str) -> str:
    return _html("head", title, version)


def _app(children: Sequence[w.Widget], *classes: str) -> w.VBox:
    box = w.VBox([kit.style(), *children])
    for css in ("ub-app", "ub-analyst", *classes):
        box.add_class(css)
    return box


def _section(title: str) -> w.HTML:
    return w.HTML(_html("section", title))


def problems_html(problems: Sequence[Problem]) -> str:
    """The problems that stop a publish, one row each: file, line, column, what to fix."""
    return _html("problems", problems)


def diff_html(diff: KbDiff) -> str:
    """What an edit changes, table by table: rows added, removed and changed cell by cell."""
    return _html("diff", diff)


def _in_words(text: str) -> str:
    """Urgency codes inside the core's change texts, in the kit's words."""
    codes = "|".join(map(re.escape, m.URGENCIES))
    text = re.sub(rf"\b({codes})\b", lambda x: kit.word("urgency", x.group(1)), text)
    return text.replace(" -> ", " \u2192 ")


def impact_html(result: Impact) -> str:
    """How a change moves urgencies (downgrades first), the rules behind it, the protected
    rules and safety cases it weakens (and their sign-off) and the cases that change."""
    transitions = [(o, n, c, m.urgency_rank(n) < m.urgency_rank(o))
                   for o, n, c in result.transitions]
    missing = result.unsigned
    protected = [(c.token, _in_words(c.change), c in missing) for c in result.protected]
    return _html("impact", result, transitions, protected)


class Unavailable:
    """What a builder returns when its folder cannot be read: `widget` says why and what to
    do (Voilà would show neither a traceback nor the reason)."""

    def __init__(self, title: str, message: str) -> None:
        self.message = message
        banner = kit.error_banner()
        kit.show_error(banner, message)
        self.widget = _app([w.HTML(_head(title, "unreadable")), banner, kit.footer("unreadable")])


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, UpperbackError):
        return str(exc)
    where = getattr(exc, "filename", None) or "the folder"
    return f"Cannot read {where}: {getattr(exc, 'strerror', None) or type(exc).__name__}."


def _datagrid() -> Any:
    """ipydatagrid's DataGrid. Its bqplot dependency warns on import about a traitlets
    deprecation it has not fixed; that warning is not ours to act on, so it is muted here only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="traitlets")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="bqscales")
        from ipydatagrid import DataGrid
    return DataGrid


class EditorApp:
    """The knowledge-base editor: grid, add/delete, diff, impact, publish, backups."""

    def __init__(self, published: str | os.PathLike[str] | None = None, *,
                 backup_root: str | os.PathLike[str] | None = None) -> None:
        # The history defaults to that of the published folder (see `upperback.publish`).
        self.copy = WorkingCopy(published, backup_root=backup_root)
        self.backup_root = self.copy.backup_root
        self.message = kit.error_banner().add_class("ub-message")
        guard = kit.guard(self.message, hint=EDITOR_HINT)
        self.header = w.HTML(_head("Knowledge-base editor", self.copy.version))
        self.footer = kit.footer(self.copy.version)
        self.table = w.Dropdown(options=self.copy.tables(), description="Table")
        # The frame shown; read this, not `grid.data` (whose getter uses a pandas deprecation).
        self.frame = self._frame()
        self.grid = _datagrid()(self.frame, editable=True, layout={"height": "320px"},
                             base_column_size=160, selection_mode="cell")
        self.grid.on_cell_change(guard(self._cell_changed))
        self.row = w.Dropdown(description="Row", options=[], layout={"width": "420px"})
        self.add_button = w.Button(description="Add row", icon="plus")
        self.delete_button = w.Button(description="Delete row", icon="trash")
        self.diff_button = w.Button(description="Show changes")
        self.impact_button = w.Button(description="Impact on synthetic cohort",
                                      layout={"width": "auto"})
        self.reset_button = w.Button(description="Discard edits")
        self.note = w.Text(description="Note", placeholder="why this change (for the changelog)",
                           layout={"width": "420px"})
        self.editor_name = w.Text(description="Editor", placeholder="your name",
                                  layout={"width": "260px"})
        # Needed only when a protected (emergency-level) rule or safety case is weakened.
        self.signoff = w.Text(description="Signed off by", placeholder="clinician (protected "
                              "rules only)", layout={"width": "340px"},
                              style={"description_width": "initial"})
        self.publish_button = w.Button(description="Publish", button_style="danger")
        self.backups = w.Dropdown(description="Backups", options=[], layout={"width": "420px"})
        self.restore_button = w.Button(description="Restore backup", layout={"width": "auto"})
        self.diff_view = w.HTML().add_class("ub-diff-view")
        self.impact_view = w.HTML().add_class("ub-impact-view")
        self.publish_view = w.HTML().add_class("ub-publish-view")
        self.table.observe(guard(lambda _: self._show_table()), names="value")
        self.add_button.on_click(guard(self._add))
        self.delete_button.on_click(guard(self._delete))
        self.diff_button.on_click(guard(self._diff))
        self.impact_button.on_click(guard(self._impact))
        self.reset_button.on_click(guard(self._reset))
        self.publish_button.on_click(guard(self._publish))
        self.restore_button.on_click(guard(self._restore))
        self._refresh_rows()
        self._refresh_backups()
        self.widget = _app([
            self.header, self.message,
            _section("Edit a table"), self.table, self.grid,
            w.HBox([self.row, self.delete_button, self.add_button, self.reset_button]),
            _section("Check before publishing"),
            w.HBox([self.diff_button, self.impact_button]), self.diff_view, self.impact_view,
            _section("Publish"),
            w.HBox([self.note, self.editor_name, self.signoff, self.publish_button]),
            self.publish_view,
            _section("Earlier versions"),
            w.HBox([self.backups, self.restore_button]),
            self.footer,
        ], "ub-editor")

    def _frame(self) -> Any:
        import pandas as pd

        name = str(self.table.value) if hasattr(self, "table") else self.copy.tables()[0]
        cols = self.copy.columns(name)
        rows = self.copy.rows(name)
        return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in cols})

    def _refresh_rows(self) -> None:
        name = str(self.table.value)
        options = [(f"line {i + 2}: {self.copy.key_of(name, i)}", i)
                   for i in range(len(self.copy.rows(name)))]
        self.row.options = options
        self.row.value = options[0][1] if options else None

    def _refresh_backups(self) -> None:
        options = [(f"{b.name} ({b.version})", b.name) for b in list_backups(self.backup_root)]
        self.backups.options = options
        self.backups.value = options[0][1] if options else None

    def _show_table(self) -> None:
        self.frame = self._frame()
        self.grid.data = self.frame
        self._refresh_rows()
        kit.clear_error(self.message)

    def _cell_changed(self, cell: dict[str, Any]) -> None:
        value = "" if cell["value"] is None else str(cell["value"])
        self.copy.set_cell(str(self.table.value), int(cell["row"]), str(cell["column"]), value)
        self.message.value = _note("info", "Edited the working copy (not yet published).")

    def _add(self, _: object = None) -> None:
        index = self.copy.add_row(str(self.table.value))
        self._show_table()
        self.message.value = _note("info", f"Added a blank row (line {index + 2}): fill it in "
                                   "the grid.")

    def _delete(self, _: object = None) -> None:
        if self.row.value is None:
            kit.show_error(self.message, "Choose the row to delete first.")
            return
        index = int(self.row.value)
        key = self.copy.key_of(str(self.table.value), index)
        self.copy.delete_row(str(self.table.value), index)
        self._show_table()
        self.message.value = _note("info", f"Deleted row {key} from the working copy.")

    def _diff(self, _: object = None) -> None:
        self.diff_view.value = diff_html(self.copy.diff())

    def _impact(self, _: object = None) -> None:
        from .synth import synthetic_cohort

        problems = self.copy.validate()
        if problems:
            self.impact_view.value = (_note("error", "Fix these problems first.")
                                      + problems_html(problems))
            return
        old = load_knowledge_base(self.copy.published)
        new = load_knowledge_base(self.copy.folder)
        cohort = synthetic_cohort(IMPACT_PATIENTS, IMPACT_SEED, old)
        self.impact_view.value = impact_html(impact(old, new, cohort))

    def _reset(self, _: object = None) -> None:
        self.copy.reset()
        self._show_table()
        self.diff_view.value = self.impact_view.value = ""
        self.message.value = _note("info", "Edits discarded.")

    def _after_install(self, ok: bool) -> None:
        if ok:
            self.copy.reset()
            self.header.value = _head("Knowledge-base editor", self.copy.version)
            self.footer.value = kit.footer(self.copy.version).value
            self._show_table()
            self._refresh_backups()

    def _show_result(self, result: PublishResult) -> bool:
        """Problems (nothing written) or the outcome; True when the install went ahead."""
        if result.problems:
            self.publish_view.value = (_note("error", result.message)
                                       + problems_html(result.problems))
            return False
        self.publish_view.value = _note("ok" if result.published else "info", result.message)
        self._after_install(result.published)
        return True

    def _signoff(self) -> SignOff | None:
        by = self.signoff.value.strip()
        return SignOff(by, self.note.value) if by else None

    def _publish(self, _: object = None) -> None:
        result = self.copy.publish(note=self.note.value or None,
                                   editor=self.editor_name.value or None,
                                   signoff=self._signoff())
        if self._show_result(result) and result.published:
            self.note.value = self.signoff.value = ""

    def _restore(self, _: object = None) -> None:
        if not self.backups.value:
            kit.show_error(self.message, "There is no backup to restore.")
            return
        self._show_result(restore_backup(str(self.backups.value), self.copy.published,
                                         backup_root=self.backup_root,
                                         note=self.note.value or None,
                                         editor=self.editor_name.value or None,
                                         signoff=self._signoff()))


def editor_app(published: str | os.PathLike[str] | None = None, *,
               backup_root: str | os.PathLike[str] | None = None) -> EditorApp | Unavailable:
    try:
        return EditorApp(published, backup_root=backup_root)
    except (UpperbackError, OSError) as exc:
        return Unavailable("Knowledge-base editor", _unreadable(exc))


class DictionaryApp:
    """The data dictionary, generated from the descriptor: one table at a time, filterable."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_data_dir()
        self.spec = read_descriptor(self.folder)
        version = folder_version(self.folder)
        self.message = kit.error_banner().add_class("ub-message")
        self.header = w.HTML(_head("Data dictionary", version))
        self.footer = kit.footer(version)
        self.table = w.Dropdown(options=[(f"{t.title} ({t.path})", n)
                                         for n, t in self.spec.tables.items()],
                                description="Table")
        self.search = w.Text(description="Filter", placeholder="column name or words")
        self.view = w.HTML().add_class("ub-dictionary")
        guard = kit.guard(self.message, hint=HINT, clear_first=True)
        self.table.observe(guard(lambda _: self._render()), names="value")
        self.search.observe(guard(lambda _: self._render()), names="value")
        self._render()
        self.widget = _app([self.header, self.message, w.HBox([self.table, self.search]),
                            self.view, self.footer], "ub-dictionary-app")

    def _render(self) -> None:
        t = self.spec.tables[str(self.table.value)]
        words = self.search.value.strip().lower()
        fields = [f for f in t.fields
                  if not words or words in f.name.lower() or words in f.description.lower()]
        keys = [(cols, ref_cols, self.spec.tables[ref].path if ref in self.spec.tables else ref)
                for cols, ref, ref_cols in t.foreign_keys]
        self.view.value = _html("dictionary", t, fields, keys)


def data_dictionary_app(folder: str | os.PathLike[str] | None = None
                        ) -> DictionaryApp | Unavailable:
    try:
        return DictionaryApp(folder)
    except (UpperbackError, OSError) as exc:
        return Unavailable("Data dictionary", _unreadable(exc))


class ImpactApp:
    """Two knowledge-base folders and a cohort: the diff and how urgencies move."""

    def __init__(self, old: str | os.PathLike[str] | None = None,
                 new: str | os.PathLike[str] | None = None,
                 cohort: str | os.PathLike[str] | None = None) -> None:
        data = default_data_dir()
        published = folder_version(data, unreadable="unreadable")
        self.message = kit.error_banner().add_class("ub-message")
        self.header = w.HTML(_head("Impact of a knowledge-base change",
                                   f"{published} (published)"))
        self.footer = kit.footer(published)
        self.old = w.Text(str(old or data), description="Old folder")
        self.new = w.Text(str(new or data), description="New folder")
        self.cohort = w.Text(str(cohort or ""), description="Cohort file",
                             placeholder=f"blank: {IMPACT_PATIENTS} synthetic patients")
        for box in (self.old, self.new, self.cohort):
            box.layout = w.Layout(width="40em")  # the stylesheet narrows it on a phone
        self.button = w.Button(description="Compare", button_style="primary")
        self.diff_view = w.HTML().add_class("ub-diff-view")
        self.impact_view = w.HTML().add_class("ub-impact-view")
        self.button.on_click(kit.guard(self.message, hint=HINT, clear_first=True)(self._compare))
        self.widget = _app([self.header, self.message, _section("Compare two knowledge bases"),
                            w.VBox([self.old, self.new, self.cohort, self.button]),
                            self.diff_view, self.impact_view, self.footer], "ub-impact-app")

    def _compare(self, _: object = None) -> None:
        from .synth import synthetic_cohort

        self.diff_view.value = self.impact_view.value = ""
        old, new = Path(self.old.value.strip()), Path(self.new.value.strip())
        self.diff_view.value = diff_html(diff_folders(old, new))
        cohort_path = self.cohort.value.strip()
        if cohort_path:
            result = impact_of_files(old, new, cohort_path)
        else:
            kb_old = load_knowledge_base(old)
            result = impact_of_files(old, new, synthetic_cohort(IMPACT_PATIENTS, IMPACT_SEED,
                                                                kb_old))
        self.impact_view.value = impact_html(result)


def impact_app(old: str | os.PathLike[str] | None = None,
               new: str | os.PathLike[str] | None = None,
               cohort: str | os.PathLike[str] | None = None) -> ImpactApp:
    return ImpactApp(old, new, cohort)
