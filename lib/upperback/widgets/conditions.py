"""The cause explorer: pick a cause and read what it is, its code, findings, red flags, tests,
treatments and sources."""

from __future__ import annotations

from html import escape

import ipywidgets as w

from .._citation import NOT_RECHECKED, reference
from .._loader import load_knowledge_base
from .._model import KnowledgeBase, urgency_rank
from . import _common as c


def condition_html(kb: KnowledgeBase, condition_id: str) -> str:
    """Everything the knowledge base says about one cause, with a source for each claim."""
    cond = kb.conditions[condition_id]
    used: list[str] = [cond.source_id]
    p = [f"<div class='ub-condition' data-condition='{escape(condition_id)}'>"
         f"<h2>{escape(cond.name)}</h2><p>{escape(cond.description)} "
         f"{c.cite(kb, cond.source_id)}</p><p><strong>Group:</strong> {escape(cond.group)}"]
    if cond.parent:
        p.append(f"; a kind of <strong>{escape(kb.conditions[cond.parent].name)}</strong>")
    p.append("</p><p><strong>ICD-10-CM:</strong> "
             + (f"<code>{escape(cond.icd10cm)}</code>" if cond.icd10cm else "no code given")
             + (f" &mdash; {escape(cond.icd10cm_note)}" if cond.icd10cm_note else "") + "</p>")
    if cond.evidence_note:
        p.append(f"<p class='ub-warn'><strong>Evidence note:</strong> "
                 f"{escape(cond.evidence_note)}</p>")
    if cond.cant_miss:
        p.append("<p class='ub-warn'><strong>Must not miss:</strong> flagged in every "
                 "assessment with an answer for it, even when less likely than benign causes."
                 "</p>")
    p.append(f"<p><strong>Usual course:</strong> {escape(cond.prognosis)} "
             f"{c.cite(kb, cond.prognosis_source_id)}</p>")
    used.append(cond.prognosis_source_id)
    priors = sorted((x for x in kb.priors if x.condition_id == condition_id),
                    key=lambda x: (x.age_min, x.age_max))
    p.append("<h3>How often it causes upper back pain (prior)</h3><table class='ub-priors'>"
             "<tr><th scope='col'>Ages</th><th scope='col'>Prior</th>"
             "<th scope='col'>Basis</th><th scope='col'>Note</th></tr>")
    for pr in priors:
        used.append(pr.source_id)
        p.append(f"<tr><td>{pr.age_min}&ndash;{pr.age_max}</td><td>{pr.prior:.2%}</td>"
                 f"<td>{escape(pr.basis.replace('_', ' '))}</td><td>{escape(pr.note or '')} "
                 f"{c.cite(kb, pr.source_id)}</td></tr>")
    p.append("</table>")

    links = sorted((x for x in kb.condition_findings if x.condition_id == condition_id),
                   key=lambda x: (-x.lr_positive, x.finding_id))
    p.append("<h3>Findings and their likelihood ratios</h3>")
    if links:
        p.append("<p class='ub-help'>LR+ multiplies the odds of this cause when the answer is "
                 "yes, LR&minus; when it is no; near 1 means the answer says little.</p>"
                 "<table class='ub-findings'><tr><th scope='col'>Finding</th>"
                 "<th scope='col'>LR+</th><th scope='col'>LR&minus;</th>"
                 "<th scope='col'>Basis</th><th scope='col'>Why</th></tr>")
        for x in links:
            used.append(x.source_id)
            p.append(f"<tr><td>{escape(kb.findings[x.finding_id].label)}</td>"
                     f"<td>{x.lr_positive:g}</td><td>{x.lr_negative:g}</td>"
                     f"<td>{escape(x.basis.replace('_', ' '))}</td>"
                     f"<td>{escape(x.note)} {c.cite(kb, x.source_id)}</td></tr>")
        p.append("</table>")
    else:
        p.append("<p>No findings are linked to this cause in the knowledge base.</p>")

    linked = {x.finding_id for x in links}
    rules = [r for r in kb.rules.values() if linked & set(r.findings)]
    rules.sort(key=lambda r: (-urgency_rank(r.urgency), r.rule_id))
    p.append("<h3>Red flags that matter for it</h3>")
    if rules:
        p.append("<ul class='ub-red-flags'>")
        for r in rules:
            used.append(r.source_id)
            p.append(f"<li>[{c.URGENCY_WORDS[r.urgency]}] <strong>{escape(r.label)}</strong>: "
                     f"{escape(r.rationale)} {c.cite(kb, r.source_id)}</li>")
        p.append("</ul>")
    else:
        p.append("<p>None of its findings is a red flag on its own; the whole red-flag "
                 "screen still applies.</p>")

    tests = [x for x in kb.test_conditions if x.condition_id == condition_id]
    p.append("<h3>Tests and why</h3><ul class='ub-tests'>")
    for t in tests:
        used.append(t.source_id)
        p.append(f"<li><strong>{escape(kb.tests[t.test_id].name)}</strong>: {escape(t.reason)} "
                 f"{c.cite(kb, t.source_id)}</li>")
    if not tests:
        p.append("<li>The baseline assessment only (history and examination).</li>")
    p.append("</ul>")

    treats = [x for x in kb.treatment_conditions if x.condition_id == condition_id]
    p.append("<h3>Treatments</h3><ul class='ub-treatments'>")
    for tc in treats:
        tr = kb.treatments[tc.treatment_id]
        used.append(tc.source_id)
        p.append(f"<li><strong>{escape(tr.name)}</strong> "
                 f"({escape(c.CATEGORY_WORDS.get(tr.category, tr.category))}; "
                 f"{escape(c.ACCESS_WORDS.get(tr.access, tr.access))}): {escape(tc.note)} "
                 f"{c.cite(kb, tc.source_id)}</li>")
    if not treats:
        p.append("<li>No specific treatment is listed; see general care.</li>")
    p.append("</ul><h3>Sources</h3><ul class='ub-sources'>")
    for sid in dict.fromkeys(used):
        src = kb.sources.get(sid)
        if src is None:
            continue
        flag = "" if src.checked_here else f" <em>({NOT_RECHECKED})</em>"
        p.append(f"<li>{escape(reference(kb, sid))}{flag}</li>")
    p.append("</ul></div>")
    return "".join(p)


class ConditionsExplorer(w.VBox):  # type: ignore[misc]
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.error = c.error_banner()
        options = sorted(((f"{x.name} ({x.icd10cm})" if x.icd10cm else x.name, x.condition_id)
                          for x in kb.conditions.values()), key=lambda o: o[0].lower())
        self.picker = w.Dropdown(options=options, description="Cause",
                                 layout=w.Layout(width="32em"))
        self.picker.add_class("ub-condition-picker")
        self.detail = w.HTML()
        self.detail.add_class("ub-condition-detail")
        self.picker.observe(c.guard(self.error)(lambda _ch: self.show()), names="value")
        super().__init__([c.style(), c.footer(kb), self.error, self.picker, self.detail,
                          c.footer(kb)])
        self.add_class("ub-app")
        self.add_class("ub-conditions")
        self.show()

    def show(self) -> None:
        if self.picker.value is not None:
            self.detail.value = condition_html(self.kb, self.picker.value)


def build_conditions_explorer(kb: KnowledgeBase | None = None) -> ConditionsExplorer | w.VBox:
    loaded = kb if kb is not None else c.load_or_message(load_knowledge_base)
    if isinstance(loaded, w.VBox):
        return loaded
    return ConditionsExplorer(loaded)
