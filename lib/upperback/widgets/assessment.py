"""The assessment dashboard: red-flag checklist, urgency banner, explained results, export and
import. Build it with `build_assessment()`; every piece is a widget tests can drive."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any

import ipywidgets as w
from ipywidgets.widgets.widget_selection import ToggleButtonsStyle
from ipywidgets.widgets.widget_string import HTMLStyle

from .. import _render, export
from .._config import emergency_number
from .._engine import Assessment, assess
from .._errors import InputFileError
from .._loader import load_knowledge_base
from .._model import Finding, KnowledgeBase, urgency_rank
from . import _common as c

YES, NO = "Yes", "No"
RED_FLAG_HISTORY = "Red-flag history (part of the emergency screen)"


#: Causes listed in full; the rest sit in a collapsed list below them.
SHOWN_CAUSES = _render.SHOWN_CAUSES


def _emergency_findings(kb: KnowledgeBase) -> set[str]:
    """Findings in a rule that sends to an emergency department or calls an ambulance."""
    top = urgency_rank("emergency")
    return {f for r in kb.rules.values() if urgency_rank(r.urgency) >= top for f in r.findings}


def checklist_sections(kb: KnowledgeBase) -> list[tuple[str, str, list[Finding]]]:
    """(title, kind, findings) in screen order: emergency red flags, see-a-provider signs, the
    history questions that take part in emergency rules, then history by section."""
    emergency_ids = _emergency_findings(kb)
    ordered = kb.findings_in_order()
    out: list[tuple[str, str, list[Finding]]] = [
        ("Emergency red flags", "emergency",
         [f for f in ordered if f.kind in ("ambulance", "emergency")]),
        ("Same-day signs", "urgent", [f for f in ordered if f.kind == "urgent"]),
        ("See-a-provider signs", "see_provider",
         [f for f in ordered if f.kind == "see_provider"]),
    ]
    history = [f for f in ordered if f.kind == "history"]
    red = [f for f in history if f.finding_id in emergency_ids]
    if red:
        out.append((RED_FLAG_HISTORY, "emergency", red))
    sections: dict[str, list[Finding]] = {}
    for f in history:
        if f.finding_id not in emergency_ids:
            sections.setdefault(f.section, []).append(f)
    out.extend((f"History: {name}", "history", items) for name, items in sections.items())
    return [s for s in out if s[2]]


class AssessmentApp(w.VBox):  # type: ignore[misc]
    """The assessment dashboard. `controls[finding_id]` is the Yes/No toggle of each finding."""

    def __init__(self, kb: KnowledgeBase, *, number: str | None = None) -> None:
        self.kb = kb
        self.number = number or emergency_number()
        self.emergency_ids = _emergency_findings(kb)
        self.controls: dict[str, w.ToggleButtons] = {}
        self.clear_buttons: dict[str, w.Button] = {}
        self.rows: dict[str, w.HBox] = {}
        self._bulk = False
        self.assessment: Assessment | None = None
        self.imported_version: str | None = None
        # One Layout/Style model shared by all rows: each model is a round trip when the page
        # loads, and the checklist has about 40 rows.
        self._row_layout = w.Layout(align_items="center")
        self._text_layout = w.Layout(flex="1 1 0", min_width="0")
        self._toggle_layout = w.Layout(flex="0 0 auto", width="auto")
        self._clear_layout = w.Layout(flex="0 0 auto", width="4.6em")
        self._html_style = HTMLStyle()
        self._toggle_style = ToggleButtonsStyle(button_width="3.6em")
        self._button_style = w.ButtonStyle()

        self.error = c.error_banner()
        self.guard = c.guard(self.error)
        self.banner = w.HTML()
        self.banner.add_class("ub-banner-box")
        self.results = w.HTML()
        self.results.add_class("ub-results-body")
        self.reset_button = w.Button(description="Reset: new assessment", icon="",
                                     tooltip="Clear every answer and the note",
                                     layout=w.Layout(width="auto"))
        self.reset_button.add_class("ub-reset")
        self.reset_button.on_click(self.guard(lambda _b: self.reset()))

        self.assessor = w.Text(description="Assessor", placeholder="optional name",
                               layout=w.Layout(width="95%"))
        self.assessor.add_class("ub-assessor")
        self.note = w.Textarea(description="Note", placeholder="optional free-text note for "
                               "the report", layout=w.Layout(width="95%", height="4.5em"))
        self.note.add_class("ub-note")
        self.downloads = w.HTML()
        self.downloads.add_class("ub-downloads")
        self.upload = w.FileUpload(accept=".json,application/json", multiple=False,
                                   description="Load saved QuestionnaireResponse (.json)",
                                   layout=w.Layout(width="auto"))
        self.upload.add_class("ub-upload")
        self.import_status = w.HTML()
        self.import_status.add_class("ub-import-status")
        for field in (self.assessor, self.note):
            field.observe(self.guard(lambda _ch: self._refresh_downloads()), names="value")
        self.upload.observe(self.guard(self._on_upload), names="value")

        checklist = w.VBox([self._section(*s) for s in checklist_sections(kb)],
                           layout=w.Layout(flex="1 1 55%", min_width="420px"))
        checklist.add_class("ub-checklist")
        export_box = w.VBox([
            w.HTML("<h3>Export and import</h3><p class='ub-help'>Downloads are made in your "
                   "browser; nothing is saved on the server.</p>"),
            self.assessor, self.note, self.downloads, self.upload, self.import_status])
        export_box.add_class("ub-export")
        side = w.VBox([c.footer(kb), self.banner, self.reset_button, self.results, export_box],
                      layout=w.Layout(flex="1 1 45%", min_width="360px", padding="0 0 0 1em"))
        side.add_class("ub-results")
        columns = w.HBox([checklist, side])
        columns.add_class("ub-columns")
        super().__init__([c.style(), self.error, columns, c.footer(kb)])
        self.add_class("ub-app")
        self.add_class("ub-assessment")
        self.refresh()

    # -- building -------------------------------------------------------------------------
    def _section(self, title: str, kind: str, findings: list[Finding]) -> w.VBox:
        intro = {
            "emergency": "Any yes here means an ambulance or the emergency department. "
                         "Answer every one.",
            "urgent": "A yes means the patient should be seen today.",
            "see_provider": "A yes means a clinical review within days.",
        }.get(kind, "")
        head = w.HTML(f"<h3>{escape(title)}</h3>"
                      + (f"<p class='ub-help'>{escape(intro)}</p>" if intro else ""))
        box = w.VBox([head, *(self._question(f) for f in findings)])
        box.add_class(f"ub-section-{kind}")
        return box

    def _question(self, f: Finding) -> w.HBox:
        fid = f.finding_id
        badge = ("<span class='ub-badge'>Emergency screen</span>"
                 if fid in self.emergency_ids and f.kind not in ("ambulance", "emergency")
                 else "")
        text = w.HTML(f"<div id='q-{escape(fid)}'>{badge}<strong>{escape(f.label)}</strong>"
                      f"<div class='ub-help'>{escape(f.help)}</div></div>",
                      layout=self._text_layout, style=self._html_style)
        toggle = w.ToggleButtons(options=[YES, NO], value=None,
                                 tooltips=[f"Yes: {f.label}", f"No: {f.label}"],
                                 style=self._toggle_style, layout=self._toggle_layout)
        toggle.add_class("ub-answer")
        clear = w.Button(description="Clear", tooltip=f"Clear the answer: {f.label}",
                         layout=self._clear_layout, style=self._button_style)
        clear.add_class("ub-clear")
        toggle.observe(self.guard(lambda _ch: self.refresh()), names="value")
        clear.on_click(self.guard(lambda _b, t=toggle: setattr(t, "value", None)))
        row = w.HBox([text, toggle, clear], layout=self._row_layout)
        row.add_class(f"finding-{fid}")
        row.add_class("ub-question")
        self.controls[fid], self.clear_buttons[fid], self.rows[fid] = toggle, clear, row
        return row

    # -- state ------------------------------------------------------------------------------
    def answers(self) -> dict[str, bool]:
        return {fid: t.value == YES for fid, t in self.controls.items() if t.value is not None}

    def set_answers(self, answers: Mapping[str, bool]) -> None:
        """Replace every answer at once (ids not given become unanswered); one refresh."""
        self._bulk = True
        try:
            for fid, toggle in self.controls.items():
                v = answers.get(fid)
                toggle.value = None if v is None else (YES if v else NO)
        finally:
            self._bulk = False
        self.refresh()

    def reset(self) -> None:
        self.note.value = ""
        self.import_status.value = ""
        c.clear_error(self.error)
        self.set_answers({})

    def refresh(self) -> None:
        if self._bulk:
            return
        a = assess(self.answers(), self.kb, emergency_number=self.number)
        self.assessment = a
        # The banner first: it is what a clinician (and the latency benchmark) waits for.
        self.banner.value = self._banner_html(a)
        self.results.value = self._results_html(a)
        self._refresh_downloads()

    # -- rendering: shared with the printable report (`upperback._render`) -----------------
    def _banner_html(self, a: Assessment) -> str:
        return _render.banner_html(a, self.kb, _render.SCREEN)

    def _results_html(self, a: Assessment) -> str:
        return _render.results_html(a, self.kb, _render.SCREEN)

    # -- export and import ------------------------------------------------------------------
    def export_html(self, when: datetime | None = None) -> str:
        assert self.assessment is not None
        return export.render_html(self.assessment, self.kb, assessor=self.assessor.value or None,
                                  note=self.note.value or None, when=when)

    def export_fhir(self, when: datetime | None = None) -> dict[str, Any]:
        assert self.assessment is not None
        return export.questionnaire_response(self.assessment, self.kb,
                                             assessor=self.assessor.value or None,
                                             note=self.note.value or None, when=when)

    def _refresh_downloads(self) -> None:
        if self.assessment is None:
            return
        when = datetime.now().astimezone()
        stamp = when.strftime("%Y%m%d-%H%M")
        report = base64.b64encode(self.export_html(when).encode("utf-8")).decode("ascii")
        fhir = base64.b64encode(json.dumps(self.export_fhir(when), indent=2).encode("utf-8"))
        # data: links are built in the kernel and saved by the browser: nothing touches the
        # server's disk.
        self.downloads.value = (
            "<div class='ub-dl'>"
            f"<a class='ub-download-html' download='upperback-assessment-{stamp}.html' "
            f"href='data:text/html;charset=utf-8;base64,{report}'>Download report (HTML, "
            "printable)</a>"
            f"<a class='ub-download-fhir' download='upperback-assessment-{stamp}.json' "
            f"href='data:application/fhir+json;base64,{fhir.decode('ascii')}'>Download FHIR "
            "QuestionnaireResponse (JSON)</a>"
            f"<div class='ub-help'>Stamped {escape(when.strftime('%Y-%m-%d %H:%M %Z'))}; "
            "updated with every answer.</div></div>")

    def load_questionnaire_response(self, raw: bytes, name: str = "the file") -> int:
        """Load answers from an exported QuestionnaireResponse; returns how many were loaded."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InputFileError(f"{name} is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{name} is not valid JSON (line {exc.lineno}, column "
                                 f"{exc.colno}: {exc.msg})") from None
        got = export.read_response(data, self.kb)
        self.set_answers(got.answers)
        # The form's own note and assessor come back too (an empty one leaves the field alone).
        self.note.value = got.note or self.note.value
        self.assessor.value = got.assessor or self.assessor.value
        self.imported_version = got.kb_version
        return len(got.answers)

    def _on_upload(self, change: Mapping[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        name = str(f.get("name", "the file"))
        try:
            n = self.load_questionnaire_response(bytes(f["content"]), name)
        except InputFileError as exc:
            c.log.warning("import refused: %s", type(exc).__name__)
            self.import_status.value = (
                f"<div class='ub-error' role='alert'><strong>Could not load "
                f"{escape(name)}:</strong> {escape(str(exc))}. The answers were not changed."
                "</div>")
        else:
            old = self.imported_version
            notice = ("" if old == self.kb.version else
                      f" <strong>Note:</strong> it was made with knowledge base "
                      f"{escape(old or 'of unknown version')}; this assessment uses "
                      f"{escape(self.kb.version)}, so the advice may differ.")
            self.import_status.value = (f"<div class='ub-ok' role='status'>Loaded {n} answers "
                                        f"from {escape(name)}.{notice}</div>")
        finally:
            self.upload.value = ()  # so the same file can be loaded again


def build_assessment(kb: KnowledgeBase | None = None) -> AssessmentApp | w.VBox:
    """The assessment dashboard, or a clear message if the knowledge base cannot be loaded."""
    loaded = kb if kb is not None else c.load_or_message(load_knowledge_base)
    if isinstance(loaded, w.VBox):
        return loaded
    return AssessmentApp(loaded)
