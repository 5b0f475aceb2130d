"""Widget builders for the analyst notebooks: the knowledge-base editor, the data dictionary and
the impact of one knowledge base against another. Logic lives in `editor`, `kbdiff`, `cohort`
and `synth`; this face only wires it to widgets. Every callback error becomes a visible message.
"""

from __future__ import annotations

import functools
import html
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w

from . import _model as m
from ._errors import Problem, UpperbackError
from ._loader import default_data_dir, load_knowledge_base
from ._schema import read_descriptor
from .editor import PublishResult, SignOff, WorkingCopy, list_backups, restore_backup
from .kbdiff import Impact, KbDiff, diff_folders, folder_version, impact, impact_of_files

#: Synthetic patients used to show an edit's impact (quick enough to run on every click).
IMPACT_PATIENTS = 2000
IMPACT_SEED = 1


def _e(text: object) -> str:
    return html.escape(str(text))


def _banner(title: str, version: str) -> str:
    # The notebook's own markdown carries the page title; the banner names the panel.
    return (f"<p class='ub-panel'><b>{_e(title)}</b></p>"
            f"<p class='ub-disclaimer'><b>{_e(m.DISCLAIMER)}</b></p>"
            f"<p class='ub-version'>Knowledge base {_e(version)}</p>")


def _note(kind: str, text: str) -> str:
    colour = {"ok": "#1b5e20", "error": "#b71c1c", "info": "#0d47a1"}[kind]
    return f"<div class='ub-{kind}' style='color:{colour}'>{text}</div>"


