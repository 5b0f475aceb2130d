"""FHIR R4 faces of an assessment: the SDC Questionnaire, the result as a Bundle, a strict import.

- `questionnaire(kb)`: the checklist as an SDC Questionnaire, built from the loaded knowledge
  base (one group per kind of finding, one sub-group per checklist section, help texts as SDC
  help items, SNOMED CT / LOINC codes from `finding_codes.csv`, red-flag questions required).
- `assessment_bundle(...)`: a Bundle (collection) holding the QuestionnaireResponse and a
  RiskAssessment based on it: urgency, the leading causes with their estimates, the rules that
  fired, the disclaimer and the knowledge-base version.
- `read_response(data, kb)`: the answers, note and assessor held in a QuestionnaireResponse (or
  in a Bundle holding one), checked strictly against this knowledge base's Questionnaire.

Pure functions on JSON-ready dicts: nothing here logs or stores a patient identifier; callers
decide where the result goes.

The canonical URLs below are identifiers (FHIR canonicals), fixed for the life of the project;
`fhir_definitions/` ships the StructureDefinition of every extension they name.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from types import MappingProxyType
from typing import Any

from ._engine import Assessment, check_patient
from ._errors import AnswerError, InputFileError
from ._model import DISCLAIMER, Finding, KnowledgeBase, urgency_rank

__all__ = [
    "CANONICAL_BASE",
    "CONDITION_SYSTEM",
    "EXT_KB_VERSION",
    "EXT_TRIAGE_RULE",
    "EXT_URGENCY",
    "PUBLISHER",
    "QUESTIONNAIRE_URL",
    "RULE_SYSTEM",
    "SDC_QUESTIONNAIRE",
    "SDC_RESPONSE",
    "URGENCY_SYSTEM",
    "ImportedResponse",
    "accepts_demographics",
    "answers_from_questionnaire_response",
    "assessment_bundle",
    "extension_definitions",
    "is_fhir_resource",
    "questionnaire",
    "questionnaire_response",
    "read_response",
    "response_kb_version",
]

#: Base of every canonical URL this project defines.
CANONICAL_BASE = "https://upperback.example.org/fhir"
QUESTIONNAIRE_URL = CANONICAL_BASE + "/Questionnaire/upper-back-assessment"
EXT_URGENCY = CANONICAL_BASE + "/StructureDefinition/urgency"
EXT_TRIAGE_RULE = CANONICAL_BASE + "/StructureDefinition/triage-rule"
EXT_KB_VERSION = CANONICAL_BASE + "/StructureDefinition/knowledge-base-version"
URGENCY_SYSTEM = CANONICAL_BASE + "/CodeSystem/urgency"
RULE_SYSTEM = CANONICAL_BASE + "/CodeSystem/triage-rule"
CONDITION_SYSTEM = CANONICAL_BASE + "/CodeSystem/condition"
#: Exports made before the http(s) canonical: still read back.
_LEGACY_QUESTIONNAIRE_URL = "urn:upperback:questionnaire:upper-back-assessment"
_LEGACY_NOTE = "urn:upperback:fhir:extension:note"
_LEGACY_TAG_SYSTEM = "urn:upperback:kb-version"

# Structured Data Capture (HL7 SDC IG 3.0.0, for FHIR R4): the profiles and extensions a form
# client such as LHC-Forms understands.
SDC_QUESTIONNAIRE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"
SDC_RESPONSE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaireresponse"
_ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
_ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
_MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
_MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
_GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
_ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
_LOINC = "http://loinc.org"
_URI = "urn:ietf:rfc:3986"
PUBLISHER = "upperback project (decision support for upper back pain)"

#: Titles of the kind groups; a kind the knowledge base adds later gets a title from its id.
_KIND_TITLES = {"emergency": "Emergency red flags", "see_provider": "See-a-provider signs",
                "history": "History and features"}
#: Items that are not findings. Age and sex appear only when the engine accepts them
#: (`check_answers`); the codes are LOINC's "Age" and "Sex" (https://loinc.org/30525-0,
#: https://loinc.org/46098-0).
AGE, SEX, ASSESSOR, NOTE = "age", "sex", "assessor", "note"
_AGE_RANGE = (0, 120)
_SEXES = ("female", "male")
_PATIENT_GROUP, _DETAILS_GROUP, _DISCLAIMER_ITEM = "patient", "details", "disclaimer"
_HELP_SUFFIX = ".help"
_DEFINITIONS = "fhir_definitions"


def _stamp(when: datetime | None) -> datetime:
    # A naive datetime is taken as local time; the stamp always carries its offset.
    when = when or datetime.now(UTC)
    return when.astimezone() if when.tzinfo is None else when


def _iso(when: datetime | None) -> str:
    return _stamp(when).isoformat(timespec="seconds")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


# -- the Questionnaire -------------------------------------------------------------------------

def accepts_demographics(kb: KnowledgeBase) -> bool:
    """True when the engine takes `age` and `sex` answers beside the findings."""
    try:
        check_patient({AGE: 50, SEX: _SEXES[0]}, kb)
    except AnswerError:
        return False
    return True


def _required_findings(kb: KnowledgeBase) -> frozenset[str]:
    """Findings a triage rule above `incomplete` needs: until each is answered, a red flag
    could still be missed, so a form client must not call the form complete."""
    floor = urgency_rank("incomplete")
    return frozenset(f for r in kb.rules.values() if urgency_rank(r.urgency) > floor
                     for f in r.findings)


def _codes(kb: KnowledgeBase) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for row in kb.extra_tables.get("finding_codes", ()):
        out.setdefault(str(row["finding_id"]), []).append(
            {"system": str(row["system"]), "code": str(row["code"]),
             "display": str(row["display"])})
    return out


def _help_item(link_id: str, text: str) -> dict[str, Any]:
    return {"linkId": link_id + _HELP_SUFFIX, "type": "display", "text": text,
            "extension": [{"url": _ITEM_CONTROL, "valueCodeableConcept": {"coding": [
                {"system": _ITEM_CONTROL_SYSTEM, "code": "help", "display": "Help-Button"}]}}]}


def _finding_item(f: Finding, required: bool, codes: list[dict[str, str]]) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": f.finding_id, "text": f.label, "type": "boolean",
                            "required": required}
    if codes:
        item["code"] = codes
    if f.help:
        item["item"] = [_help_item(f.finding_id, f.help)]
    return item


def _groups(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """One group per kind of finding (in checklist order), one sub-group per section."""
    required, codes = _required_findings(kb), _codes(kb)
    kinds: dict[str, dict[str, list[Finding]]] = {}
    for f in kb.findings_in_order():
        kinds.setdefault(f.kind, {}).setdefault(f.section, []).append(f)
    out = []
    for kind, sections in kinds.items():
        out.append({
            "linkId": f"kind-{kind}",
            "text": _KIND_TITLES.get(kind, kind.replace("_", " ").capitalize()),
            "type": "group",
            "item": [{"linkId": f"kind-{kind}.{_slug(section)}", "text": section,
                      "type": "group",
                      "item": [_finding_item(f, f.finding_id in required,
                                             codes.get(f.finding_id, [])) for f in found]}
                     for section, found in sections.items()],
        })
    return out


def _patient_group() -> dict[str, Any]:
    low, high = _AGE_RANGE
    return {"linkId": _PATIENT_GROUP, "text": "Patient", "type": "group", "item": [
        {"linkId": AGE, "text": "Age (whole years)", "type": "integer",
         "code": [{"system": _LOINC, "code": "30525-0", "display": "Age"}],
         "extension": [{"url": _MIN_VALUE, "valueInteger": low},
                       {"url": _MAX_VALUE, "valueInteger": high}]},
        {"linkId": SEX, "text": "Sex", "type": "choice",
         "code": [{"system": _LOINC, "code": "46098-0", "display": "Sex"}],
         "extension": [{"url": _ITEM_CONTROL, "valueCodeableConcept": {"coding": [
             {"system": _ITEM_CONTROL_SYSTEM, "code": "radio-button",
              "display": "Radio Button"}]}}],
         "answerOption": [{"valueCoding": {"system": _GENDER_SYSTEM, "code": s,
                                           "display": s.capitalize()}} for s in _SEXES]},
    ]}


def _details_group() -> dict[str, Any]:
    return {"linkId": _DETAILS_GROUP, "text": "About this assessment", "type": "group", "item": [
        {"linkId": ASSESSOR, "text": "Assessor (name)", "type": "string"},
        {"linkId": NOTE, "text": "Note", "type": "text",
         "item": [_help_item(NOTE, "Free text kept with this response only.")]},
    ]}


def questionnaire(kb: KnowledgeBase, *, when: datetime | None = None) -> dict[str, Any]:
    """The checklist as an SDC Questionnaire (FHIR R4), generated from the knowledge base.

    `url` is `QUESTIONNAIRE_URL` and `version` the knowledge-base version, so a response's
    `questionnaire` canonical (`url|version`) says which checklist it answered. `date` is when
    this copy was generated (`when`, default now)."""
    items: list[dict[str, Any]] = [
        {"linkId": _DISCLAIMER_ITEM, "type": "display",
         "text": f"{DISCLAIMER} Knowledge base version {kb.version}."}]
    if accepts_demographics(kb):
        items.append(_patient_group())
    items += _groups(kb)
    items.append(_details_group())
    return {
        "resourceType": "Questionnaire",
        "meta": {"profile": [SDC_QUESTIONNAIRE]},
        "url": QUESTIONNAIRE_URL,
        "version": kb.version,
        "name": "UpperBackPainAssessment",
        "title": "Upper back pain assessment (decision support, not a diagnosis)",
        "status": "active",
        "subjectType": ["Patient"],
        "date": _iso(when),
        "publisher": PUBLISHER,
        "description": DISCLAIMER,
        "purpose": "Screen for red flags of upper (thoracic) back pain and record the answers "
                   "the upperback engine needs for its triage and differential.",
        "item": items,
    }


def _walk(items: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


# -- the response and the result ---------------------------------------------------------------

def _parse_reference(text: str, types: Sequence[str], what: str) -> dict[str, Any]:
    """`Type/id` -> a literal reference; `system|value` or `value` -> a logical one."""
    text = text.strip()
    if not text:
        raise InputFileError(f"the {what} is empty: leave it out or give a value")
    m = re.fullmatch(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})", text)
    if m:
        if m.group(1) not in types:
            raise InputFileError(f"the {what} must refer to {' or '.join(types)}, not "
                                 f"{m.group(1)}")
        return {"reference": text}
    system, sep, value = text.rpartition("|")
    ident: dict[str, str] = {"value": value.strip()}
    if sep:
        if not re.fullmatch(r"(https?|urn):\S+", system.strip()):
            raise InputFileError(f"the {what}'s identifier system must be a URI (http(s):// or "
                                 "urn:), written `system|value`")
        ident = {"system": system.strip(), **ident}
    if not ident["value"]:
        raise InputFileError(f"the {what}'s identifier has no value after `|`")
    return {"type": types[0], "identifier": ident}


def _demographic(a: Assessment, key: str) -> object:
    value = a.answers.get(key)
    return value if value is not None else getattr(a, key, None)


def _answered(a: Assessment, kb: KnowledgeBase, assessor: str | None,
              note: str | None) -> dict[str, dict[str, Any]]:
    """linkId -> the `answer` list it carries in the response."""
    out: dict[str, dict[str, Any]] = {
        fid: {"valueBoolean": bool(a.answers[fid])} for fid in kb.findings if fid in a.answers}
    age, sex = _demographic(a, AGE), _demographic(a, SEX)
    if isinstance(age, int) and not isinstance(age, bool):
        out[AGE] = {"valueInteger": age}
    if isinstance(sex, str) and sex in _SEXES:
        out[SEX] = {"valueCoding": {"system": _GENDER_SYSTEM, "code": sex,
                                    "display": sex.capitalize()}}
    if assessor:
        out[ASSESSOR] = {"valueString": assessor}
    if note:
        out[NOTE] = {"valueString": note}
    return out


def _response_items(q_items: Sequence[Mapping[str, Any]],
                    answered: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The Questionnaire's structure, keeping only what was answered."""
    out: list[dict[str, Any]] = []
    for q in q_items:
        if q["type"] == "group":
            children = _response_items(q.get("item", []), answered)
            if children:
                out.append({"linkId": q["linkId"], "text": q["text"], "item": children})
        elif q["linkId"] in answered:
            out.append({"linkId": q["linkId"], "text": q["text"],
                        "answer": [answered[q["linkId"]]]})
    return out


