"""ipywidgets builders for the teaching notebooks (notebooks/teaching/, notebooks/teacher/).
Each builder returns one panel; the logic lives in `quiz` and the engine, so tests drive the
panels by setting `.value` and calling `.click()`.

Built on the faces kit (`upperback.widgets.kit`, `upperback._render`), like the clinician
dashboards: every panel is a `ub-app` box carrying the one stylesheet (`kit.style()`) and the
kit's error banner; callbacks run under the kit's `guard`; the page banner ends with the kit's
footer (decision support, not a diagnosis, and the knowledge-base version); HTML comes from the
autoescaping macros of `templates/teaching.html.j2`; codes are worded by the kit's `word()`
maps (`teaching_urgency`, `teaching_group`, `access`, `invasiveness`). Charts are matplotlib
figures rendered to PNG and shown as an `<img>` with alt text (`Chart`): that renders the same
in JupyterLab, Voilà and a handout, and can be checked without a browser."""

from __future__ import annotations

import base64
import functools
import io
import os
import textwrap
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import traitlets
from markupsafe import Markup

from . import _model as m
from . import _render, course, lookup, quiz
from ._config import emergency_number
from ._loader import load_knowledge_base
from .widgets import kit

#: The teaching face's macros.
TEMPLATE = "teaching.html.j2"
#: What the guard adds after an unexpected error: a lesson has no Reset button.
HINT = "Please tell the maintainers; the rest of the page still works."


def _html(name: str, *args: Any) -> str:
    """One macro of `teaching.html.j2`, rendered (autoescaped)."""
    return _render.macro(TEMPLATE, name, *args)


def _src(kb: m.KnowledgeBase) -> Callable[[str | None], str]:
    """The teaching citation for the templates: a source's short name, flagged when unchecked."""
    return functools.partial(quiz.cite, kb)


def _guard(error: w.HTML) -> Callable[[Any], Any]:
    """The kit's callback guard: the message goes to the panel's banner (Voilà would swallow
    it) and goes away when the next action works."""
    return kit.guard(error, hint=HINT, clear_first=True)


def _panel(*children: w.Widget, css: str, error: w.HTML | None = None) -> w.VBox:
    """A teaching panel: the one stylesheet, the content, the error banner; classes `ub-app`
    (the kit's type, focus ring and tables), `ub-teaching` and the panel's own `css`. Each
    panel carries the stylesheet, so it looks the same shown alone or in a handout."""
    box = w.VBox([kit.style(), *children, error if error is not None else kit.error_banner()])
    for name in ("ub-app", "ub-teaching", css):
        box.add_class(name)
    return box


def _content(value: str, css: str) -> w.HTML:
    box = w.HTML(value)
    box.add_class(css)
    return box


def _builder(fn: Callable[..., w.Widget]) -> Callable[..., Any]:
    """A panel that cannot be built (e.g. the knowledge base is broken) shows why instead,
    through the kit's guard and error banner (no traceback; only the error type is logged).

    With UPPERBACK_STATIC=1 in the environment (set by `make handouts`) the panel is returned
    as static HTML instead of live widgets, so an exported notebook shows its content offline.
    """
    @functools.wraps(fn)
    def inner(kb: m.KnowledgeBase | None = None) -> Any:
        error = kit.error_banner()
        build = kit.guard(error, hint=HINT)(functools.wraps(fn)(
            lambda: fn(kb if kb is not None else load_knowledge_base())))
        panel = build()
        if panel is None:
            panel = _panel(css="ub-teaching-failed", error=error)
        if os.environ.get("UPPERBACK_STATIC") == "1":
            from IPython.display import HTML

            from .handouts import static_html
            return HTML(static_html(panel))  # type: ignore[no-untyped-call]
        return panel
    return inner


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


