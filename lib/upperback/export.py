"""Exports of an assessment: printable HTML report and FHIR R4B QuestionnaireResponse.

Pure functions returning text or JSON-ready dicts: callers decide where the result goes (the
command line saves it with `save_atomic`; the dashboards hand it to the browser as a download).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from ._citation import citation_html
from ._engine import Assessment
from ._errors import InputFileError
from ._model import DISCLAIMER, KnowledgeBase

__all__ = [
    "EXT_DISCLAIMER",
    "EXT_KB_VERSION",
    "EXT_NOTE",
    "EXT_URGENCY",
    "QUESTIONNAIRE_URL",
    "answers_from_questionnaire_response",
    "questionnaire",
    "questionnaire_response",
    "render_html",
]

QUESTIONNAIRE_URL = "urn:upperback:questionnaire:upper-back-assessment"
_EXT = "urn:upperback:fhir:extension:"
EXT_KB_VERSION = _EXT + "kb-version"
EXT_DISCLAIMER = _EXT + "disclaimer"
EXT_NOTE = _EXT + "note"
EXT_URGENCY = _EXT + "urgency"
KB_VERSION_TAG_SYSTEM = "urn:upperback:kb-version"

URGENCY_WORDS = {
    "emergency": "EMERGENCY",
    "see_provider": "SEE A PROVIDER",
    "incomplete": "INCOMPLETE",
    "self_care": "SELF-CARE",
}
CATEGORY_WORDS = {
    "medication": "Medication",
    "non_drug": "Non-drug care",
    "procedure_surgery": "Procedures and surgery",
}


def _stamp(when: datetime | None) -> datetime:
    # A naive datetime is taken as local time; the stamp always carries its offset.
    when = when or datetime.now(UTC)
    return when.astimezone() if when.tzinfo is None else when


def _cite(kb: KnowledgeBase, source_id: str | None) -> str:
    return citation_html(kb, source_id, css_class="src")


def _label(kb: KnowledgeBase, finding_id: str) -> str:
    f = kb.findings.get(finding_id)
    return escape(f.label if f else finding_id)


_PRINT_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;margin:1.5rem auto;
 padding:0 1rem;color:#111;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;border-bottom:1px solid #999;
 margin-top:1.4rem}
.meta td{padding:0 1rem .1rem 0;vertical-align:top}
.disclaimer{border:2px solid #444;padding:.5rem .75rem;font-weight:600}
.urgency{border:3px solid #000;padding:.6rem .8rem;font-size:1.1rem}
.urgency-emergency{background:#fde2e1;border-color:#b00020}
.urgency-see_provider{background:#fff1cc;border-color:#8a5a00}
.urgency-incomplete{background:#e8eaf6;border-color:#303f9f}
.urgency-self_care{background:#e3f4e6;border-color:#1b5e20}
.warn{border-left:6px solid #b00020;padding:.3rem .6rem;background:#fff5f5}
.src{color:#444;font-size:.9em} ul{margin-top:.2rem} li{margin-bottom:.25rem}
@media print{body{margin:0;max-width:none;font-size:11pt}
 .urgency,.warn,.disclaimer{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 h2{break-after:avoid} li{break-inside:avoid} a{color:#000;text-decoration:none}}
@page{margin:1.5cm}
"""


