"""An assessment as HTML, one section at a time: shared by the assessment dashboard and the
printable report, so the screen and the paper say the same things.

No widgets here (the report must work without ipywidgets). Every value from the knowledge
base, the engine or the user is HTML-escaped. A `Face` says how the sections are dressed for
where they are shown: heading level, citation class, whether questions link back to the
checklist and whether the long tail of causes starts collapsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ._citation import citation_html
from ._engine import Assessment, Candidate, Evidence
from ._model import KnowledgeBase

__all__ = [
    "ACCESS_WORDS",
    "BASIS_WORDS",
    "CATEGORY_WORDS",
    "INVASIVENESS_WORDS",
    "REPORT",
    "SCREEN",
    "SHOWN_CAUSES",
    "URGENCY_ICON",
    "URGENCY_WORDS",
    "Face",
    "banner_html",
    "causes_html",
    "complications_html",
    "not_screened_html",
    "results_html",
    "risk_factors_html",
    "treatments_html",
    "workup_html",
    "would_change_html",
]

URGENCY_WORDS = {
    "ambulance": "Ambulance now",
    "emergency": "Emergency department now",
    "urgent": "Urgent: today",
    "see_provider": "See a provider within days",
    "incomplete": "Incomplete",
    "self_care": "Self-care",
}
URGENCY_ICON = {"ambulance": "!!!", "emergency": "!!", "urgent": "!", "see_provider": "i",
                "incomplete": "?", "self_care": "OK"}
BASIS_WORDS = {"published": "published figures", "guideline": "guideline",
               "expert_estimate": "expert estimate"}
CATEGORY_WORDS = {
    "medication": "Medication",
    "non_drug": "Non-drug care",
    "procedure_surgery": "Procedures and surgery",
}
ACCESS_WORDS = {
    "otc": "Over the counter",
    "prescription": "Prescription",
    "clinician": "Given by a clinician",
    "self_care": "Self-care",
}
INVASIVENESS_WORDS = {0: "0 non-invasive", 1: "1 hands-on", 2: "2 minimally invasive",
                      3: "3 surgery"}

#: Causes listed in full; the rest sit in a `<details>` list below them.
SHOWN_CAUSES = 5


@dataclass(frozen=True)
class Face:
    """How the shared sections are dressed for one place they are shown."""

    #: Level of section headings (`h3` on screen); sub-headings are one level deeper.
    heading: int = 3
    #: CSS class of source citations.
    cite_class: str = "ub-src"
    #: Questions are links to their checklist row (`#q-<finding id>`): only on screen.
    link_findings: bool = False
    #: The lower-scoring causes start collapsed; a printed page shows them open.
    collapse_causes: bool = True


#: The assessment dashboard.
SCREEN = Face(heading=3, cite_class="ub-src", link_findings=True, collapse_causes=True)
#: The printable report: no links out of the page, nothing hidden from the printer.
REPORT = Face(heading=2, cite_class="src", link_findings=False, collapse_causes=False)


def _words(words: dict[str, str], code: str) -> str:
    return escape(words.get(code, code))


def _urgency(code: str) -> str:
    return _words(URGENCY_WORDS, code)


def _cite(kb: KnowledgeBase, source_id: str | None, face: Face) -> str:
    return citation_html(kb, source_id, css_class=face.cite_class)


def _cites(kb: KnowledgeBase, source_ids: tuple[str, ...], face: Face) -> str:
    return " ".join(_cite(kb, s, face) for s in source_ids)


def _h(face: Face, text: str, deeper: int = 0) -> str:
    n = min(face.heading + deeper, 6)
    return f"<h{n}>{escape(text)}</h{n}>"


def _label(kb: KnowledgeBase, finding_id: str) -> str:
    f = kb.findings.get(finding_id)
    return escape(f.label if f else finding_id)


def _question(kb: KnowledgeBase, finding_id: str, face: Face) -> str:
    """A question's label; on screen, a link to its row in the checklist."""
    if face.link_findings:
        return f"<a href='#q-{escape(finding_id, quote=True)}'>{_label(kb, finding_id)}</a>"
    return _label(kb, finding_id)


