"""ipywidgets builders for the teaching notebooks (notebooks/teaching/). Each builder returns one
panel; the logic lives in `quiz` and the engine, so tests drive the panels by setting `.value`
and calling `.click()`. Charts are matplotlib figures rendered to PNG in an `Image` widget: that
renders the same in JupyterLab and Voilà and can be checked without a browser."""

from __future__ import annotations

import base64
import functools
import html
import io
import os
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import ipywidgets as w

from . import _model as m
from . import course, lookup, quiz
from ._config import emergency_number
from ._errors import UpperbackError
from ._loader import load_knowledge_base
from .widgets import _common as common

F = TypeVar("F", bound=Callable[..., Any])

_CSS = """<style>
.ub-box{border:1px solid #c9d2dc;border-radius:6px;padding:.6em .9em;margin:.4em 0}
.ub-banner-text{background:#f3f6f9;font-size:.92em}
.ub-ok{border-left:5px solid #2e7d32}.ub-note{border-left:5px solid #1565c0}
.ub-warn{border-left:5px solid #c62828;background:#fff5f5}
.ub-src{color:#555;font-size:.85em}
.ub-table{border-collapse:collapse;font-size:.92em;line-height:1.35}
.ub-box,.ub-box li,.ub-box p{line-height:1.4}
.ub-table td,.ub-table th{border:1px solid #d5dbe1;padding:.25em .5em;text-align:left;
vertical-align:top}
.ub-table th{background:#eef2f6}
.ub-error-box .ub-error{border:2px solid #b00020;background:#fff5f5;color:#5a0010;
padding:.5em .8em}
.ub-keypoints{border-left:5px solid #6a1b9a;background:#faf5fc}
@media print{
html,body,#main,#rendered_cells,.lm-Widget,.lm-Panel,.jp-Notebook,.jp-Cell,.jp-OutputArea,
.jp-OutputArea-child,.jp-OutputArea-output,.jupyter-widgets,.widget-box,.widget-vbox,
.widget-hbox,.widget-html,.widget-html-content{overflow:visible!important;
height:auto!important;max-height:none!important;position:static!important;
contain:none!important}
.jupyter-button,.widget-button,.ub-no-print{display:none!important}
.ub-box,.ub-table tr,img{break-inside:avoid}
}
</style>"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _message(exc: BaseException) -> str:
    """A user-facing message: our own errors already say how to fix them; any other exception's
    text may hold internals (or a learner's answers), so only its type is shown."""
    if isinstance(exc, UpperbackError):
        return str(exc)
    return (f"Something went wrong ({type(exc).__name__}). Please tell the maintainers; the rest "
            "of the page still works.")


def _log(exc: BaseException, where: str) -> None:
    """Log the error type only (the shared dashboards' rule): never values, no traceback."""
    if isinstance(exc, UpperbackError):
        common.log.warning("%s in %s", type(exc).__name__, where)
    else:
        common.log.error("unexpected %s in %s", type(exc).__name__, where)


def _error_html(exc: BaseException) -> str:
    lines = _message(exc).splitlines()
    return (f"{_CSS}<div class='ub-box ub-warn' role='alert'><b>{_e(lines[0])}</b>"
            + "".join(f"<br>{_e(x)}" for x in lines[1:]) + "</div>")


def _guarded(banner: w.HTML) -> Callable[[F], F]:
    """Route a callback's exception to `banner` (in Voilà it would otherwise vanish).

    Built on the dashboards' banner (`_common.error_banner`/`show_error`/`clear_error`) and log,
    not on `_common.guard`: that one tells the user to "press Reset", and the teaching panels
    have no Reset button; it also leaves an old message up after the next action succeeds.
    """
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            common.clear_error(banner)
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                _log(exc, fn.__name__)
                common.show_error(banner, _message(exc))
                return None
        return inner  # type: ignore[return-value]
    return wrap


def _builder(fn: Callable[..., w.Widget]) -> Callable[..., Any]:
    """A panel that cannot be built (e.g. the knowledge base is broken) shows why instead.

    With UPPERBACK_STATIC=1 in the environment (set by `make handouts`) the panel is returned
    as static HTML instead of live widgets, so an exported notebook shows its content offline.
    """
    @functools.wraps(fn)
    def inner(kb: m.KnowledgeBase | None = None) -> Any:
        try:
            panel = fn(kb if kb is not None else load_knowledge_base())
        except Exception as exc:
            _log(exc, fn.__name__)
            box = w.HTML(_error_html(exc))
            box.add_class("ub-error")
            panel = box
        if os.environ.get("UPPERBACK_STATIC") == "1":
            from IPython.display import HTML

            from .handouts import static_html
            return HTML(static_html(panel))  # type: ignore[no-untyped-call]
        return panel
    return inner


def _error_widget() -> w.HTML:
    return common.error_banner()  # class ub-error-box; the message inside is styled by _CSS


def _reasons_html(reasons: Sequence[quiz.Reason]) -> str:
    return "<ul>" + "".join(f"<li>{_e(r.text)} <span class='ub-src'>Source: {_e(r.source)}"
                            "</span></li>" for r in reasons) + "</ul>"


def _nested(kb: m.KnowledgeBase, c: m.Condition) -> bool:
    """Indent a refinement only under a parent shown in the same group."""
    return bool(c.parent) and kb.conditions[str(c.parent)].group == c.group


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _short(label: str, n: int = 48) -> str:
    """A chart label wrapped onto lines of `n` characters (never cut: a cut label misleads)."""
    return "\n".join(textwrap.wrap(label.rstrip("?"), n)) or label


def _titled(fig: Any, title: str, source: str) -> None:
    """Every chart says what it shows and where the numbers come from."""
    # the figure uses constrained layout, which places both snugly around the axes
    fig.suptitle(title, fontsize=11, fontweight="bold", x=0.01, ha="left")
    fig.supxlabel(f"Source: {source}", fontsize=8, color="#444444", x=0.01, ha="left")


def _image(png: bytes, css: str) -> w.Image:
    img = w.Image(value=png, format="png", layout=w.Layout(max_width="100%", height="auto"))
    img.add_class(css)
    return img


# --- Shared -----------------------------------------------------------------------------------

@_builder
def banner(kb: m.KnowledgeBase) -> w.Widget:
    """The disclaimer and the knowledge-base version, shown at the top of every notebook."""
    box = w.HTML(f"{_CSS}<div class='ub-box ub-banner-text'><b>Teaching material.</b> "
                 f"{_e(m.DISCLAIMER)} Knowledge base version <code>{_e(kb.version)}</code>; "
                 "every fact on this page comes from it and names its source.</div>")
    box.add_class("ub-banner")
    return box


# --- Notebook 1: red flags ----------------------------------------------------------------------

@_builder
def red_flag_reference(kb: m.KnowledgeBase) -> w.Widget:
    """Every triage rule: what it asks, what to do, why it matters, and the source."""
    rows = []
    for urgency in m.URGENCIES:
        rules = [r for r in kb.rules.values() if r.urgency == urgency]
        if not rules:
            continue
        rows.append(f"<h4>{_e(quiz.urgency_label(urgency))} ({len(rules)} rules)</h4>"
                    "<table class='ub-table'><tr><th>Rule</th><th>All of these answered yes"
                    "</th><th>Why it matters</th><th>Source</th></tr>")
        for r in rules:
            asks = "<br>".join(_e(kb.findings[f].label) for f in r.findings)
            rows.append(f"<tr><td>{_e(r.label)}</td><td>{asks}</td><td>{_e(r.rationale)}</td>"
                        f"<td class='ub-src'>{_e(quiz.cite(kb, r.source_id))}</td></tr>")
        rows.append("</table>")
    return w.HTML(_CSS + "".join(rows))


@_builder
def emergency_drill(kb: m.KnowledgeBase) -> w.Widget:
    """"Would you send this patient to the emergency room?": the rule items and some self-care
    patients, shuffled; a missed patient comes back later; a summary ends the round."""
    items = quiz.drill_items(kb)
    if not items:
        return w.HTML("The knowledge base has no triage rules, so there is no drill.")
    drill = quiz.DrillRound(items)
    progress = w.HTML()
    prompt = w.HTML()
    prompt.add_class("ub-drill-prompt")
    yes = w.Button(description="Yes: emergency room", button_style="danger",
                   layout=w.Layout(width="auto"))
    no = w.Button(description="No: not the emergency room", layout=w.Layout(width="auto"))
    nxt = w.Button(description="Next patient", disabled=True, layout=w.Layout(width="auto"))
    restart = w.Button(description="Start a new round", layout=w.Layout(width="auto"),
                       tooltip="Shuffle the patients again and set the tally to zero")
    feedback = w.HTML()
    score = w.Label(quiz.score_line(0, 0))
    summary = w.HTML()
    error = _error_widget()
    for widget, css in ((yes, "ub-drill-yes"), (no, "ub-drill-no"), (nxt, "ub-drill-next"),
                        (feedback, "ub-drill-feedback"), (score, "ub-drill-score"),
                        (restart, "ub-drill-restart"), (summary, "ub-drill-summary"),
                        (progress, "ub-drill-progress")):
        widget.add_class(css)

    def show() -> None:
        item = drill.current
        feedback.value = ""
        score.value = quiz.score_line(drill.correct, drill.answered)
        if item is None:
            progress.value = ""
            prompt.value = ""
            summary.value = (f"{_CSS}<div class='ub-box ub-ok' role='status'><b>"
                             f"{_e(drill.summary().text())}</b> Start a new round to try the "
                             "patients in another order.</div>")
            yes.disabled = no.disabled = nxt.disabled = True
            return
        seen, total = drill.position
        again = " (back for a second look)" if drill.is_retry else ""
        progress.value = f"<b>Patient {seen} of {total}{again}</b>"
        summary.value = ""
        said = "".join(f"<li>{_e(label)} <b>Yes</b></li>" for label in item.labels)
        denied = "".join(f"<li>{_e(label)} <b>No</b></li>" for label in item.answered_no)
        prompt.value = (f"{_CSS}<div class='ub-box ub-note' data-item='{_e(item.item_id)}'>A "
                        f"patient with upper back pain answers:<ul>{said}</ul>Every other "
                        f"red-flag question was asked and answered <b>no</b> "
                        f"({len(item.answered_no)} questions).<details><summary>The questions "
                        f"answered no</summary><ul>{denied}</ul></details>Would you send this "
                        "patient to the emergency room?</div>")
        yes.disabled = no.disabled = False
        nxt.disabled = True

    @_guarded(error)
    def answer(send: bool) -> None:
        fb = drill.answer(send, kb)
        css = "ub-ok" if fb.correct else "ub-note"
        later = ("" if fb.correct else "<p>This patient will come back later in the round.</p>")
        feedback.value = (f"{_CSS}<div class='ub-box {css}' role='status'><b>{_e(fb.verdict)}"
                          f"</b>{_reasons_html(fb.reasons)}{later}</div>")
        score.value = quiz.score_line(drill.correct, drill.answered)
        yes.disabled = no.disabled = True
        nxt.disabled = False
        nxt.description = ("See the round summary" if len(drill.queue) == 1 and fb.correct
                           else "Next patient")

    @_guarded(error)
    def next_item(_: Any = None) -> None:
        drill.next()
        show()

    @_guarded(error)
    def new_round(_: Any = None) -> None:
        drill.reset()
        show()

    yes.on_click(lambda _: answer(True))
    no.on_click(lambda _: answer(False))
    nxt.on_click(next_item)
    restart.on_click(new_round)
    show()
    box = w.VBox([progress, prompt, w.HBox([yes, no, nxt]), feedback, score, summary,
                  w.HBox([restart]), error])
    box.add_class("ub-drill")
    return box


# --- Notebook 2: causes -------------------------------------------------------------------------

@_builder
def causes_overview(kb: m.KnowledgeBase) -> w.Widget:
    """The causes grouped by family, the heart-attack warning set apart."""
    parts = [_CSS]
    for group, conds in quiz.causes_by_group(kb):
        css = "ub-warn" if group in quiz.WARNING_GROUPS else "ub-note"
        items = []
        for c in conds:
            code = f" <code>{_e(c.icd10cm)}</code>" if c.icd10cm else ""
            indent = " style='margin-left:1.5em'" if _nested(kb, c) else ""
            items.append(f"<li{indent}><b>{_e(c.name)}</b>{code}: {_e(c.description)}"
                         + (f" <i>{_e(c.evidence_note)}</i>" if c.evidence_note else "")
                         + f" <span class='ub-src'>Source: {_e(quiz.cite(kb, c.source_id))}"
                         "</span></li>")
        extra = ""
        if group in quiz.WARNING_GROUPS:
            linked = {x.finding_id for x in kb.condition_findings
                      if kb.conditions[x.condition_id].group == group}
            rules = [r for r in lookup.rules_in_order(kb)
                     if quiz.sends_to_hospital(r.urgency) and linked & set(r.findings)]
            if rules:
                extra = ("<p><b>Never treat this as back pain.</b> These rules catch it: "
                         + "; ".join(f"{_e(r.label)} ({_e(r.rationale)})" for r in rules)
                         + "</p>")
        parts.append(f"<div class='ub-box {css}'><h4>{_e(quiz.GROUP_LABELS.get(group, group))}"
                     f"</h4><ul>{''.join(items)}</ul>{extra}</div>")
    return w.HTML("".join(parts))


def heatmap_png(matrix: quiz.LinkMatrix,
                source: str = "upperback knowledge base, condition_findings.csv") -> bytes:
    """The LR+ matrix as a heatmap in the conventional bands (darker = the finding raises the
    odds more), titled and sourced."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    rows, cols = len(matrix.finding_ids), len(matrix.condition_ids)
    fig = Figure(figsize=(max(6.0, 0.45 * cols + 4.5), max(3.0, 0.42 * rows + 2.6)),
                 layout="constrained")
    ax = fig.add_subplot()
    n = len(quiz.LR_BANDS)
    cmap = ListedColormap(["#ffffff", "#deebf7", "#9ecae1", "#4292c6", "#08519c"][: n + 1])
    im = ax.imshow([[quiz.lr_band(v) for v in r] for r in matrix.values], cmap=cmap,
                   vmin=-0.5, vmax=n + 0.5, aspect="auto")
    ax.set_xticks(range(cols), [_short(n, 22) for n in matrix.condition_names], rotation=60,
                  ha="right", fontsize=9)
    ax.set_yticks(range(rows), [_short(x, 44) for x in matrix.finding_labels], fontsize=9)
    ax.set_xticks([x - 0.5 for x in range(cols + 1)], minor=True)
    ax.set_yticks([y - 0.5 for y in range(rows + 1)], minor=True)
    ax.grid(which="minor", color="#e0e0e0", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    bar = fig.colorbar(im, ax=ax, ticks=list(range(n + 1)), fraction=0.03)
    bar.ax.set_yticklabels(["no link"] + [words for _, words in quiz.LR_BANDS], fontsize=9)
    bar.set_label("LR+ of a yes answer", fontsize=9)
    _titled(fig, "How much a yes raises the odds of each cause (likelihood ratio, LR+)",
            source)
    return _png(fig)


@_builder
def finding_cause_explorer(kb: m.KnowledgeBase) -> w.Widget:
    """A heatmap of which findings point to which causes, filtered by widget, with details."""
    group = w.Dropdown(description="Causes", options=[("All causes", "")] + [
        (quiz.GROUP_LABELS.get(g, g), g) for g, _ in quiz.causes_by_group(kb)],
        style={"description_width": "initial"})
    kinds = {f.kind for f in kb.findings.values()}
    kind = w.Dropdown(description="Findings", options=[("All findings", "")] + [
        (f"Red flags: {quiz.urgency_label(u).lower()}", u) for u in m.URGENCIES if u in kinds]
        + [("History", "history")], style={"description_width": "initial"})
    top = w.Checkbox(description="Top-level causes only", value=False, indent=False)
    chart = _image(b"", "ub-heatmap")
    holder = w.Box([chart])
    caption = w.HTML()
    caption.add_class("ub-heat-caption")
    condition = w.Dropdown(description="Look closer at", style={"description_width": "initial"})
    details = w.HTML()
    details.add_class("ub-heat-details")
    error = _error_widget()
    group.add_class("ub-heat-group")
    kind.add_class("ub-heat-kind")
    condition.add_class("ub-heat-condition")

    @_guarded(error)
    def redraw(_: Any = None) -> None:
        mat = quiz.link_matrix(kb, group.value or None, kind.value or None, top.value)
        if not mat.finding_ids:
            holder.children = ()
            caption.value = ("<i>No finding of this kind points to these causes: choose other "
                             "filters.</i>")
        else:
            chart.value = heatmap_png(mat, f"upperback knowledge base {kb.version}, "
                                      "condition_findings.csv")
            holder.children = (chart,)
            caption.value = (f"{len(mat.finding_ids)} findings \u00d7 {len(mat.condition_ids)} "
                             "causes. Darker squares: a yes raises the odds of the cause more "
                             "(bands after " + _e(quiz.LR_BANDS_SOURCE) + "; likelihood ratios "
                             "from <code>condition_findings.csv</code>).")
        current = condition.value
        condition.options = list(zip(mat.condition_names, mat.condition_ids, strict=True))
        # keep the learner's pick when it is still shown, else show the first cause
        condition.value = current if current in mat.condition_ids else (
            mat.condition_ids[0] if mat.condition_ids else None)
        describe()  # a new option list may change the selection without a change event


    @_guarded(error)
    def describe(_: Any = None) -> None:
        cid = condition.value
        if not cid:
            details.value = ""
            return
        c = kb.conditions[cid]
        rows = "".join(
            f"<tr><td>{_e(kb.findings[x.finding_id].label)}</td>"
            f"<td>{x.lr_positive:g}</td><td>{x.lr_negative:g}</td>"
            f"<td>{_e(x.basis.replace('_', ' '))}</td><td>{_e(x.note)}</td>"
            f"<td class='ub-src'>{_e(quiz.cite(kb, x.source_id))}</td></tr>"
            for x in lookup.findings_of(kb, cid))
        details.value = (f"{_CSS}<div class='ub-box ub-note'><b>{_e(c.name)}</b>: "
                         f"{_e(c.description)}<table class='ub-table'><tr><th>Finding</th>"
                         "<th>LR+ (yes)</th><th>LR\u2212 (no)</th><th>Basis</th><th>Why</th>"
                         f"<th>Source</th></tr>{rows}</table></div>")

    for control in (group, kind, top):
        control.observe(redraw, names="value")
    condition.observe(describe, names="value")
    redraw()
    describe()
    box = w.VBox([w.HBox([group, kind, top]), caption, holder, condition, details, error])
    box.add_class("ub-explorer")
    return box


# --- Notebook 3: cases --------------------------------------------------------------------------

def _progress_html(kb: m.KnowledgeBase, results: dict[str, quiz.CaseResult],
                   total_cases: int) -> str:
    """The running total across the cases and the student's results as a CSV download (a
    data: link the browser saves; nothing is written on the server)."""
    if not results:
        return (f"{_CSS}<div class='ub-box'><b>Your progress:</b> 0 of {total_cases} cases "
                "answered. Your results stay in this page until you download them.</div>")
    cases = {c.case_id: c for c in quiz.load_cases(kb)}
    rows = [course.ResultRow(
        cid, cases[cid].title, r.points, r.max_points, quiz.urgency_label(r.chosen_urgency),
        quiz.urgency_label(r.engine_urgency),
        "; ".join(kb.conditions[x].name for x in r.named),
        "; ".join(kb.conditions[x].name for x in r.missed)) for cid, r in results.items()]
    points = sum(r.points for r in rows)
    most = sum(r.max_points for r in rows)
    table = "".join(f"<tr><td>{_e(r.title)}</td><td>{r.points} of {r.max_points}</td></tr>"
                    for r in rows)
    data = base64.b64encode(course.results_csv(rows, kb.version).encode("utf-8")).decode()
    return (f"{_CSS}<div class='ub-box ub-note'><b>Your progress: {len(rows)} of {total_cases} "
            f"cases answered, {points} of {most} points so far.</b> (A case answered again "
            "counts its latest answer.)<table class='ub-table'><tr><th>Case</th><th>Score</th>"
            f"</tr>{table}</table><p><a class='ub-results-download' download="
            f"'upperback-case-results.csv' href='data:text/csv;base64,{data}'>Download my "
            "results (CSV)</a>: saved by your browser, never stored on the server.</p></div>")


@_builder
def case_quiz(kb: m.KnowledgeBase) -> w.Widget:
    """Pick a case, choose an urgency and the likely causes, get scored, explained feedback."""
    cases = {c.case_id: c for c in quiz.load_cases(kb)}
    if not cases:
        return w.HTML("There are no teaching cases in the knowledge base yet.")
    pick = w.Dropdown(options=[(f"{c.display_order}. {c.title}", c.case_id)
                               for c in cases.values()], description="Case",
                      layout=w.Layout(width="32em"))
    story = w.HTML()
    urgency = w.RadioButtons(options=[(quiz.urgency_label(u), u) for u in m.URGENCIES],
                             value=None, layout=w.Layout(width="auto"))
    boxes: dict[str, w.Checkbox] = {}
    columns = []
    for g, conds in quiz.causes_by_group(kb):
        col: list[w.Widget] = [w.HTML(f"<b>{_e(quiz.GROUP_LABELS.get(g, g))}</b>")]
        for c in conds:
            cb = w.Checkbox(description=c.name, value=False, indent=False,
                            layout=w.Layout(margin="0 0 0 1.2em" if _nested(kb, c) else "0"))
            cb.add_class(f"ub-cause-{c.condition_id}")
            boxes[c.condition_id] = cb
            col.append(cb)
        columns.append(w.VBox(col, layout=w.Layout(min_width="15em")))
    check = w.Button(description="Check my answer", button_style="primary")
    feedback = w.HTML()
    explanation = w.HTML()
    progress = w.HTML(_progress_html(kb, {}, len(cases)))
    error = _error_widget()
    results: dict[str, quiz.CaseResult] = {}  # this learner's latest answer per case, in memory
    for widget, css in ((pick, "ub-case-select"), (story, "ub-case-vignette"),
                        (urgency, "ub-case-urgency"), (check, "ub-case-check"),
                        (feedback, "ub-case-feedback"), (explanation, "ub-case-explanation"),
                        (progress, "ub-case-progress")):
        widget.add_class(css)

    @_guarded(error)
    def load(_: Any = None) -> None:
        case = cases[pick.value]
        yes, no, unasked = quiz.case_answer_summary(case, kb)
        said = "".join(f"<li>{_e(x)} <b>Yes</b></li>" for x in yes)
        screen = (f"{len(no)} red-flag or history questions answered no"
                  + (f"; {unasked} red-flag questions not asked." if unasked else
                     "; every red-flag question was asked."))
        story.value = (f"{_CSS}<div class='ub-box ub-note'><p>{_e(case.vignette)}</p>"
                       f"<details><summary>What the story tells the checklist</summary>"
                       f"<ul>{said}</ul>{_e(screen)}</details></div>")
        urgency.value = None
        for cb in boxes.values():
            cb.value = False
        feedback.value = explanation.value = ""

    @_guarded(error)
    def score(_: Any = None) -> None:
        if urgency.value is None:
            feedback.value = (f"{_CSS}<div class='ub-box ub-note'>Choose an urgency first, then "
                              "tick the causes you think most likely.</div>")
            return
        case = cases[pick.value]
        r = quiz.score_case(case, urgency.value, [c for c, cb in boxes.items() if cb.value], kb)
        css = "ub-ok" if r.points == r.max_points else "ub-note"
        feedback.value = (
            f"{_CSS}<div class='ub-box {css}' role='status'><b>Score: {r.points} of "
            f"{r.max_points}</b><p>{_e(r.urgency_message)}</p><ul>"
            + "".join(f"<li>{_e(x)}</li>" for x in r.cause_messages)
            + f"</ul><p><b>Teaching point:</b> {_e(r.teaching_point)}</p></div>")
        explanation.value = (f"<div class='ub-box'><b>The engine's explanation</b>"
                             f"{_reasons_html(r.reasons)}</div>")
        results[case.case_id] = r
        progress.value = _progress_html(kb, {k: results[k] for k in cases if k in results},
                                        len(cases))

    every = w.HTML(f"{_CSS}<details class='ub-box'><summary>All {len(cases)} cases, to read "
                   "ahead or print</summary><ol>" + "".join(
                       f"<li><b>{_e(c.title)}</b>: {_e(c.vignette)}</li>"
                       for c in cases.values()) + "</ol></details>")
    every.add_class("ub-case-all")
    pick.observe(load, names="value")
    check.on_click(score)
    load()
    box = w.VBox([
        pick, story, w.HTML("<b>1. How urgent is it?</b>"), urgency,
        w.HTML("<b>2. Which causes are most likely?</b> Tick one or more."),
        w.HBox(columns, layout=w.Layout(flex_flow="row wrap")), check, feedback,
        explanation, progress, every, error])
    box.add_class("ub-case-quiz")
    return box


# --- Notebook 4: work-up and treatment ----------------------------------------------------------

@_builder
def test_explorer(kb: m.KnowledgeBase) -> w.Widget:
    """Pick a cause to see which tests answer "is it this?", and why."""
    opts = [(("\u2003" if _nested(kb, c) else "") + c.name, c.condition_id)
            for _, cs in quiz.causes_by_group(kb) for c in cs]
    pick = w.Dropdown(options=opts, description="Is it", style={"description_width": "initial"},
                      layout=w.Layout(width="30em"))
    out = w.HTML()
    out.add_class("ub-tests-answer")
    pick.add_class("ub-tests-pick")
    error = _error_widget()

    @_guarded(error)
    def show(_: Any = None) -> None:
        links = lookup.tests_of(kb, pick.value)
        base = [t for t in kb.tests.values() if t.baseline]
        rows = "".join(
            f"<tr><td>{_e(kb.tests[x.test_id].name)}</td><td>{_e(kb.tests[x.test_id].category)}"
            f"</td><td>{_e(x.reason)}</td><td class='ub-src'>{_e(quiz.cite(kb, x.source_id))}"
            "</td></tr>" for x in links)
        table = (f"<table class='ub-table'><tr><th>Test</th><th>Kind</th><th>What it answers"
                 f"</th><th>Source</th></tr>{rows}</table>" if rows else
                 "<p>No specific test is linked to this cause in the knowledge base.</p>")
        out.value = (f"{_CSS}<div class='ub-box ub-note'>{table}<p>Always, whatever the cause: "
                     + ", ".join(_e(t.name) for t in base) + ".</p></div>")

    pick.observe(show, names="value")
    show()
    return w.VBox([pick, out, error])


def tests_chart_png(kb: m.KnowledgeBase) -> bytes:
    """How many causes each test helps with, coloured by kind of test."""
    from matplotlib.figure import Figure

    data = quiz.test_questions(kb)
    cats = sorted({t.category for t, _ in data})
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]
    colour = {c: palette[i % len(palette)] for i, c in enumerate(cats)}
    fig = Figure(figsize=(8, 0.42 * len(data) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    names = [_short(t.name, 34) for t, _ in data][::-1]
    counts = [len(links) for _, links in data][::-1]
    ax.barh(names, counts, color=[colour[t.category] for t, _ in data][::-1])
    ax.set_xlabel("Number of causes the test helps confirm or exclude")
    for c in cats:
        ax.bar(0, 0, color=colour[c], label=c)
    ax.legend(title="Kind of test", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.tick_params(axis="y", labelsize=9)
    _titled(fig, "How many causes each test helps confirm or exclude",
            f"upperback knowledge base {kb.version} (diagnostic_tests.csv, test_conditions.csv)")
    return _png(fig)


@_builder
def tests_overview(kb: m.KnowledgeBase) -> w.Widget:
    """Every test: what it shows and which causes it helps with; and the chart."""
    rows = "".join(
        f"<tr><td>{_e(t.name)}{' (always)' if t.baseline else ''}</td><td>{_e(t.what_it_shows)}"
        f"</td><td>{_e(', '.join(kb.conditions[x.condition_id].name for x in links))}</td>"
        f"<td class='ub-src'>{_e(quiz.cite(kb, t.source_id))}</td></tr>"
        for t, links in quiz.test_questions(kb))
    table = w.HTML(f"{_CSS}<table class='ub-table'><tr><th>Test</th><th>What it shows</th>"
                   f"<th>Helps with</th><th>Source</th></tr>{rows}</table>")
    return w.VBox([_image(tests_chart_png(kb), "ub-tests-chart"), table])


def ladder_chart_png(kb: m.KnowledgeBase) -> bytes:
    """Treatments from least (top) to most invasive, coloured by how they are obtained."""
    from matplotlib.figure import Figure

    ladder = lookup.treatment_ladder(kb)
    colour = {"self_care": "#66a61e", "otc": "#1b9e77", "prescription": "#7570b3",
              "clinician": "#d95f02"}
    fig = Figure(figsize=(8, 0.42 * len(ladder) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    names = [_short(t.name, 34) for t in ladder][::-1]
    # a sliver for level 0 so non-invasive care still shows as a bar
    ax.barh(names, [t.invasiveness + 0.15 for t in ladder][::-1],
            color=[colour.get(t.access, "#999999") for t in ladder][::-1])
    ax.set_xticks(range(4), [common.INVASIVENESS_WORDS[i].replace(" ", "\n", 1) for i in range(4)],
                  fontsize=7)
    ax.set_xlabel("Invasiveness")
    for a in colour:
        ax.bar(0, 0, color=colour[a], label=common.ACCESS_WORDS.get(a, a))
    ax.legend(title="How it is obtained", fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1))
    ax.tick_params(axis="y", labelsize=9)
    _titled(fig, "The treatment ladder: start at the top, with care without medicine",
            f"upperback knowledge base {kb.version} (treatments.csv)")
    return _png(fig)


@_builder
def treatment_ladder(kb: m.KnowledgeBase) -> w.Widget:
    """The treatment ladder: chart, then a table with the cautions the evidence adds and when
    not to offer each treatment (its contraindications)."""
    def contra(t: m.Treatment) -> str:
        reasons = quiz.do_not_offer(kb, t.treatment_id)
        if not reasons:
            return "<td class='ub-contra'>No contraindication recorded.</td>"
        return "<td class='ub-contra'><ul>" + "".join(
            f"<li>{_e(r.text)} <span class='ub-src'>({_e(r.source)})</span></li>"
            for r in reasons) + "</ul></td>"

    rows = "".join(
        f"<tr><td>{_e(t.name)}</td>"
        f"<td>{_e(common.INVASIVENESS_WORDS.get(t.invasiveness, t.invasiveness))}</td>"
        f"<td>{_e(common.ACCESS_WORDS.get(t.access, t.access))}</td><td>{_e(t.description)}"
        + (f"<br><i>Caution: {_e(t.evidence_note)}</i> <span class='ub-src'>"
           f"({_e(quiz.cite(kb, t.evidence_source_id))})</span>" if t.evidence_note else "")
        + f"</td>{contra(t)}<td class='ub-src'>{_e(quiz.cite(kb, t.source_id))}</td></tr>"
        for t in lookup.treatment_ladder(kb))
    table = w.HTML(f"{_CSS}<table class='ub-table'><tr><th>Treatment</th><th>Invasiveness</th>"
                   f"<th>Obtained</th><th>What it does</th><th>Do not offer when</th>"
                   f"<th>Source</th></tr>{rows}</table>")
    table.add_class("ub-ladder-table")
    return w.VBox([_image(ladder_chart_png(kb), "ub-ladder-chart"), table])


# --- Notebook 5: risk, prevention, prognosis ----------------------------------------------------

@_builder
def risk_factor_table(kb: m.KnowledgeBase) -> w.Widget:
    """Risk factors split into those a patient can change and those they cannot."""
    def block(title: str, rfs: list[m.RiskFactor], css: str) -> str:
        items = "".join(f"<li><b>{_e(r.name)}</b>: {_e(r.explanation)} <i>{_e(r.prevention_advice)}"
                        f"</i> <span class='ub-src'>Source: {_e(quiz.cite(kb, r.source_id))}"
                        "</span></li>" for r in rfs)
        return f"<div class='ub-box {css}'><h4>{_e(title)}</h4><ul>{items}</ul></div>"
    rfs = list(kb.risk_factors.values())
    return w.HTML(_CSS + block("Can be changed", [r for r in rfs if r.modifiable], "ub-ok")
                  + block("Cannot be changed", [r for r in rfs if not r.modifiable], "ub-note"))


def risk_chart_png(profile: quiz.RiskProfile, limit: int = 8,
                   source: str = "upperback knowledge base, risk_factors.csv and "
                   "condition_findings.csv") -> bytes:
    """The causes a risk profile points to, by summed link strength, titled and sourced."""
    from matplotlib.figure import Figure

    top = profile.causes[:limit]
    fig = Figure(figsize=(7, 0.42 * len(top) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.barh([_short(n, 30) for n, _ in top][::-1], [s for _, s in top][::-1], color="#6baed6")
    ax.set_xlabel("How many times the odds rise (product of the LR+ of these risk factors)")
    ax.tick_params(axis="y", labelsize=9)
    _titled(fig, "Causes these risk factors point to (not a risk score)", source)
    return _png(fig)


@_builder
def risk_profile(kb: m.KnowledgeBase) -> w.Widget:
    """Tick risk factors to see which can change, what to do, and which causes they favour."""
    boxes = {}
    for r in kb.risk_factors.values():
        cb = w.Checkbox(description=r.name, value=False, indent=False)
        cb.add_class(f"ub-risk-{r.risk_factor_id}")
        boxes[r.risk_factor_id] = cb
    summary = w.HTML()
    summary.add_class("ub-risk-summary")
    chart = _image(b"", "ub-risk-chart")
    holder = w.Box([])
    error = _error_widget()

    @_guarded(error)
    def update(_: Any = None) -> None:
        p = quiz.risk_profile(kb, [k for k, cb in boxes.items() if cb.value])
        if not p.present:
            summary.value = "<i>Tick the risk factors of an imagined patient.</i>"
            holder.children = ()
            return
        change = "".join(f"<li><b>{_e(r.name)}</b>: {_e(r.prevention_advice)}</li>"
                         for r in p.modifiable) or "<li>None of the ticked factors.</li>"
        fixed = ", ".join(_e(r.name) for r in p.fixed) or "none"
        summary.value = (f"{_CSS}<div class='ub-box ub-note'><b>{len(p.modifiable)} of "
                         f"{len(p.present)} ticked factors can be changed.</b><ul>{change}</ul>"
                         f"Cannot be changed: {fixed}.<br>A profile shows where risk factors "
                         "point; it is not a risk score and not a diagnosis.</div>")
        if p.causes:
            chart.value = risk_chart_png(p, source=f"upperback knowledge base {kb.version}, "
                                         "risk_factors.csv and condition_findings.csv")
            holder.children = (chart,)
        else:
            holder.children = ()

    for cb in boxes.values():
        cb.observe(update, names="value")
    update()
    box = w.VBox([w.HBox(list(boxes.values()), layout=w.Layout(flex_flow="row wrap")),
                  summary, holder, error])
    box.add_class("ub-risk")
    return box


@_builder
def prevention_and_prognosis(kb: m.KnowledgeBase) -> w.Widget:
    """Prevention (from the changeable risk factors), complications and the usual course."""
    prevent = "".join(f"<li>{_e(r.prevention_advice)} <span class='ub-src'>({_e(r.name)}; "
                      f"{_e(quiz.cite(kb, r.source_id))})</span></li>"
                      for r in kb.risk_factors.values() if r.modifiable)
    comps = "".join(f"<li><b>{_e(c.name)}</b>: {_e(c.description)} <span class='ub-src'>"
                    f"Source: {_e(quiz.cite(kb, c.source_id))}</span></li>"
                    for c in kb.complications.values())
    number = emergency_number()

    def fill(text: str) -> str:
        return text.replace("{emergency_number}", number)

    course = "".join(
        f"<li><b>{_e(fill(a.headline))}</b>: {_e(fill(a.advice))} <i>{_e(fill(a.safety_net))}</i> "
        f"<span class='ub-src'>Source: {_e(quiz.cite(kb, a.source_id))}</span></li>"
        for u, a in kb.advice.items() if u in ("self_care", "see_provider"))
    return w.HTML(f"{_CSS}<div class='ub-box ub-ok'><h4>Prevention</h4><ul>{prevent}</ul></div>"
                  f"<div class='ub-box ub-note'><h4>Prognosis and when to come back</h4>"
                  f"<ul>{course}</ul></div><div class='ub-box ub-warn'><h4>Complications of "
                  f"untreated pain</h4><ul>{comps}</ul></div>")


# --- Educator answer key ------------------------------------------------------------------------

@_builder
def answer_key(kb: m.KnowledgeBase) -> w.Widget:
    """The educator's key: every case and drill item with the engine's answer, computed now."""
    parts = [_CSS, "<h3>Case quiz</h3>"]
    for k in quiz.answer_key(kb):
        warn = ("" if k.agrees else "<p class='ub-warn'><b>This case no longer agrees with the "
                "engine: review it before class.</b></p>")
        parts.append(
            f"<div class='ub-box ub-note'><h4>{k.case.display_order}. {_e(k.case.title)} "
            f"<code>{_e(k.case.case_id)}</code></h4>{warn}<p>{_e(k.case.vignette)}</p>"
            f"<p><b>Urgency:</b> {_e(quiz.urgency_label(k.engine_urgency))}<br>"
            f"<b>Expected causes:</b> {_e(', '.join(k.expected_names))}<br>"
            f"<b>Engine's leading causes:</b> {_e(', '.join(k.leading_names) or 'none')}<br>"
            f"<b>Teaching point:</b> {_e(k.case.teaching_point)} <span class='ub-src'>"
            f"({_e(quiz.cite(kb, k.case.source_id))})</span></p>{_reasons_html(k.reasons)}</div>")
    parts.append("<h3>Emergency-room drill</h3><p>Each patient answers yes to the findings "
                 "listed and no to every other red-flag question.</p><table class='ub-table'>"
                 "<tr><th>#</th><th>Findings answered yes</th><th>Emergency room?</th>"
                 "<th>Rule</th></tr>")
    for i, item in enumerate(quiz.drill_items(kb), 1):
        parts.append(f"<tr><td>{i}</td><td>{'<br>'.join(_e(x) for x in item.labels)}</td>"
                     f"<td>{'Yes' if item.send_to_er else 'No'}</td><td>{_e(item.rule_label)}: "
                     f"{_e(item.rationale)}</td></tr>")
    parts.append("</table>")
    titles = {"causes": "Lesson 2", "workup": "Lesson 4", "risk": "Lesson 5",
              "must_not_miss": "Lesson 6"}
    for topic in quiz.CHECK_TOPICS:
        rows = "".join(
            f"<tr><td>{i}</td><td>{_e(q.question)}</td><td>"
            f"{_e(dict((v, lab) for lab, v in q.options)[q.answer])}</td><td>"
            f"{_e(q.explanation)} <span class='ub-src'>({_e(q.source)})</span></td></tr>"
            for i, q in enumerate(quiz.self_checks(kb, topic), 1))
        parts.append(f"<h3>{titles.get(topic, topic)} self-check</h3><table class='ub-table'>"
                     f"<tr><th>#</th><th>Question</th><th>Answer</th><th>Why</th></tr>{rows}"
                     "</table>")
    box = w.HTML("".join(parts))
    box.add_class("ub-answer-key")
    return box


# --- Self-checks (lessons 2, 4, 5, 6) -----------------------------------------------------------

def _self_check(kb: m.KnowledgeBase, topic: str) -> w.Widget:
    """A short multiple-choice check: answer, get kind feedback with the reason and its
    source, go on; a tally and "Start again" that really starts again."""
    questions = quiz.self_checks(kb, topic)
    if not questions:
        return w.HTML("The knowledge base has nothing to ask about here yet.")
    state: dict[str, Any] = {"i": 0, "answered": 0, "correct": 0}
    progress = w.HTML()
    question = w.HTML()
    choice = w.RadioButtons(options=[], value=None, layout=w.Layout(width="auto"))
    check = w.Button(description="Check my answer", button_style="primary")
    nxt = w.Button(description="Next question", disabled=True)
    again = w.Button(description="Start again")
    feedback = w.HTML()
    tally = w.Label()
    error = _error_widget()
    for widget, css in ((question, "ub-check-question"), (choice, "ub-check-choice"),
                        (check, "ub-check-check"), (nxt, "ub-check-next"),
                        (again, "ub-check-again"), (feedback, "ub-check-feedback"),
                        (tally, "ub-check-tally"), (progress, "ub-check-progress")):
        widget.add_class(css)

    def show() -> None:
        q = questions[state["i"]]
        progress.value = f"<b>Question {state['i'] + 1} of {len(questions)}</b>"
        question.value = f"{_CSS}<div class='ub-box ub-note'>{_e(q.question)}</div>"
        choice.options = list(q.options)
        choice.value = None
        choice.disabled = check.disabled = False
        nxt.disabled = True
        feedback.value = ""
        tally.value = quiz.score_line(state["correct"], state["answered"])

    @_guarded(error)
    def answer(_: Any = None) -> None:
        q = questions[state["i"]]
        if choice.value is None:
            feedback.value = (f"{_CSS}<div class='ub-box ub-note'>Choose an answer first."
                              "</div>")
            return
        fb = quiz.check_answer(q, choice.value)
        state["answered"] += 1
        state["correct"] += fb.correct
        css = "ub-ok" if fb.correct else "ub-note"
        feedback.value = (f"{_CSS}<div class='ub-box {css}' role='status'><b>{_e(fb.verdict)}"
                          f"</b>{_reasons_html(fb.reasons)}</div>")
        tally.value = quiz.score_line(state["correct"], state["answered"])
        choice.disabled = check.disabled = True
        nxt.disabled = state["i"] == len(questions) - 1
        if nxt.disabled:
            feedback.value += (f"<div class='ub-box ub-ok'><b>Self-check complete: "
                               f"{state['correct']} of {state['answered']} in line with the "
                               "knowledge base.</b> Start again to practise once more.</div>")

    @_guarded(error)
    def next_question(_: Any = None) -> None:
        state["i"] += 1
        show()

    @_guarded(error)
    def restart(_: Any = None) -> None:
        state.update(i=0, answered=0, correct=0)
        show()

    check.on_click(answer)
    nxt.on_click(next_question)
    again.on_click(restart)
    show()
    box = w.VBox([progress, question, choice, w.HBox([check, nxt, again]), feedback, tally,
                  error])
    box.add_class("ub-self-check")
    box.add_class(f"ub-self-check-{topic}")
    return box


@_builder
def causes_check(kb: m.KnowledgeBase) -> w.Widget:
    """Lesson 2's self-check: families of causes and the findings that point to them."""
    return _self_check(kb, "causes")