def _uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def questionnaire_response(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    assessor: str | None = None,
    note: str | None = None,
    when: datetime | None = None,
    patient: str | None = None,
    encounter: str | None = None,
    author: str | None = None,
    identifier: str | None = None,
) -> dict[str, Any]:
    """An SDC QuestionnaireResponse to `questionnaire(kb)` holding the answers given.

    Status is `completed` once every red-flag question that could still change the urgency is
    answered, else `in-progress`. The assessor and note are answers to the form's own items, so
    a form client keeps them. `patient`, `encounter` and `author` are `Type/id` references or
    identifiers (`system|value` or `value`); they go into the resource only, never a log.
    """
    a = assessment
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "meta": {"profile": [SDC_RESPONSE]},
        "identifier": {"system": _URI, "value": identifier or _uuid()},
        "questionnaire": f"{QUESTIONNAIRE_URL}|{kb.version}",
        "status": "in-progress" if a.unanswered_red_flags else "completed",
    }
    if patient:
        resource["subject"] = _parse_reference(patient, ["Patient"], "patient")
    if encounter:
        resource["encounter"] = _parse_reference(encounter, ["Encounter"], "encounter")
    resource["authored"] = _iso(when)
    if author or assessor:
        resource["author"] = ({**_parse_reference(author, ["Practitioner", "PractitionerRole"],
                                                  "author")} if author else {})
        if assessor:
            resource["author"]["display"] = assessor
    resource["item"] = _response_items(questionnaire(kb, when=when)["item"],
                                       _answered(a, kb, assessor, note))
    return resource


