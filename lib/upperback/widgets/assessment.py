"""The assessment dashboard: demographics, the red-flag checklist, a first screen readable in ten
seconds (urgency, top causes, next steps) with everything else one click away, export and
import. Build it with `build_assessment()`; every piece is a widget tests can drive.

The page script of our Voilà template (share/jupyter/voila/templates/upperback) adds what only
a browser can do: `aria-pressed` and arrow keys on the answer buttons, the disconnection
banner, the answers kept in the page's sessionStorage (`.ub-state` -> storage, storage ->
`.ub-restore`) and the prompt before leaving a page with answers.
"""

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
from .._model import AGE_RANGE, SEXES, Finding, KnowledgeBase, urgency_rank
from . import _common as c

YES, NO = "Yes", "No"
RED_FLAG_HISTORY = "Red-flag history (part of the emergency screen)"
NO_TO_REST = "No to the rest of this section"
SEX_OPTIONS = (("Not recorded", ""), *((_render.word("sex", x), x) for x in SEXES))

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


def parse_age(text: str) -> int | None:
    """Whole years from the age field; blank is "not given". Raises ValueError with a message
    saying what to type (the value itself is not repeated)."""
    text = text.strip()
    if not text:
        return None
    lo, hi = AGE_RANGE
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise ValueError(f"Age must be a whole number of years from {lo} to {hi}, or blank.")
    return int(text)