class Chart(w.HTML):  # type: ignore[misc]
    """A chart as an `<img>` whose text alternative is its title (ipywidgets' `Image` has no
    alt text, and its tooltip breaks the view in Voilà). `png` holds the picture shown."""

    png = traitlets.Bytes(b"")  # kernel side only: the page gets the <img> in `value`

    def __init__(self, png: bytes, css: str, title: str) -> None:
        super().__init__()
        self.title = title
        self.add_class(css)
        self.add_class("ub-chart")
        self.show(png)

    def show(self, png: bytes) -> None:
        self.png = png
        self.value = (_html("chart", base64.b64encode(png).decode("ascii"), self.title)
                      if png else "")


# --- Shared -----------------------------------------------------------------------------------

@_builder
def banner(kb: m.KnowledgeBase) -> w.Widget:
    """The top of every teaching page: teaching material, then the kit's footer (decision
    support, not a diagnosis, and the knowledge-base version), in one frame that a handout
    keeps too (its static copy drops the widgets' classes, not the HTML's)."""
    return _panel(_content(_html("banner", Markup(_render.footer_html(kb))),
                           "ub-teaching-banner-box"), css="ub-teaching-banner")


# --- Notebook 1: red flags ----------------------------------------------------------------------

@_builder
def red_flag_reference(kb: m.KnowledgeBase) -> w.Widget:
    """Every triage rule: what it asks, what to do, why it matters, and the source."""
    groups = [(u, rules) for u in m.URGENCIES
              if (rules := [r for r in kb.rules.values() if r.urgency == u])]
    return _panel(_content(_html("red_flag_reference", kb, groups, _src(kb)),
                           "ub-red-flag-table"), css="ub-red-flags-reference")


@_builder
def emergency_drill(kb: m.KnowledgeBase) -> w.Widget:
    """"Would you send this patient to the emergency room?": the rule items and some self-care
    patients, shuffled; a missed patient comes back later; a summary ends the round."""
    items = quiz.drill_items(kb)
    if not items:
        return _panel(_content(_html("notice", "The knowledge base has no triage rules, so "
                                     "there is no drill."), "ub-drill-none"), css="ub-drill")
    drill = quiz.DrillRound(items)
    progress = w.HTML()
    prompt = w.HTML()
    yes = w.Button(description="Yes: emergency room", button_style="danger",
                   layout=w.Layout(width="auto"))
    no = w.Button(description="No: not the emergency room", layout=w.Layout(width="auto"))
    nxt = w.Button(description="Next patient", disabled=True, layout=w.Layout(width="auto"))
    restart = w.Button(description="Start a new round", layout=w.Layout(width="auto"),
                       tooltip="Shuffle the patients again and set the tally to zero")
    feedback = w.HTML()
    score = w.Label(quiz.score_line(0, 0))
    summary = w.HTML()
    error = kit.error_banner()
    for widget, css in ((yes, "ub-drill-yes"), (no, "ub-drill-no"), (nxt, "ub-drill-next"),
                        (feedback, "ub-drill-feedback"), (score, "ub-drill-score"),
                        (restart, "ub-drill-restart"), (summary, "ub-drill-summary"),
                        (progress, "ub-drill-progress"), (prompt, "ub-drill-prompt")):
        widget.add_class(css)

    def show() -> None:
        item = drill.current
        feedback.value = ""
        score.value = quiz.score_line(drill.correct, drill.answered)
        if item is None:
            progress.value = ""
            prompt.value = ""
            summary.value = _html("drill_summary", drill.summary().text())
            yes.disabled = no.disabled = nxt.disabled = True
            return
        seen, total = drill.position
        progress.value = _html("drill_progress", seen, total, drill.is_retry)
        summary.value = ""
        prompt.value = _html("drill_prompt", item)
        yes.disabled = no.disabled = False
        nxt.disabled = True

    @_guard(error)
    def answer(send: bool) -> None:
        fb = drill.answer(send, kb)
        feedback.value = _html("drill_feedback", fb)
        score.value = quiz.score_line(drill.correct, drill.answered)
        yes.disabled = no.disabled = True
        nxt.disabled = False
        nxt.description = ("See the round summary" if len(drill.queue) == 1 and fb.correct
                           else "Next patient")

    @_guard(error)
    def next_item(_: Any = None) -> None:
        drill.next()
        show()

    @_guard(error)
    def new_round(_: Any = None) -> None:
        drill.reset()
        show()

    yes.on_click(lambda _: answer(True))
    no.on_click(lambda _: answer(False))
    nxt.on_click(next_item)
    restart.on_click(new_round)
    show()
    return _panel(progress, prompt, w.HBox([yes, no, nxt]), feedback, score, summary,
                  w.HBox([restart]), css="ub-drill", error=error)