def _guarded(message: w.HTML) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Show any error of a callback in `message` instead of losing it (Voilà hides tracebacks)."""
    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> None:
            try:
                fn(*args, **kwargs)
            except UpperbackError as exc:
                message.value = _note("error", _e(exc).replace("\n", "<br>"))
            except Exception as exc:  # a bug: say so, never a traceback
                message.value = _note("error", f"Internal error ({_e(type(exc).__name__)}): "
                                      "nothing was written. Please report it.")
        return inner
    return wrap


def problems_html(problems: Sequence[Problem]) -> str:
    rows = "".join(f"<tr><td>{_e(p.file)}</td><td>{_e(p.line or '')}</td>"
                   f"<td>{_e(p.column or '')}</td><td>{_e(p.message)}</td></tr>"
                   for p in problems)
    return ("<table class='ub-problems'><tr><th>file</th><th>line</th><th>column</th>"
            f"<th>problem</th></tr>{rows}</table>")


def diff_html(diff: KbDiff) -> str:
    if diff.empty:
        return "<p>No differences from the published knowledge base.</p>"
    parts = [f"<p>{_e(diff.old_version)} &rarr; {_e(diff.new_version)}</p><ul class='ub-diff'>"]

    def cells(pairs: Sequence[tuple[str, str]]) -> str:
        return "; ".join(f"{_e(c)}: {_e(v)}" for c, v in pairs if v)

    for t in diff.tables:
        items = [f"<li class='ub-added'>added {_e(r.key)} (line {r.line}): {cells(r.cells)}</li>"
                 for r in t.added]
        items += [f"<li class='ub-removed'>removed {_e(r.key)} (was line {r.line}): "
                  f"{cells(r.cells)}</li>" for r in t.removed]
        items += [f"<li class='ub-changed'>changed {_e(c.key)} (line {c.line}):<ul>"
                  + "".join(f"<li>{_e(x.column)}: <del>{_e(x.old)}</del> &rarr; "
                            f"<ins>{_e(x.new)}</ins></li>" for x in c.cells) + "</ul></li>"
                  for c in t.changed]
        items += [f"<li class='ub-duplicate'><b>duplicate id</b> {_e(d)}</li>"
                  for d in t.duplicates]
        items += [f"<li>columns added: {_e(', '.join(t.columns_added))}</li>"] * bool(
            t.columns_added)
        items += [f"<li>columns removed: {_e(', '.join(t.columns_removed))}</li>"] * bool(
            t.columns_removed)
        parts.append(f"<li><b>{_e(t.file)}</b><ul>{''.join(items)}</ul></li>")
    return "".join(parts) + "</ul>"


def impact_html(result: Impact) -> str:
    head = (f"<p class='ub-impact'>{result.changed} of {result.patients} patients change urgency"
            f" ({result.downgrades} downgraded).</p>")
    trans = "".join(
        f"<li{' class=ub-downgrade' if m.urgency_rank(n) < m.urgency_rank(o) else ''}>"
        f"{'<b>DOWNGRADE</b> ' if m.urgency_rank(n) < m.urgency_rank(o) else ''}"
        f"{_e(o)} &rarr; {_e(n)}: {c}</li>" for o, n, c in result.transitions)
    cross = "<tr><th>old \\ new</th>" + "".join(f"<th>{_e(u)}</th>" for u in m.URGENCIES)
    cross += "</tr>" + "".join(
        f"<tr><th>{_e(o)}</th>" + "".join(f"<td>{result.crosstab[o][n]}</td>"
                                          for n in m.URGENCIES) + "</tr>" for o in m.URGENCIES)
    rules = "".join(f"<li>{_e(r.rule_id)}: newly fires for {r.newly_fires}, no longer fires for "
                    f"{r.no_longer_fires}</li>" for r in result.rules)
    missing = result.unsigned
    protected = "".join(
        f"<li>{_e(c)}{' <b>NEEDS CLINICAL SIGN-OFF</b>' if c in missing else ''}</li>"
        for c in result.protected)
    protected += "".join(f"<li>signed off by {_e(s.by)} on {_e(s.date)}: {_e(s.reason)}</li>"
                         for s in result.signoffs)
    cases = "".join(f"<li{' class=ub-downgrade' if c.downgraded else ''}>{_e(c)}</li>"
                    for c in result.cases)
    return (head + (f"<ul>{trans}</ul>" if trans else "") +
            f"<table class='ub-crosstab'>{cross}</table>" +
            (f"<p>Rules behind the changes:</p><ul>{rules}</ul>" if rules else "") +
            (f"<p class='ub-protected'><b>Protected rules and safety cases changed</b> (a "
             f"clinical sign-off is needed to publish):</p><ul>{protected}</ul>"
             if protected else "") +
            (f"<p>Safety and teaching cases that change (urgency, leading causes, treatments):"
             f"</p><ul>{cases}</ul>" if cases else ""))


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
        self.message = w.HTML().add_class("ub-message")
        guard = _guarded(self.message)
        self.header = w.HTML(_banner("Knowledge-base editor", self.copy.version))
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
        self.widget = w.VBox([
            self.header, self.message, self.table, self.grid,
            w.HBox([self.row, self.delete_button, self.add_button, self.reset_button]),
            w.HBox([self.diff_button, self.impact_button]), self.diff_view, self.impact_view,
            w.HBox([self.note, self.editor_name, self.signoff, self.publish_button]),
            self.publish_view,
            w.HBox([self.backups, self.restore_button]),
        ]).add_class("ub-editor")

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
        self.message.value = ""

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
            self.message.value = _note("error", "Choose the row to delete first.")
            return
        index = int(self.row.value)
        key = self.copy.key_of(str(self.table.value), index)
        self.copy.delete_row(str(self.table.value), index)
        self._show_table()
        self.message.value = _note("info", f"Deleted row {_e(key)} from the working copy.")

    def _diff(self, _: object = None) -> None:
        self.diff_view.value = diff_html(self.copy.diff())

    def _impact(self, _: object = None) -> None:
        from .synth import synthetic_cohort

        problems = self.copy.validate()
        if problems:
            self.impact_view.value = (_note("error", "Fix these problems first:")
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
            self.header.value = _banner("Knowledge-base editor", self.copy.version)
            self._show_table()
            self._refresh_backups()

    def _show_result(self, result: PublishResult) -> bool:
        """Problems (nothing written) or the outcome; True when the install went ahead."""
        if result.problems:
            self.publish_view.value = (_note("error", _e(result.message))
                                       + problems_html(result.problems))
            return False
        self.publish_view.value = _note("ok" if result.published else "info", _e(result.message))
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
            self.message.value = _note("error", "There is no backup to restore.")
            return
        self._show_result(restore_backup(str(self.backups.value), self.copy.published,
                                         backup_root=self.backup_root,
                                         note=self.note.value or None,
                                         editor=self.editor_name.value or None,
                                         signoff=self._signoff()))


def editor_app(published: str | os.PathLike[str] | None = None, *,
               backup_root: str | os.PathLike[str] | None = None) -> EditorApp:
    return EditorApp(published, backup_root=backup_root)


class DictionaryApp:
    """The data dictionary, generated from the descriptor: one table at a time, filterable."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_data_dir()
        self.spec = read_descriptor(self.folder)
        self.header = w.HTML(_banner("Data dictionary", folder_version(self.folder)))
        self.table = w.Dropdown(options=[(f"{t.title} ({t.path})", n)
                                         for n, t in self.spec.tables.items()],
                                description="Table")
        self.search = w.Text(description="Filter", placeholder="column name or words")
        self.view = w.HTML().add_class("ub-dictionary")
        self.table.observe(lambda _: self._render(), names="value")
        self.search.observe(lambda _: self._render(), names="value")
        self._render()
        self.widget = w.VBox([self.header, w.HBox([self.table, self.search]), self.view])

    def _render(self) -> None:
        t = self.spec.tables[str(self.table.value)]
        words = self.search.value.strip().lower()
        fields = [f for f in t.fields
                  if not words or words in f.name.lower() or words in f.description.lower()]
        keys = [f"<p>Primary key: {_e(', '.join(t.primary_key))}.</p>"]
        for cols, ref, ref_cols in t.foreign_keys:
            target = self.spec.tables[ref].path if ref in self.spec.tables else ref
            keys.append(f"<p>Foreign key: {_e(', '.join(cols))} refers to "
                        f"{_e(', '.join(ref_cols))} in {_e(target)}.</p>")
        rows = "".join(
            f"<tr><td><code>{_e(f.name)}</code></td><td>{_e(f.type)}</td>"
            f"<td>{'yes' if f.required else 'no'}</td>"
            f"<td>{_e(', '.join(f.enum)) if f.enum else ''}</td><td>{_e(f.description)}</td></tr>"
            for f in fields)
        self.view.value = (
            f"<h3>{_e(t.title)} (<code>{_e(t.path)}</code>)</h3><p>{_e(t.description)}</p>"
            + "".join(keys)
            + "<table><tr><th>column</th><th>type</th><th>required</th><th>allowed values</th>"
            f"<th>description</th></tr>{rows}</table>"
            + ("" if fields else "<p>No column matches the filter.</p>"))