@_builder
def workup_check(kb: m.KnowledgeBase) -> w.Widget:
    """Lesson 4's self-check: which test answers which question; the ladder; when not to."""
    return _self_check(kb, "workup")


@_builder
def risk_check(kb: m.KnowledgeBase) -> w.Widget:
    """Lesson 5's self-check: which risk factors a patient can change."""
    return _self_check(kb, "risk")


@_builder
def must_not_miss_check(kb: m.KnowledgeBase) -> w.Widget:
    """Lesson 6's self-check: the findings and rules that catch the must-not-miss causes."""
    return _self_check(kb, "must_not_miss")


# --- Lesson 6: must not miss --------------------------------------------------------------------

@_builder
def must_not_miss_overview(kb: m.KnowledgeBase) -> w.Widget:
    """Each must-not-miss cause: what it is, the findings that point to it, the rules that
    catch it, and the tests that answer it; all from the knowledge base."""
    conds = quiz.must_not_miss(kb)
    if not conds:
        return w.HTML("This knowledge base has none of the must-not-miss causes yet.")
    parts = [_CSS]
    for c in conds:
        links = "".join(f"<li>{_e(kb.findings[x.finding_id].label.rstrip('?'))}: {_e(x.note)} "
                        f"<span class='ub-src'>({_e(quiz.cite(kb, x.source_id))})</span></li>"
                        for x in lookup.findings_of(kb, c.condition_id)[:4])
        tests = ", ".join(_e(kb.tests[x.test_id].name)
                          for x in lookup.tests_of(kb, c.condition_id))
        parts.append(
            f"<div class='ub-box ub-warn ub-mnm-{_e(c.condition_id)}'><h4>{_e(c.name)}</h4>"
            f"<p>{_e(c.description)}"
            + (f" <i>{_e(c.evidence_note)}</i>" if c.evidence_note else "")
            + f"</p><b>Think of it when:</b><ul>{links or '<li>No finding linked yet.</li>'}</ul>"
            + (f"<p><b>Tests that answer it:</b> {tests}.</p>" if tests else "")
            + f"<p class='ub-src'>Source: {_e(quiz.cite(kb, c.source_id))}</p></div>")
    rules = quiz.must_not_miss_rules(kb)
    rows = "".join(f"<tr><td>{_e(r.label)}</td><td>{_e(quiz.urgency_label(r.urgency))}</td>"
                   f"<td>{'<br>'.join(_e(kb.findings[f].label) for f in r.findings)}</td>"
                   f"<td>{_e(r.rationale)}</td><td class='ub-src'>{_e(quiz.cite(kb, r.source_id))}"
                   "</td></tr>" for r in rules)
    if rows:
        parts.append("<h4>The rules that catch them</h4><table class='ub-table'><tr><th>Rule"
                     "</th><th>Urgency</th><th>All of these answered yes</th><th>Why</th>"
                     f"<th>Source</th></tr>{rows}</table>")
    box = w.HTML("".join(parts))
    box.add_class("ub-must-not-miss")
    return box