# --- Notebook 2: causes -------------------------------------------------------------------------

@_builder
def causes_overview(kb: m.KnowledgeBase) -> w.Widget:
    """The causes grouped by family, the heart-attack warning set apart."""
    groups = []
    for group, conds in quiz.causes_by_group(kb):
        warning = group in quiz.WARNING_GROUPS
        rules: list[m.TriageRule] = []
        if warning:
            linked = {x.finding_id for x in kb.condition_findings
                      if kb.conditions[x.condition_id].group == group}
            rules = [r for r in lookup.rules_in_order(kb)
                     if quiz.sends_to_hospital(r.urgency) and linked & set(r.findings)]
        groups.append((group, conds, warning, rules))
    return _panel(_content(_html("causes_overview", kb, groups, _src(kb)),
                           "ub-causes-groups"), css="ub-causes-overview")


@_builder
def likelihood_ratios(kb: m.KnowledgeBase) -> w.Widget:
    """What a likelihood ratio is, with a worked example computed by the same arithmetic the
    differential uses (prior odds times likelihood ratios)."""
    prior = 0.10
    up, down = quiz.post_test_probability(prior, 5.0), quiz.post_test_probability(prior, 0.2)
    return _panel(_content(_html("likelihood_ratios", kb, prior, up, down, _lr_example(kb),
                                 quiz.LR_BANDS_SOURCE, _src(kb)), "ub-lr-text"), css="ub-lr")


def _lr_example(kb: m.KnowledgeBase) -> m.ConditionFinding | None:
    """One real link from the knowledge base, read aloud: the largest LR+ of a published one
    when there is one."""
    links = sorted(kb.condition_findings, key=lambda x: (x.basis != "published", -x.lr_positive,
                                                         x.condition_id, x.finding_id))
    return links[0] if links else None


def _nested(kb: m.KnowledgeBase, c: m.Condition) -> bool:
    """Indent a refinement only under a parent shown in the same group."""
    return bool(c.parent) and kb.conditions[str(c.parent)].group == c.group


#: Chart titles: drawn on the chart and given as the image's text alternative.
HEATMAP_TITLE = "How much a yes raises the odds of each cause (likelihood ratio, LR+)"
TESTS_TITLE = "How many causes each test helps confirm or exclude"
LADDER_TITLE = "The treatment ladder: start at the top, with care without medicine"
RISK_TITLE = "Causes these risk factors point to (not a risk score)"


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
    _titled(fig, HEATMAP_TITLE, source)
    return _png(fig)