def _icd10cm(code: str | None) -> list[dict[str, str]]:
    # Only a single well-formed code: a range or a note is not a Coding.
    if code and re.fullmatch(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", code):
        return [{"system": _ICD10CM, "code": code}]
    return []


def _prediction(c: Any) -> dict[str, Any]:
    outcome = {"coding": [{"system": CONDITION_SYSTEM, "code": c.condition_id,
                           "display": c.name}, *_icd10cm(c.icd10cm)], "text": c.name}
    pred: dict[str, Any] = {"outcome": outcome}
    # The engine's estimate as it gives it: a probability (with its basis) when it has one,
    # else its evidence score; never a number the engine did not produce.
    why = []
    probability, score = getattr(c, "probability", None), getattr(c, "score", None)
    if isinstance(probability, float) and 0.0 <= probability <= 1.0:
        pred["probabilityDecimal"] = round(probability, 4)
        why.append(f"estimated probability {probability:.0%}")
    elif isinstance(score, int):
        why.append(f"evidence score {score:+d}")
    basis = getattr(c, "basis", None)
    if isinstance(basis, str) and basis:
        why.append(f"basis: {basis}")
    for label, evidence in (("for", getattr(c, "supporting", ())),
                            ("against", getattr(c, "against", ()))):
        if evidence:
            why.append(f"{label}: " + ", ".join(e.finding_id for e in evidence))
    pred["rationale"] = "; ".join(why) + f" (source: {c.source_id})"
    return pred


def assessment_bundle(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    assessor: str | None = None,
    note: str | None = None,
    when: datetime | None = None,
    patient: str | None = None,
    encounter: str | None = None,
    author: str | None = None,
    causes: int = 5,
) -> dict[str, Any]:
    """The assessment as a FHIR Bundle (collection): the QuestionnaireResponse and a
    RiskAssessment based on it (urgency, the leading `causes` with their estimates, the rules
    that fired, the advice, disclaimer and knowledge-base version)."""
    a = assessment
    qr_id, ra_id = _uuid(), _uuid()
    qr = questionnaire_response(a, kb, assessor=assessor, note=note, when=when, patient=patient,
                                encounter=encounter, author=author, identifier=qr_id)
    ra: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "extension": [
            {"url": EXT_URGENCY, "valueCoding": {"system": URGENCY_SYSTEM, "code": a.urgency,
                                                 "display": a.headline}},
            {"url": EXT_KB_VERSION, "valueString": a.kb_version},
            *({"url": EXT_TRIAGE_RULE, "valueCoding": {"system": RULE_SYSTEM,
                                                       "code": r.rule_id, "display": r.label}}
              for r in a.fired),
        ],
        "identifier": [{"system": _URI, "value": ra_id}],
        # Final only once the red-flag screen can no longer change the urgency.
        "status": "preliminary" if a.unanswered_red_flags else "final",
        "code": {"text": "Upper back pain triage and likely causes (upperback decision "
                         "support, not a diagnosis)"},
        "subject": qr.get("subject", {"display": "Patient not identified in this export"}),
    }
    if "encounter" in qr:
        ra["encounter"] = qr["encounter"]
    ra["occurrenceDateTime"] = qr["authored"]
    if "author" in qr:
        ra["performer"] = qr["author"]
    ra["basis"] = [{"reference": qr_id, "type": "QuestionnaireResponse"}]
    if a.candidates:
        ra["prediction"] = [_prediction(c) for c in a.candidates[:causes]]
    ra["mitigation"] = f"{a.headline} {a.advice} Safety net: {a.safety_net}"
    ra["note"] = [{"text": f"{a.disclaimer} Knowledge base version {a.kb_version}."}]
    if a.fired:
        ra["note"].append({"text": "Rules that fired: " + "; ".join(
            f"{r.rule_id} ({r.urgency}): {r.label} [source: {r.source_id}]" for r in a.fired)})
    if note:
        ra["note"].append({"text": note})
    return {
        "resourceType": "Bundle",
        "identifier": {"system": _URI, "value": _uuid()},
        "type": "collection",
        "timestamp": qr["authored"],
        "entry": [{"fullUrl": qr_id, "resource": qr}, {"fullUrl": ra_id, "resource": ra}],
    }