def render_html(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    assessor: str | None = None,
    note: str | None = None,
    when: datetime | None = None,
) -> str:
    """A self-contained printable HTML report of one assessment (no scripts, no external links
    needed to display it). Every value from the knowledge base or the user is HTML-escaped."""
    a = assessment
    stamp = _stamp(when)
    out: list[str] = []
    add = out.append
    add("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>")
    add("<title>Upper back pain assessment - decision support, not a diagnosis</title>")
    add(f"<style>{_PRINT_CSS}</style></head><body>")
    add("<h1>Upper back pain assessment</h1>")
    add(f"<p class='disclaimer'>{escape(a.disclaimer)}</p>")
    add("<table class='meta'>")
    add(f"<tr><td>Date and time</td><td>{escape(stamp.strftime('%Y-%m-%d %H:%M %Z').strip())}"
        f" ({escape(stamp.isoformat(timespec='seconds'))})</td></tr>")
    add(f"<tr><td>Assessor</td><td>{escape(assessor or 'not given')}</td></tr>")
    add(f"<tr><td>Knowledge base</td><td>version {escape(a.kb_version)}</td></tr>")
    add("</table>")
    if note:
        add(f"<h2>Note</h2><p style='white-space:pre-wrap'>{escape(note)}</p>")

    add(f"<h2>Urgency</h2><div class='urgency urgency-{escape(a.urgency)}' "
        f"data-urgency='{escape(a.urgency)}'><strong>{URGENCY_WORDS[a.urgency]}</strong>: "
        f"{escape(a.headline)}<br>{escape(a.advice)} {_cite(kb, a.advice_source_id)}</div>")
    if not a.emergency_screen_complete:
        n = len(a.unanswered_emergency)
        add(f"<p class='warn'><strong>Emergency screen incomplete: {n} question"
            f"{'s' * (n != 1)} unanswered.</strong></p><ul>")
        out.extend(f"<li>{_label(kb, f)}</li>" for f in a.unanswered_emergency)
        add("</ul>")

    add("<h2>Why: rules that fired</h2>")
    if a.fired:
        add("<ul>")
        for r in a.fired:
            add(f"<li><strong>{escape(r.label)}</strong> ({escape(URGENCY_WORDS[r.urgency])}): "
                f"{escape(r.rationale)} Answers: "
                f"{'; '.join(_label(kb, f) for f in r.findings)} {_cite(kb, r.source_id)}</li>")
        add("</ul>")
    else:
        add("<p>No triage rule fired.</p>")
    others = [f for f in a.unanswered_red_flags if f not in set(a.unanswered_emergency)]
    if others:
        add("<h2>Unanswered red-flag questions (see a provider)</h2><ul>")
        out.extend(f"<li>{_label(kb, f)}</li>" for f in others)
        add("</ul>")

    add("<h2>Likely causes</h2>")
    if a.candidates:
        add("<ol>")
        for c in a.candidates:
            code = f", ICD-10-CM {escape(c.icd10cm)}" if c.icd10cm else ""
            add(f"<li><strong>{escape(c.name)}</strong> (score {c.score:+d}{code})<br>For: "
                + "; ".join(f"{escape(e.label)} (+{e.strength}: {escape(e.note)})"
                            for e in c.supporting))
            if c.against:
                add("<br>Against: " + "; ".join(f"{escape(e.label)} (-{e.strength})"
                                                 for e in c.against))
            add(f" {_cite(kb, c.source_id)}</li>")
        add("</ol>")
    else:
        add("<p>No cause stands out from the answers given.</p>")

    add("<h2>Suggested work-up</h2><ul>")
    for w in a.workup:
        add(f"<li><strong>{escape(w.name)}</strong>: {escape(' '.join(w.reasons))} "
            + " ".join(_cite(kb, s) for s in w.source_ids) + "</li>")
    add("</ul>")

    add("<h2>Treatment options</h2>")
    if a.treatments_secondary:
        add("<p class='warn'><strong>Emergency: these treatment options are secondary.</strong> "
            "Arrange emergency care first.</p>")
    for cat, words in CATEGORY_WORDS.items():
        items = [t for t in a.treatments if t.category == cat]
        if not items:
            continue
        add(f"<h3>{escape(words)}</h3><ul>")
        for t in items:
            ev = (f" Evidence: {escape(t.evidence_note)} {_cite(kb, t.evidence_source_id)}"
                  if t.evidence_note else "")
            ask = ("; ".join(_label(kb, f) for f in t.check_before))
            add(f"<li><strong>{escape(t.name)}</strong> ({escape(t.access)}): "
                f"{escape(t.description)}"
                + (f" <strong>Ask first:</strong> {ask}." if ask else "")
                + f"{ev} {_cite(kb, t.source_id)}</li>")
        add("</ul>")
    if a.withheld_treatments:
        add("<h3>Withheld (contraindicated by an answer)</h3><ul>")
        for wt in a.withheld_treatments:
            add(f"<li><strong>{escape(wt.name)}</strong>: {escape(' '.join(wt.reasons))} "
                + " ".join(_cite(kb, s) for s in wt.source_ids) + "</li>")
        add("</ul>")

    if a.risk_factors:
        add("<h2>Risk factors and prevention</h2><ul>")
        for rf in a.risk_factors:
            add(f"<li><strong>{escape(rf.name)}</strong>: {escape(rf.explanation)} Prevention: "
                f"{escape(rf.prevention_advice)} {_cite(kb, rf.source_id)}</li>")
        add("</ul>")
    if a.would_change:
        add("<h2>What would change the decision</h2><ul>")
        for d in a.would_change:
            add(f"<li>{escape(d.label)}: a yes would make it "
                f"{escape(URGENCY_WORDS[d.new_urgency])}</li>")
        add("</ul>")

    add(f"<h2>Safety net</h2><p>{escape(a.safety_net)}</p>")
    add("<h2>Not screened by this checklist</h2><ul>")
    for s in a.screening_limits:
        add(f"<li><strong>{escape(s.condition)}</strong>: {escape(s.why_it_matters)} "
            f"{_cite(kb, s.source_id)}</li>")
    add("</ul>")

    add("<h2>Answers recorded</h2><ul>")
    for f in kb.findings_in_order():
        if f.finding_id in a.answers:
            add(f"<li>{escape(f.label)} <strong>{'Yes' if a.answers[f.finding_id] else 'No'}"
                "</strong></li>")
    add("</ul>")
    add(f"<p class='disclaimer'>{escape(a.disclaimer)} Knowledge base version "
        f"{escape(a.kb_version)}.</p></body></html>")
    return "\n".join(out)


