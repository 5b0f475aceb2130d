"""Exports of an assessment: the printable HTML report, and the FHIR faces (re-exported from
`upperback.fhir`: the SDC Questionnaire, the assessment Bundle, the strict import).

Pure functions returning text or JSON-ready dicts: callers decide where the result goes (the
command line saves it with `save_atomic`; the dashboards hand it to the browser as a download).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from . import _render
from ._engine import Assessment
from ._model import KnowledgeBase
from .fhir import (
    EXT_KB_VERSION,
    EXT_TRIAGE_RULE,
    EXT_URGENCY,
    QUESTIONNAIRE_URL,
    ImportedResponse,
    _stamp,
    answers_from_questionnaire_response,
    assessment_bundle,
    questionnaire,
    questionnaire_response,
    read_response,
    response_kb_version,
)

__all__ = [
    "EXT_KB_VERSION",
    "EXT_TRIAGE_RULE",
    "EXT_URGENCY",
    "QUESTIONNAIRE_URL",
    "ImportedResponse",
    "answers_from_questionnaire_response",
    "assessment_bundle",
    "questionnaire",
    "questionnaire_response",
    "read_response",
    "render_html",
    "response_kb_version",
]


_PRINT_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;margin:1.5rem auto;
 padding:0 1rem;color:#111;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;border-bottom:1px solid #999;
 margin-top:1.4rem} h3{font-size:1.05rem;margin:.8rem 0 .2rem}
.meta td{padding:0 1rem .1rem 0;vertical-align:top}
.disclaimer{border:2px solid #444;padding:.5rem .75rem;font-weight:600}
.ub-banner{border:3px solid #000;padding:.6rem .8rem}
.ub-banner .ub-word{font-size:1.25rem;font-weight:700;letter-spacing:.02em}
.ub-banner>div{margin:.15rem 0}
.ub-u-ambulance{background:#fbd0d0;border-color:#7a0014;border-width:3px}
.ub-u-emergency{background:#fde2e1;border-color:#b00020}
.ub-u-urgent{background:#ffe4cc;border-color:#9a4a00}
.ub-u-see_provider{background:#fff1cc;border-color:#8a5a00}
.ub-u-incomplete{background:#e8eaf6;border-color:#303f9f}
.ub-u-self_care{background:#e3f4e6;border-color:#1b5e20}
.ub-warn{border-left:6px solid #b00020;padding:.3rem .6rem;background:#fff5f5;margin:.4rem 0}
.ub-more summary{font-weight:600;margin:.3rem 0}
.src{color:#444;font-size:.9em} ul,ol{margin-top:.2rem} li{margin-bottom:.25rem}
@media print{body{margin:0;max-width:none;font-size:11pt}
 .ub-banner,.ub-warn,.disclaimer{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 h2,h3{break-after:avoid} li{break-inside:avoid} a{color:#000;text-decoration:none}}
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

    # The same sections, in the same words, as the assessment dashboard (`_render`).
    add("<h2>Urgency</h2>")
    add(_render.banner_html(a, kb, _render.REPORT))
    add(_render.results_html(a, kb, _render.REPORT))

    add("<h2>Answers recorded</h2><ul>")
    for f in kb.findings_in_order():
        if f.finding_id in a.answers:
            add(f"<li>{escape(f.label)} <strong>{'Yes' if a.answers[f.finding_id] else 'No'}"
                "</strong></li>")
    add("</ul>")
    add(f"<p class='disclaimer'>{escape(a.disclaimer)} Knowledge base version "
        f"{escape(a.kb_version)}.</p></body></html>")
    return "\n".join(out)