# -- the urgency block ------------------------------------------------------------------------
def banner_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """The urgency banner: word and icon, headline, advice, the rules that fired (with their
    answers and sources), the emergency-screen-incomplete box, unanswered see-a-provider
    questions and the safety net."""
    u = escape(a.urgency, quote=True)
    parts = [
        f"<div class='ub-banner ub-u-{u}' data-urgency='{u}' role='status' "
        f"aria-live='polite'><div class='ub-word'>[{escape(URGENCY_ICON.get(a.urgency, '?'))}] "
        f"{_urgency(a.urgency).upper()}</div><div><strong>{escape(a.headline)}</strong></div>"
        f"<div>{escape(a.advice)} {_cite(kb, a.advice_source_id, face)}</div>"]
    if a.fired:
        parts.append("<div class='ub-fired'><strong>Why:</strong><ul>")
        for r in a.fired:
            parts.append(f"<li><strong>{escape(r.label)}</strong> "
                         f"({_urgency(r.urgency).lower()}): {escape(r.rationale)} "
                         f"Answers: {'; '.join(_label(kb, f) for f in r.findings)} "
                         f"{_cite(kb, r.source_id, face)}</li>")
        parts.append("</ul></div>")
    if a.raised_by:
        names = {c.condition_id: c for c in _all_candidates(a)}
        parts.append("<div class='ub-raised-by'><strong>Raised by a likely cause:</strong><ul>")
        for cid in a.raised_by:
            c = names[cid]
            cond = kb.conditions[cid]
            parts.append(f"<li><strong>{escape(c.name)}</strong> is estimated at "
                         f"{_percent(c.probability)} ({escape(BASIS_WORDS.get(c.basis, c.basis))})"
                         f", past the {_percent(cond.urgency_threshold or 0)} at which it needs "
                         f"{_urgency(c.min_urgency or a.urgency).lower()} (threshold: "
                         f"{escape(BASIS_WORDS.get(cond.threshold_basis or '', ''))}). "
                         f"{_cite(kb, c.prior_source_id, face)} "
                         f"{_cite(kb, cond.threshold_source_id, face)}</li>")
        parts.append("</ul></div>")
    if not a.emergency_screen_complete:
        n = len(a.unanswered_emergency)
        parts.append(
            f"<div class='ub-warn ub-emergency-incomplete'><strong>Emergency screen "
            f"incomplete: {n} question{'s' * (n != 1)} unanswered.</strong><ul>"
            + "".join(f"<li>{_question(kb, f, face)}</li>" for f in a.unanswered_emergency)
            + "</ul></div>")
    emergency = set(a.unanswered_emergency)
    other = [f for f in a.unanswered_red_flags if f not in emergency]
    if other:
        parts.append("<div class='ub-unanswered'><strong>Unanswered see-a-provider "
                     "questions:</strong> "
                     + "; ".join(_question(kb, f, face) for f in other) + "</div>")
    parts.append(f"<div class='ub-safety-net'><strong>Safety net:</strong> "
                 f"{escape(a.safety_net)}</div></div>")
    return "".join(parts)


# -- the explained results --------------------------------------------------------------------
def _all_candidates(a: Assessment) -> list[Candidate]:
    out: list[Candidate] = []

    def walk(c: Candidate) -> None:
        out.append(c)
        for sub in c.subtypes:
            walk(sub)

    for c in a.candidates:
        walk(c)
    return out


def _percent(p: float) -> str:
    """An estimate as a percentage, never falsely precise."""
    if p < 0.001:
        return "under 0.1%"
    if p < 0.01:
        return f"{p * 100:.1f}%"
    return f"{round(p * 100)}%"


def _evidence(kb: KnowledgeBase, e: Evidence) -> str:
    answer = "yes" if e.answer else "no"
    return (f"{escape(e.label.rstrip('?'))}: <em>{answer}</em> "
            f"(LR {e.likelihood_ratio:g}, {escape(BASIS_WORDS.get(e.basis, e.basis))})")