def questionnaire(kb: KnowledgeBase) -> dict[str, Any]:
    """A FHIR R4B Questionnaire generated from the findings table: one boolean item per
    finding, in checklist order, linkId = finding id."""
    return {
        "resourceType": "Questionnaire",
        "url": QUESTIONNAIRE_URL,
        "version": kb.version,
        "name": "UpperBackPainAssessment",
        "title": "Upper back pain assessment (decision support, not a diagnosis)",
        "status": "active",
        "description": DISCLAIMER,
        "item": [
            {"linkId": f.finding_id, "text": f.label, "type": "boolean", "required": False,
             "prefix": f.kind}
            for f in kb.findings_in_order()
        ],
    }


def questionnaire_response(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    assessor: str | None = None,
    note: str | None = None,
    when: datetime | None = None,
) -> dict[str, Any]:
    """A FHIR R4B QuestionnaireResponse holding the answered findings only (valueBoolean).

    Status is `completed` once every red-flag question that could still change the urgency is
    answered, else `in-progress`. The knowledge-base version rides in `meta.tag` and an
    extension; the disclaimer, urgency and any note ride in extensions, so `item` matches
    `questionnaire(kb)` exactly.
    """
    a = assessment
    ext: list[dict[str, Any]] = [
        {"url": EXT_KB_VERSION, "valueString": a.kb_version},
        {"url": EXT_DISCLAIMER, "valueString": a.disclaimer},
        {"url": EXT_URGENCY, "valueCode": a.urgency},
    ]
    if note:
        ext.append({"url": EXT_NOTE, "valueString": note})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "meta": {"tag": [{"system": KB_VERSION_TAG_SYSTEM, "code": a.kb_version,
                          "display": "upperback knowledge base version"}]},
        "extension": ext,
        "questionnaire": f"{QUESTIONNAIRE_URL}|{kb.version}",
        "status": "in-progress" if a.unanswered_red_flags else "completed",
        "authored": _stamp(when).isoformat(timespec="seconds"),
    }
    if assessor:
        resource["author"] = {"display": assessor}
    resource["item"] = [
        {"linkId": f.finding_id, "text": f.label,
         "answer": [{"valueBoolean": a.answers[f.finding_id]}]}
        for f in kb.findings_in_order() if f.finding_id in a.answers
    ]
    return resource


def answers_from_questionnaire_response(data: object, kb: KnowledgeBase) -> dict[str, bool]:
    """The answers held in an exported QuestionnaireResponse, checked against the knowledge
    base. Raises InputFileError saying what is wrong and how to fix it."""
    if not isinstance(data, Mapping):
        raise InputFileError("the file must hold a JSON object (a FHIR QuestionnaireResponse), "
                             f"not a {type(data).__name__}")
    kind = data.get("resourceType")
    if kind != "QuestionnaireResponse":
        raise InputFileError(f"expected resourceType 'QuestionnaireResponse', found {kind!r}: "
                             "load a file exported from this assessment")
    items = data.get("item", [])
    if not isinstance(items, list):
        raise InputFileError("'item' must be a list of answered questions")
    answers: dict[str, bool] = {}
    for n, item in enumerate(items, start=1):
        where = f"item {n}"
        if not isinstance(item, Mapping) or not isinstance(item.get("linkId"), str):
            raise InputFileError(f"{where} has no linkId: each item needs a linkId naming a "
                                 "finding")
        link = item["linkId"]
        where = f"item {n} (linkId {link!r})"
        if link not in kb.findings:
            raise InputFileError(f"{where}: unknown question for knowledge base {kb.version}; "
                                 "was the file exported from another version?")
        if link in answers:
            raise InputFileError(f"{where} appears more than once")
        got = item.get("answer", [])
        if not isinstance(got, list) or len(got) > 1:
            raise InputFileError(f"{where}: 'answer' must be a list holding one answer")
        if not got:
            continue  # a question left unanswered
        value = got[0].get("valueBoolean") if isinstance(got[0], Mapping) else None
        if not isinstance(value, bool) or (isinstance(got[0], Mapping) and len(got[0]) != 1):
            raise InputFileError(f"{where}: the answer must be a single valueBoolean "
                                 "(true or false)")
        answers[link] = value
    return answers