def data_dictionary_app(folder: str | os.PathLike[str] | None = None) -> DictionaryApp:
    return DictionaryApp(folder)


class ImpactApp:
    """Two knowledge-base folders and a cohort: the diff and how urgencies move."""

    def __init__(self, old: str | os.PathLike[str] | None = None,
                 new: str | os.PathLike[str] | None = None,
                 cohort: str | os.PathLike[str] | None = None) -> None:
        data = default_data_dir()
        self.message = w.HTML().add_class("ub-message")
        self.header = w.HTML(_banner("Impact of a knowledge-base change",
                                     f"{folder_version(data, unreadable='unreadable')} "
                                     "(published)"))
        self.old = w.Text(str(old or data), description="Old folder")
        self.new = w.Text(str(new or data), description="New folder")
        self.cohort = w.Text(str(cohort or ""), description="Cohort file",
                             placeholder=f"blank: {IMPACT_PATIENTS} synthetic patients")
        self.button = w.Button(description="Compare", button_style="primary")
        self.diff_view = w.HTML().add_class("ub-diff-view")
        self.impact_view = w.HTML().add_class("ub-impact-view")
        self.button.on_click(_guarded(self.message)(self._compare))
        self.widget = w.VBox([self.header, self.message,
                              w.VBox([self.old, self.new, self.cohort, self.button]),
                              self.diff_view, self.impact_view])

    def _compare(self, _: object = None) -> None:
        from .synth import synthetic_cohort

        self.message.value = ""
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