def _cause_item(a: Assessment, kb: KnowledgeBase, cand: Candidate, face: Face,
                css: str = "ub-cause") -> str:
    code = f", ICD-10-CM {escape(cand.icd10cm)}" if cand.icd10cm else ""
    flag = (" <span class='ub-cant-miss'>must not miss</span>" if cand.cant_miss else "")
    p = [f"<li class='{css}' data-condition='{escape(cand.condition_id, quote=True)}'><strong>"
         f"{escape(cand.name)}</strong>{flag}: estimated {_percent(cand.probability)} "
         f"(prior {_percent(cand.prior)}; {escape(BASIS_WORDS.get(cand.basis, cand.basis))}"
         f"{code})"]
    if cand.supporting:
        p.append("<br>For: " + "; ".join(_evidence(kb, e) for e in cand.supporting))
    if cand.against:
        p.append("<br>Against: " + "; ".join(_evidence(kb, e) for e in cand.against))
    p.append(f"<br><em>Course:</em> {escape(cand.prognosis)} "
             f"{_cite(kb, cand.prognosis_source_id, face)}")
    # the condition's source, its prior's, then those of the answers that moved it (once each)
    sources = tuple(dict.fromkeys([cand.source_id, cand.prior_source_id,
                                   *(e.source_id for e in (*cand.supporting, *cand.against))]))
    p.append(f" {_cites(kb, sources, face)}")
    if cand.subtypes:
        p.append("<ul class='ub-subtypes'>" + "".join(
            _cause_item(a, kb, sub, face, "ub-subtype") for sub in cand.subtypes) + "</ul>")
    p.append("</li>")
    return "".join(p)


def causes_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Possible causes as estimated probabilities (prior odds x likelihood ratios of the
    answers) with the answers for and against each and the basis of the numbers; subtypes
    under their parent; can't-miss causes flagged even when less likely than benign ones.
    After the first `SHOWN_CAUSES`, the rest sit in a `<details>` list (collapsed on screen)."""
    p = [_h(face, "Possible causes (estimates, not a diagnosis)")]
    if a.cant_miss:
        p.append("<div class='ub-warn ub-cant-miss-list'><strong>Must not miss:</strong> "
                 "less likely than the causes below, but dangerous if missed: "
                 + "; ".join(f"{escape(c.name)} (estimated {_percent(c.probability)})"
                             for c in a.cant_miss) + ".</div>")
    p.append("<ol class='ub-causes'>")
    for i, cand in enumerate(a.candidates):
        if i == SHOWN_CAUSES:  # the long tail stays one click away, still explained
            opened = "" if face.collapse_causes else " open"
            p.append(f"</ol><details class='ub-more'{opened}><summary>"
                     f"{len(a.candidates) - i} less likely causes</summary>"
                     f"<ol start='{i + 1}' class='ub-causes'>")
        p.append(_cause_item(a, kb, cand, face))
    p.append("</ol>" + ("</details>" if len(a.candidates) > SHOWN_CAUSES else ""))
    p.append("<p class='ub-lr-note'>Each estimate starts from how often the cause explains "
             "upper back pain in primary care (the prior) and is multiplied by the likelihood "
             "ratio (LR) of each answer: above 1 makes it likelier, below 1 less likely. "
             "Where the basis says expert estimate, the evidence is thin.</p>")
    return "".join(p)


def workup_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    p = [_h(face, "Suggested work-up"), "<ul class='ub-workup'>"]
    for wk in a.workup:
        p.append(f"<li><strong>{escape(wk.name)}</strong>: {escape(' '.join(wk.reasons))} "
                 f"{_cites(kb, wk.source_ids, face)}</li>")
    p.append("</ul>")
    return "".join(p)


def _check_before(kb: KnowledgeBase, finding_ids: tuple[str, ...]) -> str:
    """Unanswered contraindicating questions: asked before the option is offered."""
    if not finding_ids:
        return ""
    asks = "; ".join(_label(kb, f) for f in finding_ids)
    return f" <span class='ub-check-before'><strong>Ask first:</strong> {asks}</span>"


def treatments_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Treatment options by category (access, what they are for, what to ask first, evidence),
    then those withheld by an answer; secondary in an emergency."""
    p = [_h(face, "Treatment options")]
    if a.treatments_secondary:
        p.append("<div class='ub-warn ub-secondary'><strong>Emergency: treatment options are "
                 "secondary.</strong> Arrange emergency care first; do not delay for "
                 "these.</div>")
    for cat in ("non_drug", "medication", "procedure_surgery"):  # non-drug first (ACP 2017)
        words = CATEGORY_WORDS[cat]
        items = [t for t in a.treatments if t.category == cat]
        if not items:
            continue
        p.append(f"{_h(face, words, 1)}<ul class='ub-treatments'>")
        for t in items:
            why = ", ".join(escape(cond.name if (cond := kb.conditions.get(x)) else x)
                            for x in t.for_conditions)
            ev = (f" <em>Evidence:</em> {escape(t.evidence_note)} "
                  f"{_cite(kb, t.evidence_source_id, face)}" if t.evidence_note else "")
            p.append(f"<li data-treatment='{escape(t.treatment_id, quote=True)}'><strong>"
                     f"{escape(t.name)}</strong> ({_words(ACCESS_WORDS, t.access)}): "
                     f"{escape(t.description)}"
                     + (f" For: {why}." if why else " General care.")
                     + _check_before(kb, t.check_before)
                     + "".join(f" <span class='ub-caution'><strong>Caution:</strong> "
                               f"{escape(reason)} {_cite(kb, src, face)}</span>"
                               for _, reason, src in t.cautions)
                     + f"{ev} {_cite(kb, t.source_id, face)}</li>")
        p.append("</ul>")
    if a.withheld_treatments:
        p.append(f"{_h(face, 'Withheld: contraindicated by an answer', 1)}"
                 "<ul class='ub-withheld'>")
        for wt in a.withheld_treatments:
            p.append(f"<li><strong>{escape(wt.name)}</strong>: {escape(' '.join(wt.reasons))} "
                     f"{_cites(kb, wt.source_ids, face)}</li>")
        p.append("</ul>")
    return "".join(p)