@_builder
def finding_cause_explorer(kb: m.KnowledgeBase) -> w.Widget:
    """A heatmap of which findings point to which causes, filtered by widget, with details."""
    group = w.Dropdown(description="Causes", options=[("All causes", "")] + [
        (quiz.group_label(g), g) for g, _ in quiz.causes_by_group(kb)],
        style={"description_width": "initial"})
    kinds = {f.kind for f in kb.findings.values()}
    kind = w.Dropdown(description="Findings", options=[("All findings", "")] + [
        (f"Red flags: {quiz.urgency_label(u).lower()}", u) for u in m.URGENCIES if u in kinds]
        + [("History", "history")], style={"description_width": "initial"})
    top = w.Checkbox(description="Top-level causes only", value=False, indent=False)
    chart = Chart(b"", "ub-heatmap", HEATMAP_TITLE)
    holder = w.Box([chart])
    caption = w.HTML()
    caption.add_class("ub-heat-caption")
    condition = w.Dropdown(description="Look closer at", style={"description_width": "initial"})
    details = w.HTML()
    details.add_class("ub-heat-details")
    error = kit.error_banner()
    group.add_class("ub-heat-group")
    kind.add_class("ub-heat-kind")
    condition.add_class("ub-heat-condition")
    src = _src(kb)

    @_guard(error)
    def redraw(_: Any = None) -> None:
        mat = quiz.link_matrix(kb, group.value or None, kind.value or None, top.value)
        if not mat.finding_ids:
            holder.children = ()
        else:
            chart.show(heatmap_png(mat, f"upperback knowledge base {kb.version}, "
                                   "condition_findings.csv"))
            holder.children = (chart,)
        caption.value = _html("heat_caption", len(mat.finding_ids), len(mat.condition_ids),
                              quiz.LR_BANDS_SOURCE)
        current = condition.value
        condition.options = list(zip(mat.condition_names, mat.condition_ids, strict=True))
        # keep the learner's pick when it is still shown, else show the first cause
        condition.value = current if current in mat.condition_ids else (
            mat.condition_ids[0] if mat.condition_ids else None)
        describe()  # a new option list may change the selection without a change event

    @_guard(error)
    def describe(_: Any = None) -> None:
        cid = condition.value
        details.value = (_html("heat_details", kb, kb.conditions[cid],
                               lookup.findings_of(kb, cid), src) if cid else "")

    for control in (group, kind, top):
        control.observe(redraw, names="value")
    condition.observe(describe, names="value")
    redraw()
    describe()
    filters = w.HBox([group, kind, top])
    filters.add_class("ub-teaching-filters")
    return _panel(filters, caption, holder, condition, details, css="ub-explorer",
                  error=error)


# --- Notebook 3: cases --------------------------------------------------------------------------

def _progress_html(kb: m.KnowledgeBase, results: dict[str, quiz.CaseResult],
                   total_cases: int) -> str:
    """The running total across the cases and the student's results as a CSV download (a
    data: link the browser saves; nothing is written on the server)."""
    if not results:
        return _html("case_progress", total_cases, [], 0, 0, "")
    cases = {c.case_id: c for c in quiz.load_cases(kb)}
    rows = [course.ResultRow(
        cid, cases[cid].title, r.points, r.max_points, quiz.urgency_label(r.chosen_urgency),
        quiz.urgency_label(r.engine_urgency),
        "; ".join(kb.conditions[x].name for x in r.named),
        "; ".join(kb.conditions[x].name for x in r.missed)) for cid, r in results.items()]
    data = base64.b64encode(course.results_csv(rows, kb.version).encode("utf-8")).decode()
    return _html("case_progress", total_cases, rows, sum(r.points for r in rows),
                 sum(r.max_points for r in rows), data)