class AssessmentApp(w.VBox):  # type: ignore[misc]
    """The assessment dashboard. `controls[finding_id]` is the Yes/No toggle of each finding;
    `no_to_rest[title]` the "No to the rest of this section" button of each section."""

    def __init__(self, kb: KnowledgeBase, *, number: str | None = None) -> None:
        self.kb = kb
        self.number = number or emergency_number()
        self.emergency_ids = _emergency_findings(kb)
        self.controls: dict[str, w.ToggleButtons] = {}
        self.clear_buttons: dict[str, w.Button] = {}
        self.rows: dict[str, w.HBox] = {}
        self.sections: dict[str, list[str]] = {}
        self.no_to_rest: dict[str, w.Button] = {}
        self._bulk = False
        self.assessment: Assessment | None = None
        self.imported_version: str | None = None
        # One Layout/Style model shared by all rows: each model is a round trip when the page
        # loads, and the checklist has about 40 rows.
        self._row_layout = w.Layout(align_items="center")
        self._text_layout = w.Layout(flex="1 1 14em", min_width="0")
        self._toggle_layout = w.Layout(flex="0 0 auto", width="auto")
        self._clear_layout = w.Layout(flex="0 0 auto", width="auto")
        self._html_style = HTMLStyle()
        self._toggle_style = ToggleButtonsStyle(button_width="5em")
        self._button_style = w.ButtonStyle()

        self.error = c.error_banner()
        self.guard = c.guard(self.error)
        # The first screen (urgency, top causes, next steps) and, one click away, the rest.
        self.banner = w.HTML()
        self.banner.add_class("ub-banner-box")
        self.results = w.HTML()
        self.results.add_class("ub-results-body")
        # The whole report, shown only when the page is printed.
        self.printable = w.HTML()
        self.printable.add_class("ub-print-only")
        # What the page script keeps in sessionStorage, and where it hands it back.
        self.state = w.HTML()
        self.state.add_class("ub-state")
        self.restore = w.Text(layout=w.Layout(display="none"))
        self.restore.add_class("ub-restore")
        self.restore.observe(self.guard(self._on_restore), names="value")

        self.reset_button = w.Button(description="Reset: new assessment",
                                     tooltip="Clear every answer, the demographics and the note",
                                     layout=w.Layout(width="auto"))
        self.reset_button.add_class("ub-reset")
        self.reset_button.on_click(self.guard(lambda _b: self.reset()))

        self.age = w.Text(description="Age (years)", placeholder="e.g. 34",
                          layout=w.Layout(width="14em"), style={"description_width": "initial"})
        self.age.add_class("ub-age")
        self.sex = w.Dropdown(options=list(SEX_OPTIONS), value="", description="Sex",
                              layout=w.Layout(width="14em"),
                              style={"description_width": "initial"})
        self.sex.add_class("ub-sex")
        self.age_message = w.HTML()
        self.age_message.add_class("ub-age-message")
        self.patient_id = w.Text(description="Patient identifier (optional, exports only)",
                                 placeholder="e.g. hospital number",
                                 layout=w.Layout(width="28em", max_width="100%"),
                                 style={"description_width": "initial"})
        self.patient_id.add_class("ub-patient-id")
        for field in (self.age, self.sex):
            field.observe(self.guard(lambda _ch: self.refresh()), names="value")

        self.assessor = w.Text(description="Assessor", placeholder="optional name",
                               layout=w.Layout(width="95%"))
        self.assessor.add_class("ub-assessor")
        self.note = w.Textarea(description="Note", placeholder="optional free-text note for "
                               "the report", layout=w.Layout(width="95%", height="4.5em"))
        self.note.add_class("ub-note")
        # FHIR references for the EHR (exports only, like the patient identifier: never kept
        # in the browser's storage): "Encounter/123", "SYSTEM|VALUE" or a plain value.
        self.encounter = w.Text(description="Encounter", placeholder="optional, e.g. "
                                "Encounter/123 (exports only)", layout=w.Layout(width="95%"))
        self.encounter.add_class("ub-encounter")
        self.author = w.Text(description="Author", placeholder="optional, e.g. "
                             "Practitioner/9 (exports only)", layout=w.Layout(width="95%"))
        self.author.add_class("ub-author")
        self.downloads = w.HTML()
        self.downloads.add_class("ub-downloads")
        self.upload = w.FileUpload(accept=".json,application/json", multiple=False,
                                   description="Load saved QuestionnaireResponse (.json)",
                                   layout=w.Layout(width="auto", max_width="100%"))
        self.upload.add_class("ub-upload")
        self.import_status = w.HTML()
        self.import_status.add_class("ub-import-status")
        for text in (self.assessor, self.note, self.patient_id, self.encounter, self.author):
            text.observe(self.guard(lambda _ch: self._after_text()), names="value")
        self.upload.observe(self.guard(self._on_upload), names="value")

        demographics = w.HBox([self.age, self.sex, self.patient_id])
        demographics.add_class("ub-demographics")
        head = w.VBox([w.HTML("<h2>Patient</h2>"), demographics, self.age_message])
        head.add_class("ub-screen-only")
        checklist = w.VBox([w.HTML("<h2>Checklist</h2><p class='ub-help'>Each question starts "
                                   "unanswered. <a href='#ub-result'>Go to the result</a></p>"),
                            *(self._section(*s) for s in checklist_sections(kb))])
        checklist.add_class("ub-checklist")
        checklist.add_class("ub-screen-only")
        export_box = w.VBox([
            w.HTML("<h2>Export and import</h2><p class='ub-help'>Downloads are made in your "
                   "browser; nothing is saved on the server.</p>"),
            self.assessor, self.note, self.encounter, self.author, self.downloads, self.upload,
            self.import_status])
        export_box.add_class("ub-export")
        side = w.VBox([w.HTML("<h2 id='ub-result'>Result</h2>"), self.banner,
                       self.reset_button, self.results, export_box])
        side.add_class("ub-results")
        side.add_class("ub-screen-only")
        columns = w.HBox([checklist, side])
        columns.add_class("ub-columns")
        super().__init__([c.style(), self.error, head, columns, self.printable, self.state,
                          self.restore, c.footer(kb)])
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
        ids = [f.finding_id for f in findings]
        rest = w.Button(description=NO_TO_REST, layout=w.Layout(width="auto"),
                        tooltip=f"Answer No to every unanswered question of: {title}")
        rest.add_class("ub-no-to-rest")
        rest.on_click(self.guard(lambda _b: self.answer_rest_no(title)))
        actions = w.HBox([rest])
        actions.add_class("ub-section-actions")
        box = w.VBox([head, *(self._question(f) for f in findings), actions])
        box.add_class("ub-section")
        box.add_class(f"ub-section-{kind}")
        self.sections[title] = ids
        self.no_to_rest[title] = rest
        return box

    def _question(self, f: Finding) -> w.HBox:
        fid = f.finding_id
        badge = ("<span class='ub-badge'>Emergency screen</span>"
                 if fid in self.emergency_ids and f.kind == "history" else "")
        text = w.HTML(f"<div id='q-{escape(fid)}' class='ub-qlabel'>{badge}"
                      f"<strong>{escape(f.label)}</strong>"
                      f"<div class='ub-help'>{escape(f.help)}</div></div>",
                      layout=self._text_layout, style=self._html_style)
        text.add_class("ub-qtext")
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
        """The answers given on the checklist (questions filled in from the age left out: the
        engine derives them)."""
        return {fid: t.value == YES for fid, t in self.controls.items()
                if t.value is not None and not t.disabled}

    def _follow_age(self, age: int | None) -> None:
        """With an age, "aged N or older" questions show the answer derived from it and are
        locked; without one they are open again (and unanswered)."""
        for fid, toggle in self.controls.items():
            min_age = self.kb.findings[fid].min_age
            if min_age is None:
                continue
            if age is not None:
                toggle.value = YES if age >= min_age else NO
                toggle.disabled = True
                self.clear_buttons[fid].disabled = True
            elif toggle.disabled:
                toggle.disabled = False
                self.clear_buttons[fid].disabled = False
                toggle.value = None

    def demographics(self) -> dict[str, Any]:
        """Age and sex as the engine takes them (only those given); a bad age shows a message
        beside the field and is left out."""
        out: dict[str, Any] = {}
        try:
            age = parse_age(self.age.value)
        except ValueError as exc:
            self.age_message.value = (f"<div class='ub-error' role='alert'>{escape(str(exc))}"
                                      "</div>")
        else:
            self.age_message.value = ""
            if age is not None:
                out["age"] = age
            bulk, self._bulk = self._bulk, True
            try:
                self._follow_age(age)
            finally:
                self._bulk = bulk
        if self.sex.value:
            out["sex"] = self.sex.value
        return out

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

    def answer_rest_no(self, title: str) -> int:
        """Record an explicit No for every unanswered question of one section (answers given
        are kept); returns how many were answered."""
        current = self.answers()
        todo = [fid for fid in self.sections[title]
                if fid not in current and not self.controls[fid].disabled]
        if todo:
            self.set_answers({**current, **dict.fromkeys(todo, False)})
        return len(todo)

    def reset(self) -> None:
        self._bulk = True
        try:
            for field in (self.note, self.assessor, self.patient_id, self.encounter, self.author,
                          self.age):
                field.value = ""
            self.sex.value = ""
        finally:
            self._bulk = False
        self.import_status.value = ""
        c.clear_error(self.error)
        self.set_answers({})

    def refresh(self) -> None:
        if self._bulk:
            return
        a = assess({**self.answers(), **self.demographics()}, self.kb,
                   emergency_number=self.number)
        self.assessment = a
        # The first screen first: it is what a clinician (and the latency benchmark) waits for.
        self.banner.value = _render.summary_html(a, self.kb, _render.SCREEN)
        self.results.value = _render.details_html(a, self.kb, _render.SCREEN)
        self._after_text()

    def _after_text(self) -> None:
        if self._bulk or self.assessment is None:
            return
        when = datetime.now().astimezone()
        self.printable.value = self._report_body(when)
        self._refresh_downloads(when)
        self._refresh_state()

    def _report_body(self, when: datetime) -> str:
        a = self.assessment
        assert a is not None
        return _render.report_body_html(a, self.kb, assessor=self.assessor.value or None,
                                        note=self.note.value or None,
                                        patient_id=self.patient_id.value or None, when=when)

    # -- what the browser keeps (sessionStorage of this page only; never the server) --------
    def snapshot(self) -> dict[str, Any]:
        """Answers, demographics, assessor and note, for the page to keep in its session
        storage. The patient identifier is left out: it goes into exports only."""
        return {"answers": self.answers(), "age": self.age.value, "sex": self.sex.value,
                "assessor": self.assessor.value, "note": self.note.value}

    def _refresh_state(self) -> None:
        snap = self.snapshot()
        n = len(snap["answers"]) + sum(bool(snap[k]) for k in ("age", "sex", "assessor", "note"))
        self.state.value = (f"<div class='ub-state-data' hidden data-count='{n}' "
                            f"data-state='{escape(json.dumps(snap), quote=True)}'></div>")

    def restore_snapshot(self, snap: Mapping[str, Any]) -> int:
        """Put back what `snapshot()` gave (unknown questions and bad values are refused with
        an error naming them); returns how many answers were restored."""
        answers = snap.get("answers", {})
        if not isinstance(answers, Mapping):
            raise InputFileError("the kept answers are not a mapping of question to yes/no")
        bad = [k for k, v in answers.items() if k not in self.controls or not isinstance(v, bool)]
        if bad:
            raise InputFileError(f"the kept answers name {len(bad)} unknown question(s) or "
                                 "hold a value other than yes/no; nothing was restored")
        self._bulk = True
        try:
            self.age.value = str(snap.get("age") or "")
            sex = snap.get("sex") or ""
            self.sex.value = sex if sex in {v for _k, v in SEX_OPTIONS} else ""
            self.assessor.value = str(snap.get("assessor") or "")
            self.note.value = str(snap.get("note") or "")
        finally:
            self._bulk = False
        self.set_answers(dict(answers))
        return len(answers)

    def _on_restore(self, change: Mapping[str, Any]) -> None:
        raw = change["new"]
        if not raw:
            return
        try:
            snap = json.loads(raw)
            if not isinstance(snap, Mapping):
                raise InputFileError("the kept answers are not a JSON object")
            n = self.restore_snapshot(snap)
        except (json.JSONDecodeError, InputFileError) as exc:
            c.log.warning("restore refused: %s", type(exc).__name__)
            self.import_status.value = ("<div class='ub-error' role='alert'>Could not restore "
                                        "the answers kept in this browser. Nothing was "
                                        "changed.</div>")
        else:
            self.import_status.value = (f"<div class='ub-ok' role='status'>Restored {n} "
                                        "answers kept in this browser.</div>")
        finally:
            self.restore.value = ""

    # -- export and import ------------------------------------------------------------------
    def _who(self) -> dict[str, Any]:
        return {"assessor": self.assessor.value or None, "note": self.note.value or None}

    def export_html(self, when: datetime | None = None) -> str:
        assert self.assessment is not None
        return export.render_html(self.assessment, self.kb, when=when, **self._who(),
                                  patient_id=self.patient_id.value.strip() or None)

    def export_fhir(self, when: datetime | None = None) -> dict[str, Any]:
        """The FHIR Bundle an EHR takes: the QuestionnaireResponse (the answers) and the
        RiskAssessment that references it; the patient identifier becomes their subject."""
        assert self.assessment is not None
        return export.assessment_bundle(self.assessment, self.kb, when=when, **self._who(),
                                        patient=self.patient_id.value.strip() or None,
                                        encounter=self.encounter.value.strip() or None,
                                        author=self.author.value.strip() or None)

    def _refresh_downloads(self, when: datetime | None = None) -> None:
        if self.assessment is None:
            return
        when = when or datetime.now().astimezone()
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
            "Bundle (answers and assessment, JSON)</a>"
            f"<div class='ub-help'>Stamped {escape(when.strftime('%Y-%m-%d %H:%M %Z'))}; "
            "updated with every answer. To print the whole report, print this page.</div></div>")

    def load_questionnaire_response(self, raw: bytes, name: str = "the file") -> int:
        """Load answers, assessor and note from an exported QuestionnaireResponse; returns how
        many answers were loaded."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InputFileError(f"{name} is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{name} is not valid JSON (line {exc.lineno}, column "
                                 f"{exc.colno}: {exc.msg})") from None
        got = export.read_response(data, self.kb)
        # The form's note, assessor, age and sex come back too (an empty one leaves the
        # field alone).
        self._bulk = True
        try:
            self.note.value = got.note or self.note.value
            self.assessor.value = got.assessor or self.assessor.value
            if got.age is not None:
                self.age.value = str(got.age)
            if got.sex:
                self.sex.value = got.sex
        finally:
            self._bulk = False
        self.set_answers(got.answers)
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


__all__ = ["NO_TO_REST", "AssessmentApp", "build_assessment", "checklist_sections", "parse_age"]
