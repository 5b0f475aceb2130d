"""Exports of an assessment: the printable HTML report, and the FHIR faces (re-exported from
`upperback.fhir`: the SDC Questionnaire, the assessment Bundle, the strict import).

Pure functions returning text or JSON-ready dicts: callers decide where the result goes (the
command line saves it with `save_atomic`; the dashboards hand it to the browser as a download).
"""

from __future__ import annotations

from datetime import datetime

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


def render_html(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    assessor: str | None = None,
    note: str | None = None,
    patient_id: str | None = None,
    when: datetime | None = None,
) -> str:
    """A self-contained printable HTML report of one assessment (no scripts, no external links
    needed to display it), from the same autoescaping templates as the dashboard. Every
    question is listed; unanswered ones are marked. `patient_id` is printed when given and
    is never stored or logged anywhere else."""
    return _render.report_html(assessment, kb, assessor=assessor, note=note,
                               patient_id=patient_id, when=_stamp(when))