@_builder
def case_quiz(kb: m.KnowledgeBase) -> w.Widget:
    """Pick a case, choose an urgency and the likely causes, get scored, explained feedback."""
    cases = {c.case_id: c for c in quiz.load_cases(kb)}
    if not cases:
        return _panel(_content(_html("notice", "There are no teaching cases in the knowledge "
                                     "base yet."), "ub-case-none"), css="ub-case-quiz")
    pick = w.Dropdown(options=[(f"{c.display_order}. {c.title}", c.case_id)
                               for c in cases.values()], description="Case",
                      layout=w.Layout(width="32em", max_width="100%"))
    story = w.HTML()
    urgency = w.RadioButtons(options=[(quiz.urgency_label(u), u) for u in m.URGENCIES],
                             value=None, layout=w.Layout(width="auto"))
    boxes: dict[str, w.Checkbox] = {}
    columns = []
    for g, conds in quiz.causes_by_group(kb):
        col: list[w.Widget] = [w.HTML(_html("group_heading", g))]
        for c in conds:
            cb = w.Checkbox(description=c.name, value=False, indent=False)
            cb.add_class(f"ub-cause-{c.condition_id}")
            if _nested(kb, c):
                cb.add_class("ub-nested")
            boxes[c.condition_id] = cb
            col.append(cb)
        column = w.VBox(col)
        column.add_class("ub-case-group")
        columns.append(column)
    check = w.Button(description="Check my answer", button_style="primary")
    feedback = w.HTML()
    explanation = w.HTML()
    progress = w.HTML(_progress_html(kb, {}, len(cases)))
    error = kit.error_banner()
    results: dict[str, quiz.CaseResult] = {}  # this learner's latest answer per case, in memory
    for widget, css in ((pick, "ub-case-select"), (story, "ub-case-vignette"),
                        (urgency, "ub-case-urgency"), (check, "ub-case-check"),
                        (feedback, "ub-case-feedback"), (explanation, "ub-case-explanation"),
                        (progress, "ub-case-progress")):
        widget.add_class(css)

    @_guard(error)
    def load(_: Any = None) -> None:
        case = cases[pick.value]
        yes, no, unasked = quiz.case_answer_summary(case, kb)
        screen = (f"{len(no)} red-flag or history questions answered no"
                  + (f"; {unasked} red-flag questions not asked." if unasked else
                     "; every red-flag question was asked."))
        story.value = _html("case_story", case, yes, screen)
        urgency.value = None
        for cb in boxes.values():
            cb.value = False
        feedback.value = explanation.value = ""

    @_guard(error)
    def score(_: Any = None) -> None:
        if urgency.value is None:
            feedback.value = _html("box_message", "Choose an urgency first, then tick the "
                                   "causes you think most likely.")
            return
        case = cases[pick.value]
        r = quiz.score_case(case, urgency.value, [c for c, cb in boxes.items() if cb.value], kb)
        feedback.value = _html("case_feedback", r)
        explanation.value = _html("case_explanation", r.reasons)
        results[case.case_id] = r
        progress.value = _progress_html(kb, {k: results[k] for k in cases if k in results},
                                        len(cases))

    every = _content(_html("all_cases", list(cases.values())), "ub-case-all")
    pick.observe(load, names="value")
    check.on_click(score)
    load()
    grid = w.HBox(columns)
    grid.add_class("ub-case-groups")
    return _panel(
        pick, story, w.HTML(_html("case_step", 1, "How urgent is it?")), urgency,
        w.HTML(_html("case_step", 2, "Which causes are most likely?", "Tick one or more.")),
        grid, check, feedback, explanation, progress, every, css="ub-case-quiz", error=error)


# --- Notebook 4: work-up and treatment ----------------------------------------------------------

@_builder
def test_explorer(kb: m.KnowledgeBase) -> w.Widget:
    """Pick a cause to see which tests answer "is it this?", and why."""
    opts = [(("\u2003" if _nested(kb, c) else "") + c.name, c.condition_id)
            for _, cs in quiz.causes_by_group(kb) for c in cs]
    pick = w.Dropdown(options=opts, description="Is it", style={"description_width": "initial"},
                      layout=w.Layout(width="30em", max_width="100%"))
    out = w.HTML()
    out.add_class("ub-tests-answer")
    pick.add_class("ub-tests-pick")
    error = kit.error_banner()
    baseline = [t for t in kb.tests.values() if t.baseline]

    @_guard(error)
    def show(_: Any = None) -> None:
        out.value = _html("tests_answer", kb, lookup.tests_of(kb, pick.value), baseline,
                          _src(kb))

    pick.observe(show, names="value")
    show()
    return _panel(pick, out, css="ub-tests-explorer", error=error)


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
    _titled(fig, TESTS_TITLE,
            f"upperback knowledge base {kb.version} (diagnostic_tests.csv, test_conditions.csv)")
    return _png(fig)

