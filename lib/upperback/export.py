"""Exports of an assessment: printable HTML report and FHIR R4B QuestionnaireResponse.

Pure functions returning text or JSON-ready dicts: callers decide where the result goes (the
command line saves it with `save_atomic`; the dashboards hand it to the browser as a download).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import _render
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
    "response_assessor",
    "response_kb_version",
    "response_note",
]

QUESTIONNAIRE_URL = "urn:upperback:questionnaire:upper-back-assessment"
_EXT = "urn:upperback:fhir:extension:"
EXT_KB_VERSION = _EXT + "kb-version"
EXT_DISCLAIMER = _EXT + "disclaimer"
EXT_NOTE = _EXT + "note"
EXT_URGENCY = _EXT + "urgency"
KB_VERSION_TAG_SYSTEM = "urn:upperback:kb-version"


def _stamp(when: datetime | None) -> datetime:
    # A naive datetime is taken as local time; the stamp always carries its offset.
    when = when or datetime.now(UTC)
    return when.astimezone() if when.tzinfo is None else when


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
    is never stored anywhere else."""
    return _render.report_html(assessment, kb, assessor=assessor, note=note,
                               patient_id=patient_id, when=_stamp(when))


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
    patient_id: str | None = None,
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
    if patient_id:  # given by the clinician for this export only; never stored or logged
        resource["subject"] = {"identifier": {"value": patient_id}}
    if assessor:
        resource["author"] = {"display": assessor}
    resource["item"] = [
        {"linkId": f.finding_id, "text": f.label,
         "answer": [{"valueBoolean": a.answers[f.finding_id]}]}
        for f in kb.findings_in_order() if f.finding_id in a.answers
    ]
    return resource


def response_kb_version(data: object) -> str | None:
    """The knowledge-base version an exported QuestionnaireResponse was made with, if recorded."""
    if not isinstance(data, Mapping):
        return None
    for tag in (data.get("meta") or {}).get("tag") or []:
        if isinstance(tag, Mapping) and tag.get("system") == KB_VERSION_TAG_SYSTEM:
            code = tag.get("code")
            return str(code) if code else None
    return None


def response_assessor(data: object) -> str | None:
    """The assessor (`author.display`) of an exported QuestionnaireResponse, if recorded."""
    author = data.get("author") if isinstance(data, Mapping) else None
    shown = author.get("display") if isinstance(author, Mapping) else None
    return shown if isinstance(shown, str) and shown else None


def response_note(data: object) -> str | None:
    """The free-text note (our note extension) of an exported QuestionnaireResponse."""
    exts = data.get("extension") if isinstance(data, Mapping) else None
    for ext in exts if isinstance(exts, list) else []:
        if isinstance(ext, Mapping) and ext.get("url") == EXT_NOTE:
            value = ext.get("valueString")
            return value if isinstance(value, str) and value else None
    return None


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