def risk_factors_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Risk factors answered yes, with prevention advice; nothing when there are none."""
    if not a.risk_factors:
        return ""
    p = [_h(face, "Risk factors and prevention"), "<ul class='ub-risk-factors'>"]
    for rf in a.risk_factors:
        p.append(f"<li><strong>{escape(rf.name)}</strong>: {escape(rf.explanation)} "
                 f"<em>Prevention:</em> {escape(rf.prevention_advice)} "
                 f"{_cite(kb, rf.source_id, face)}</li>")
    p.append("</ul>")
    return "".join(p)


def would_change_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """The single answers that would raise the urgency, or a sentence saying there are none."""
    p = [_h(face, "What would change the decision")]
    if a.would_change:
        p.append("<ul class='ub-would-change'>" + "".join(
            f"<li>{_question(kb, d.finding_id, face)}: a yes makes it "
            f"<strong>{_urgency(d.new_urgency).lower()}</strong></li>"
            for d in a.would_change) + "</ul>")
    else:
        p.append("<p class='ub-would-change-none'>No single answer would raise the "
                 "urgency.</p>")
    return "".join(p)


def complications_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Complications of back pain to watch for (each cause's course is shown with it)."""
    if not a.complications:
        return ""
    p = [_h(face, "Complications to watch for"), "<ul class='ub-complications'>"]
    for c in a.complications:
        p.append(f"<li><strong>{escape(c.name)}</strong>: {escape(c.description)} "
                 f"{_cite(kb, c.source_id, face)}</li>")
    p.append("</ul>")
    return "".join(p)


def not_screened_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """What this checklist does not screen for, and why it matters."""
    p = [_h(face, "Not screened by this checklist"), "<ul class='ub-not-screened'>"]
    for s in a.screening_limits:
        p.append(f"<li><strong>{escape(s.condition)}</strong>: {escape(s.why_it_matters)} "
                 f"{_cite(kb, s.source_id, face)}</li>")
    p.append("</ul>")
    return "".join(p)


def results_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Every section below the banner, in screen order."""
    return "".join(section(a, kb, face) for section in (
        causes_html, workup_html, treatments_html, risk_factors_html, complications_html,
        would_change_html, not_screened_html))