@_builder
def tests_overview(kb: m.KnowledgeBase) -> w.Widget:
    """Every test: what it shows and which causes it helps with; and the chart."""
    table = _content(_html("tests_overview", kb, quiz.test_questions(kb), _src(kb)),
                     "ub-tests-table")
    return _panel(Chart(tests_chart_png(kb), "ub-tests-chart", TESTS_TITLE), table,
                  css="ub-tests-overview")


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
    ax.set_xticks(range(4), [kit.word("invasiveness", i).replace(" ", "\n", 1)
                                 for i in range(4)],
                  fontsize=7)
    ax.set_xlabel("Invasiveness")
    for a in colour:
        ax.bar(0, 0, color=colour[a], label=kit.word("access", a))
    ax.legend(title="How it is obtained", fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1))
    ax.tick_params(axis="y", labelsize=9)
    _titled(fig, LADDER_TITLE,
            f"upperback knowledge base {kb.version} (treatments.csv)")
    return _png(fig)

@_builder
def treatment_ladder(kb: m.KnowledgeBase) -> w.Widget:
    """The treatment ladder: chart, then a table with the cautions the evidence adds and when
    not to offer each treatment (its contraindications)."""
    rows = [(t, quiz.do_not_offer(kb, t.treatment_id)) for t in lookup.treatment_ladder(kb)]
    table = _content(_html("treatment_ladder", rows, _src(kb)), "ub-ladder-table")
    return _panel(Chart(ladder_chart_png(kb), "ub-ladder-chart", LADDER_TITLE), table,
                  css="ub-ladder")


# --- Notebook 5: risk, prevention, prognosis ----------------------------------------------------

@_builder
def risk_factor_table(kb: m.KnowledgeBase) -> w.Widget:
    """Risk factors split into those a patient can change and those they cannot."""
    rfs = list(kb.risk_factors.values())
    return _panel(_content(_html("risk_factor_table", [r for r in rfs if r.modifiable],
                                 [r for r in rfs if not r.modifiable], _src(kb)),
                           "ub-risk-table"), css="ub-risk-factors-panel")


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
    _titled(fig, RISK_TITLE, source)
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
    chart = Chart(b"", "ub-risk-chart", RISK_TITLE)
    holder = w.Box([])
    error = kit.error_banner()

    @_guard(error)
    def update(_: Any = None) -> None:
        p = quiz.risk_profile(kb, [k for k, cb in boxes.items() if cb.value])
        summary.value = _html("risk_summary", p)
        if p.present and p.causes:
            chart.show(risk_chart_png(p, source=f"upperback knowledge base {kb.version}, "
                                      "risk_factors.csv and condition_findings.csv"))
            holder.children = (chart,)
        else:
            holder.children = ()

    for cb in boxes.values():
        cb.observe(update, names="value")
    update()
    ticks = w.HBox(list(boxes.values()))
    ticks.add_class("ub-risk-ticks")
    return _panel(ticks, summary, holder, css="ub-risk", error=error)


@_builder
def prevention_and_prognosis(kb: m.KnowledgeBase) -> w.Widget:
    """Prevention (from the changeable risk factors), complications and the usual course."""
    number = emergency_number()

    def fill(text: str) -> str:
        return text.replace("{emergency_number}", number)

    usual = [(fill(a.headline), fill(a.advice), fill(a.safety_net), a.source_id)
             for u, a in kb.advice.items() if u in ("self_care", "see_provider")]
    changeable = [r for r in kb.risk_factors.values() if r.modifiable]
    return _panel(_content(_html("prevention_and_prognosis", changeable, usual,
                                 list(kb.complications.values()), _src(kb)),
                           "ub-prevention-text"), css="ub-prevention")


# --- Educator answer key ------------------------------------------------------------------------

#: The lesson each self-check belongs to, as the answer key titles it.
CHECK_TITLES = {"causes": "Lesson 2", "workup": "Lesson 4", "risk": "Lesson 5",
                "must_not_miss": "Lesson 6"}