def extension_definitions() -> dict[str, dict[str, Any]]:
    """The StructureDefinitions shipped for this project's extensions, by URL."""
    out: dict[str, dict[str, Any]] = {}
    for entry in resources.files("upperback").joinpath(_DEFINITIONS).iterdir():
        if entry.name.endswith(".json"):
            sd = json.loads(entry.read_text(encoding="utf-8"))
            out[sd["url"]] = sd
    return out


# -- the import --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportedResponse:
    """What a QuestionnaireResponse held, checked against the knowledge base."""

    answers: Mapping[str, bool]
    kb_version: str | None
    questionnaire: str
    status: str
    age: int | None = None
    sex: str | None = None
    assessor: str | None = None
    note: str | None = None

    def engine_answers(self) -> dict[str, object]:
        """The answers as `assess()` takes them: findings, plus age and sex when given."""
        out: dict[str, object] = dict(self.answers)
        if self.age is not None:
            out[AGE] = self.age
        if self.sex is not None:
            out[SEX] = self.sex
        return out


def is_fhir_resource(data: object) -> bool:
    """True for a JSON object that names a FHIR resourceType (not a plain answers map)."""
    return isinstance(data, Mapping) and isinstance(data.get("resourceType"), str)


def _find_response(data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InputFileError("the file must hold a JSON object (a FHIR QuestionnaireResponse "
                             f"or a Bundle holding one), not a {type(data).__name__}")
    kind = data.get("resourceType")
    if kind == "QuestionnaireResponse":
        return data
    if kind == "Bundle":
        entries = data.get("entry")
        found = [e["resource"] for e in entries or [] if isinstance(e, Mapping)
                 and isinstance(e.get("resource"), Mapping)
                 and e["resource"].get("resourceType") == "QuestionnaireResponse"] \
            if isinstance(entries, list) else []
        if len(found) != 1:
            raise InputFileError(f"the Bundle holds {len(found)} QuestionnaireResponses: it "
                                 "must hold exactly one (export one assessment per file)")
        response: Mapping[str, Any] = found[0]
        return response
    raise InputFileError(f"expected resourceType 'QuestionnaireResponse' (or a Bundle holding "
                         f"one), found {kind!r}: load a response to the upper back pain "
                         "assessment")


def _canonical(qr: Mapping[str, Any], kb: KnowledgeBase) -> tuple[str, str | None]:
    """(the canonical as given, the version it names). Refuses another form's response."""
    given = qr.get("questionnaire")
    if not isinstance(given, str) or not given.strip():
        raise InputFileError("the response names no questionnaire: expected "
                             f"'{QUESTIONNAIRE_URL}|{kb.version}' in 'questionnaire'")
    url, _, version = given.strip().partition("|")
    if url not in (QUESTIONNAIRE_URL, _LEGACY_QUESTIONNAIRE_URL):
        raise InputFileError(f"this is a response to another form ({given}), not to the upper "
                             f"back pain assessment ({QUESTIONNAIRE_URL}): nothing was loaded")
    if not version:  # an older export kept the version in a tag
        version = next((str(t.get("code")) for t in (qr.get("meta") or {}).get("tag") or []
                        if isinstance(t, Mapping) and t.get("system") == _LEGACY_TAG_SYSTEM
                        and t.get("code")), "")
    return given, version or None


def _one_answer(item: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    got = item.get("answer", [])
    if not isinstance(got, list) or len(got) > 1:
        raise InputFileError(f"{where}: 'answer' must be a list holding one answer")
    if not got:
        return None
    if not isinstance(got[0], Mapping):
        raise InputFileError(f"{where}: the answer must be a JSON object")
    values = [k for k in got[0] if k.startswith("value")]
    # Answer-level extensions, ids and nested items are part of FHIR: let them pass.
    if len(values) != 1 or any(k not in ("id", "extension", "item", *values) for k in got[0]):
        raise InputFileError(f"{where}: the answer must hold exactly one value[x]")
    return got[0]


def _value(answer: Mapping[str, Any], key: str, kind: type, where: str, what: str) -> Any:
    value = answer.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputFileError(f"{where}: the answer must be a {key} ({what})")
    return value


def read_response(data: object, kb: KnowledgeBase) -> ImportedResponse:
    """The answers, age, sex, assessor and note held in a QuestionnaireResponse (or a Bundle
    holding one), checked strictly against this knowledge base's Questionnaire. Raises
    InputFileError saying what is wrong and how to fix it; values are never echoed."""
    qr = _find_response(data)
    status = qr.get("status")
    if status == "entered-in-error":
        raise InputFileError("the response is marked entered-in-error: it must not be used "
                             "for an assessment")
    if not isinstance(status, str):
        raise InputFileError("the response has no status (completed, in-progress, ...)")
    given, version = _canonical(qr, kb)
    items = qr.get("item", [])
    if not isinstance(items, list):
        raise InputFileError("'item' must be a list of answered questions")
    q_items = {i["linkId"]: i for i in _walk(questionnaire(kb)["item"])}
    other = ("" if version in (None, kb.version)
             else f" (the response was made with knowledge base {version}; this is {kb.version})")
    answers: dict[str, bool] = {}
    got: dict[str, Any] = {}
    seen: set[str] = set()

    def visit(items: list[Any], path: str) -> None:
        for n, item in enumerate(items, start=1):
            where = f"{path}item {n}"
            if not isinstance(item, Mapping) or not isinstance(item.get("linkId"), str):
                raise InputFileError(f"{where} has no linkId: each item needs the linkId of a "
                                     "question of the assessment")
            link = item["linkId"]
            where = f"{where} (linkId {link!r})"
            q = q_items.get(link)
            if q is None:
                raise InputFileError(f"{where}: no such question in the upper back pain "
                                     f"assessment {kb.version}{other}")
            if link in seen:
                raise InputFileError(f"{where} appears more than once")
            seen.add(link)
            children = item.get("item", [])
            if not isinstance(children, list):
                raise InputFileError(f"{where}: 'item' must be a list")
            if q["type"] in ("group", "display"):
                if item.get("answer"):
                    raise InputFileError(f"{where} is a {q['type']}, it takes no answer")
                visit(children, f"{where} > ")
                continue
            answer = _one_answer(item, where)
            if answer is None:
                continue  # a question left unanswered
            if q["type"] == "boolean":
                answers[link] = _value(answer, "valueBoolean", bool, where, "true or false")
            elif link == AGE:
                age = _value(answer, "valueInteger", int, where, "whole years")
                if not _AGE_RANGE[0] <= age <= _AGE_RANGE[1]:
                    raise InputFileError(f"{where}: age must be {_AGE_RANGE[0]} to "
                                         f"{_AGE_RANGE[1]} whole years")
                got[AGE] = age
            elif link == SEX:
                coding = _value(answer, "valueCoding", Mapping, where, "female or male")
                if coding.get("code") not in _SEXES or coding.get("system", _GENDER_SYSTEM) \
                        != _GENDER_SYSTEM:
                    raise InputFileError(f"{where}: sex must be coded female or male "
                                         f"({_GENDER_SYSTEM})")
                got[SEX] = coding["code"]
            else:
                text = _value(answer, "valueString", str, where, "text")
                got[link] = text.strip() or None

    visit(items, "")
    note = got.get(NOTE) or next(
        (str(e.get("valueString")) for e in qr.get("extension") or []
         if isinstance(e, Mapping) and e.get("url") == _LEGACY_NOTE and e.get("valueString")),
        None)
    author = qr.get("author")
    assessor = got.get(ASSESSOR) or (str(author["display"]) if isinstance(author, Mapping)
                                     and isinstance(author.get("display"), str) else None)
    return ImportedResponse(answers=MappingProxyType(answers), kb_version=version,
                            questionnaire=given, status=status, age=got.get(AGE),
                            sex=got.get(SEX), assessor=assessor, note=note)


def answers_from_questionnaire_response(data: object, kb: KnowledgeBase) -> dict[str, bool]:
    """The finding answers held in a QuestionnaireResponse (see `read_response`)."""
    return dict(read_response(data, kb).answers)


def response_kb_version(data: object) -> str | None:
    """The knowledge-base version a response names in its `questionnaire` canonical (or, for
    older exports, its tag); None when it names none."""
    try:
        qr = _find_response(data)
    except InputFileError:
        return None
    given = qr.get("questionnaire")
    if isinstance(given, str) and "|" in given:
        return given.partition("|")[2].strip() or None
    for tag in (qr.get("meta") or {}).get("tag") or []:
        if isinstance(tag, Mapping) and tag.get("system") == _LEGACY_TAG_SYSTEM:
            code = tag.get("code")
            return str(code) if code else None
    return None