# --- Likelihood ratios (lesson 2) --------------------------------------------------------------

def _lr_example(kb: m.KnowledgeBase) -> str:
    """One real link from the knowledge base, read aloud: the largest LR+ of a published one
    when there is one."""
    links = sorted(kb.condition_findings, key=lambda x: (x.basis != "published", -x.lr_positive,
                                                         x.condition_id, x.finding_id))
    if not links:
        return ""
    x = links[0]
    return (f"<p><b>From this knowledge base:</b> for {_e(kb.conditions[x.condition_id].name)}, "
            f"\u201c{_e(kb.findings[x.finding_id].label.rstrip('?'))}\u201d has LR+ "
            f"{x.lr_positive:g} and LR\u2212 {x.lr_negative:g} ({_e(x.basis.replace('_', ' '))};"
            f" {_e(quiz.cite(kb, x.source_id))}): {_e(x.note)}</p>")


@_builder
def likelihood_ratios(kb: m.KnowledgeBase) -> w.Widget:
    """What a likelihood ratio is, with a worked example computed by the same arithmetic the
    differential uses (prior odds times likelihood ratios)."""
    prior = 0.10
    up, down = quiz.post_test_probability(prior, 5.0), quiz.post_test_probability(prior, 0.2)
    box = w.HTML(
        f"{_CSS}<div class='ub-box ub-note'><h4>What is a likelihood ratio?</h4>"
        "<p>A finding is more common in patients who have a cause than in those who do not. "
        "The <b>likelihood ratio</b> says how much more: LR+ is how many times likelier the "
        "finding is <i>present</i> with the cause than without it; LR\u2212 is the same for the "
        "finding being <i>absent</i>. An LR of 1 changes nothing; above 1 raises the "
        "probability of the cause; below 1 lowers it.</p>"
        "<p><b>How it is used:</b> start from how common the cause is (the prior), turn it "
        "into odds, multiply by the likelihood ratio of each answer, and turn the odds back "
        f"into a probability. Worked example: a cause with a prior of {prior:.0%}; a finding "
        f"with LR+ 5 answered yes takes it to about {up:.0%}; a finding with LR\u2212 0.2 "
        f"answered no takes it to about {down:.0%}.</p>"
        "<p>Rules of thumb: LR+ above 10 or LR\u2212 below 0.1 change the picture a lot; "
        "between 0.5 and 2 they barely change it. No single finding proves a cause.</p>"
        + _lr_example(kb) +
        "<p class='ub-src'>Source: Bayes' rule in odds form; bands after "
        f"{_e(quiz.LR_BANDS_SOURCE)}. The chart below shows this knowledge base's likelihood "
        f"ratios (version {_e(kb.version)}); each is marked as published, from a guideline, or "
        "an expert estimate.</p></div>")
    box.add_class("ub-lr")
    return box


# --- The course page ----------------------------------------------------------------------------

@_builder
def course_index(kb: m.KnowledgeBase) -> w.Widget:
    """The lessons in order, with links that open each one (in Voilà and in JupyterLab)."""
    items = "".join(
        f"<li><a href='{_e(x.notebook)}'><b>{_e(x.title)}</b></a>: {_e(x.summary)}</li>"
        for x in course.LESSONS)
    box = w.HTML(f"{_CSS}<div class='ub-box ub-note'><ol style='list-style:none;padding-left:0'>"
                 f"{items}</ol></div>")
    box.add_class("ub-course")
    return box