@_builder
def answer_key(kb: m.KnowledgeBase) -> w.Widget:
    """The educator's key: every case and drill item with the engine's answer, computed now."""
    checks = [(CHECK_TITLES.get(t, t), quiz.self_checks(kb, t)) for t in quiz.CHECK_TOPICS]
    return _panel(_content(_html("answer_key", kb, quiz.answer_key(kb), quiz.drill_items(kb),
                                 checks, _src(kb)), "ub-answer-key-text"),
                  css="ub-answer-key")


# --- Self-checks (lessons 2, 4, 5, 6) -----------------------------------------------------------

def _self_check(kb: m.KnowledgeBase, topic: str) -> w.Widget:
    """A short multiple-choice check: answer, get kind feedback with the reason and its
    source, go on; a tally and "Start again" that really starts again."""
    questions = quiz.self_checks(kb, topic)
    if not questions:
        return _panel(_content(_html("notice", "The knowledge base has nothing to ask about "
                                     "here yet."), "ub-check-none"),
                      css=f"ub-self-check-{topic}")
    state: dict[str, Any] = {"i": 0, "answered": 0, "correct": 0}
    progress = w.HTML()
    question = w.HTML()
    choice = w.RadioButtons(options=[], value=None, layout=w.Layout(width="auto"))
    check = w.Button(description="Check my answer", button_style="primary")
    nxt = w.Button(description="Next question", disabled=True)
    again = w.Button(description="Start again")
    feedback = w.HTML()
    tally = w.Label()
    error = kit.error_banner()
    for widget, css in ((question, "ub-check-question"), (choice, "ub-check-choice"),
                        (check, "ub-check-check"), (nxt, "ub-check-next"),
                        (again, "ub-check-again"), (feedback, "ub-check-feedback"),
                        (tally, "ub-check-tally"), (progress, "ub-check-progress")):
        widget.add_class(css)

    def show() -> None:
        q = questions[state["i"]]
        progress.value = _html("check_progress", state["i"] + 1, len(questions))
        question.value = _html("check_question", q)
        choice.options = list(q.options)
        choice.value = None
        choice.disabled = check.disabled = False
        nxt.disabled = True
        feedback.value = ""
        tally.value = quiz.score_line(state["correct"], state["answered"])

    @_guard(error)
    def answer(_: Any = None) -> None:
        q = questions[state["i"]]
        if choice.value is None:
            feedback.value = _html("box_message", "Choose an answer first.")
            return
        fb = quiz.check_answer(q, choice.value)
        state["answered"] += 1
        state["correct"] += fb.correct
        tally.value = quiz.score_line(state["correct"], state["answered"])
        choice.disabled = check.disabled = True
        nxt.disabled = state["i"] == len(questions) - 1
        done = (state["correct"], state["answered"]) if nxt.disabled else None
        feedback.value = _html("check_feedback", fb, done)

    @_guard(error)
    def next_question(_: Any = None) -> None:
        state["i"] += 1
        show()

    @_guard(error)
    def restart(_: Any = None) -> None:
        state.update(i=0, answered=0, correct=0)
        show()

    check.on_click(answer)
    nxt.on_click(next_question)
    again.on_click(restart)
    show()
    box = _panel(progress, question, choice, w.HBox([check, nxt, again]), feedback, tally,
                 css="ub-self-check", error=error)
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
        return _panel(_content(_html("notice", "This knowledge base has none of the "
                                     "must-not-miss causes yet."), "ub-mnm-none"),
                      css="ub-must-not-miss")
    causes = [(c, lookup.findings_of(kb, c.condition_id)[:4],
               lookup.tests_of(kb, c.condition_id)) for c in conds]
    return _panel(_content(_html("must_not_miss", kb, causes, quiz.must_not_miss_rules(kb),
                                 _src(kb)), "ub-must-not-miss-text"), css="ub-must-not-miss")


# --- The course page ----------------------------------------------------------------------------

@_builder
def course_index(kb: m.KnowledgeBase) -> w.Widget:
    """The lessons in order, with links that open each one (in Voilà and in JupyterLab)."""
    return _panel(_content(_html("course_index", course.LESSONS), "ub-course-links"),
                  css="ub-course")
