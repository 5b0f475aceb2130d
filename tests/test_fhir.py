"""FHIR faces: the SDC Questionnaire, the assessment Bundle and the strict import."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from hypothesis import given, settings
from hypothesis import strategies as st

import upperback
from upperback import InputFileError, KnowledgeBase, export, fhir
from upperback._model import Finding

WHEN = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
_KB = upperback.load_knowledge_base()
# at most one "aged N or older" answer, so no drawn answers contradict each other
_ANSWERS = st.dictionaries(st.sampled_from(sorted(
    f for f, x in _KB.findings.items() if x.min_age is None or x.min_age == 50)), st.booleans())
_TEXT = st.none() | st.text(min_size=1, max_size=40).filter(str.strip).map(str.strip)


def _walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


def _by_link(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["linkId"]: i for i in _walk(resource["item"])}


def _entries(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["resource"]["resourceType"]: e for e in bundle["entry"]}


# -- the Questionnaire --------------------------------------------------------------------------

def test_questionnaire_header_is_sdc_with_http_canonical_and_kb_version(kb: KnowledgeBase) -> None:
    q = fhir.questionnaire(kb, when=WHEN)
    Questionnaire.model_validate(q)
    assert q["url"].startswith("https://")
    assert q["url"] == fhir.QUESTIONNAIRE_URL
    assert q["version"] == kb.version
    assert q["meta"]["profile"] == [fhir.SDC_QUESTIONNAIRE]
    assert q["subjectType"] == ["Patient"]
    assert q["date"] == "2025-03-04T10:30:00+00:00"
    assert q["publisher"]
    assert upperback.DISCLAIMER in q["description"]
    shown = _by_link(q)["disclaimer"]
    assert shown["type"] == "display"
    assert kb.version in shown["text"]


def test_every_finding_is_one_boolean_question_in_its_section_group(kb: KnowledgeBase) -> None:
    q = fhir.questionnaire(kb)
    questions = [i for i in _walk(q["item"]) if i["type"] == "boolean"]
    ordered = [f.finding_id for f in kb.findings_in_order()]
    assert sorted(i["linkId"] for i in questions) == sorted(ordered)
    # kinds in checklist order (red flags first); within a section, checklist order
    kinds = [kb.findings[i["linkId"]].kind for i in questions]
    assert kinds == [kb.findings[f].kind for f in ordered]
    links = [i["linkId"] for i in _walk(q["item"])]
    assert len(links) == len(set(links))
    for kind_group in q["item"]:
        if not kind_group["linkId"].startswith("kind-"):
            continue
        kind = kind_group["linkId"].removeprefix("kind-")
        assert kind_group["type"] == "group"
        for section in kind_group["item"]:
            assert section["type"] == "group"
            findings = [kb.findings[i["linkId"]] for i in section["item"]]
            assert [f.finding_id for f in findings] == [f for f in ordered
                                                       if kb.findings[f] in findings]
            assert {f.section for f in findings} == {section["text"]}
            assert {f.kind for f in findings} == {kind}
    assert all("prefix" not in i for i in _walk(q["item"]))


def test_help_texts_are_sdc_help_items(kb: KnowledgeBase) -> None:
    items = _by_link(fhir.questionnaire(kb))
    for f in kb.findings.values():
        (help_item,) = items[f.finding_id]["item"]
        assert help_item["type"] == "display"
        assert help_item["text"] == f.help
        control = help_item["extension"][0]
        assert control["url"].endswith("questionnaire-itemControl")
        assert control["valueCodeableConcept"]["coding"][0]["code"] == "help"


def test_red_flag_questions_are_required_and_the_rest_are_not(kb: KnowledgeBase) -> None:
    items = _by_link(fhir.questionnaire(kb))
    in_rules = {f for r in kb.rules.values() for f in r.findings}
    assert in_rules, "the knowledge base has triage rules"
    for f in kb.findings:
        assert items[f]["required"] is (f in in_rules), f
    # A form client that enforces `required` cannot finish with a red flag unanswered:
    # answering only the required questions is exactly a complete red-flag screen.
    a = upperback.assess(dict.fromkeys(in_rules, False), kb)
    assert not a.unanswered_red_flags


def test_items_carry_the_codes_of_the_codes_table(kb: KnowledgeBase) -> None:
    items = _by_link(fhir.questionnaire(kb))
    assert items["fever"]["code"] == [{"system": "http://snomed.info/sct", "code": "386661006",
                                       "display": "Fever (finding)"}]
    rows = kb.extra_tables["finding_codes"]
    coded = {r["finding_id"] for r in rows}
    assert coded
    for f in kb.findings:
        assert ("code" in items[f]) is (f in coded), f
    assert "code" not in items["numbness_or_tingling"]  # a combined question stays uncoded


def test_questionnaire_follows_the_knowledge_base(kb: KnowledgeBase) -> None:
    """Built from the loaded KB: a new finding and section appear without code changes."""
    new = Finding("night_sweats", "Night sweats?", "history", "Night-time symptoms",
                  "Yes for drenching sweats.", 999, None, "verywell_ubp")
    bigger = replace(kb, findings=MappingProxyType({**kb.findings, new.finding_id: new}),
                     extra_tables=MappingProxyType({}))
    items = _by_link(fhir.questionnaire(bigger))
    assert items["night_sweats"]["type"] == "boolean"
    assert items["night_sweats"]["required"] is False
    assert "code" not in items["fever"]  # no codes table, no codes
    section = items["kind-history.night-time-symptoms"]
    assert [i["linkId"] for i in section["item"]] == ["night_sweats"]


def test_age_and_sex_questions_appear_when_the_engine_takes_them(kb: KnowledgeBase) -> None:
    assert fhir.accepts_demographics(kb)  # the #9 engine takes age and sex
    items = _by_link(fhir.questionnaire(kb))
    assert items["age"]["type"] == "integer"
    assert items["age"]["code"][0]["code"] == "30525-0"
    assert {e["valueInteger"] for e in items["age"]["extension"]} == {0, 120}
    assert [o["valueCoding"]["code"] for o in items["sex"]["answerOption"]] == ["female", "male"]
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed",
          "questionnaire": f"{fhir.QUESTIONNAIRE_URL}|{kb.version}",
          "item": [{"linkId": "patient", "item": [
              {"linkId": "age", "answer": [{"valueInteger": 72}]},
              {"linkId": "sex", "answer": [{"valueCoding": {
                  "system": "http://hl7.org/fhir/administrative-gender", "code": "female"}}]}]}]}
    got = fhir.read_response(qr, kb)
    assert (got.age, got.sex) == (72, "female")
    assert got.engine_answers() == {"age": 72, "sex": "female"}
    for bad in ({"valueInteger": 121}, {"valueInteger": True}, {"valueString": "72"}):
        broken = copy.deepcopy(qr)
        broken["item"][0]["item"][0]["answer"] = [bad]
        with pytest.raises(InputFileError, match="age"):
            fhir.read_response(broken, kb)


def test_cli_questionnaire_writes_the_library_questionnaire(kb: KnowledgeBase,
                                                             tmp_path: Path) -> None:
    from upperback import cli

    out = tmp_path / "q.json"
    assert cli.main(["questionnaire", "-o", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    expected = fhir.questionnaire(kb)
    assert {k: v for k, v in written.items() if k != "date"} == \
        {k: v for k, v in expected.items() if k != "date"}


# -- the Bundle ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("answers", "status", "ra_status"),
    [
        ({}, "in-progress", "preliminary"),
        ({"saddle_or_leg_numbness": True}, "in-progress", "preliminary"),
        ("screen_all_no", "completed", "final"),
        ("screen_all_no+heavy_lifting", "completed", "final"),
    ],
)
def test_bundle_holds_the_response_and_a_risk_assessment_based_on_it(
    kb: KnowledgeBase, screen_all_no: dict[str, bool], answers: Any, status: str,
    ra_status: str,
) -> None:
    if isinstance(answers, str):
        answers = dict(screen_all_no, **({"heavy_lifting": True} if "+" in answers else {}))
    a = upperback.assess(answers, kb)
    b = fhir.assessment_bundle(a, kb, assessor="Dr A", note="note <b>", when=WHEN,
                               patient="http://clinic.example/mrn|12345",
                               encounter="Encounter/e1", author="Practitioner/p7")
    Bundle.model_validate(b)
    assert b["type"] == "collection"
    e = _entries(b)
    qr, ra = e["QuestionnaireResponse"]["resource"], e["RiskAssessment"]["resource"]
    QuestionnaireResponse.model_validate(qr)
    assert qr["status"] == status
    assert ra["status"] == ra_status
    assert qr["questionnaire"] == f"{fhir.QUESTIONNAIRE_URL}|{kb.version}"
    assert qr["meta"]["profile"] == [fhir.SDC_RESPONSE]
    assert qr["authored"] == ra["occurrenceDateTime"] == "2025-03-04T10:30:00+00:00"
    assert ra["basis"] == [{"reference": e["QuestionnaireResponse"]["fullUrl"],
                            "type": "QuestionnaireResponse"}]
    assert qr["identifier"]["value"] == e["QuestionnaireResponse"]["fullUrl"]
    # subject, encounter and author
    ident = {"system": "http://clinic.example/mrn", "value": "12345"}
    assert qr["subject"] == ra["subject"] == {"type": "Patient", "identifier": ident}
    assert qr["encounter"] == ra["encounter"] == {"reference": "Encounter/e1"}
    assert qr["author"] == ra["performer"] == {"reference": "Practitioner/p7", "display": "Dr A"}
    # urgency, fired rules, knowledge-base version, disclaimer
    ext = [(x["url"], x.get("valueCoding", {}).get("code") or x.get("valueString"))
           for x in ra["extension"]]
    assert (fhir.EXT_URGENCY, a.urgency) in ext
    assert a.urgency in upperback.URGENCIES
    assert (fhir.EXT_KB_VERSION, kb.version) in ext
    assert [v for u, v in ext if u == fhir.EXT_TRIAGE_RULE] == [r.rule_id for r in a.fired]
    notes = [n["text"] for n in ra["note"]]
    assert upperback.DISCLAIMER in notes[0]
    assert kb.version in notes[0]
    assert "note <b>" in notes
    assert a.headline in ra["mitigation"]
    # the leading causes with their estimates
    shown = ra.get("prediction", [])
    assert [p["outcome"]["coding"][0]["code"] for p in shown] == \
        [c.condition_id for c in a.candidates[:5]]
    for p, c in zip(shown, a.candidates, strict=False):
        assert p["outcome"]["text"] == c.name
        assert "probabilityDecimal" in p or f"{c.score:+d}" in p["rationale"]
    # everything answered comes back
    got = fhir.read_response(json.loads(json.dumps(b)), kb)
    assert dict(got.answers) == answers
    assert (got.note, got.assessor, got.kb_version) == ("note <b>", "Dr A", kb.version)


@settings(max_examples=60, deadline=None)
@given(answers=_ANSWERS, note=_TEXT, assessor=_TEXT)
def test_any_export_reads_back_unchanged(answers: dict[str, bool], note: str | None,
                                         assessor: str | None) -> None:
    """Safety: no answer, note or assessor is lost or changed on the way out and back."""
    a = upperback.assess(answers, _KB)
    b = fhir.assessment_bundle(a, _KB, note=note, assessor=assessor)
    got = fhir.read_response(json.loads(json.dumps(b)), _KB)
    assert dict(got.answers) == answers
    assert (got.note, got.assessor) == (note, assessor)
    qr = _entries(b)["QuestionnaireResponse"]["resource"]
    assert (qr["status"] == "completed") is (not a.unanswered_red_flags)


def test_bundle_without_patient_still_names_a_subject(kb: KnowledgeBase) -> None:
    b = fhir.assessment_bundle(upperback.assess({"fever": True}, kb), kb)
    e = _entries(b)
    assert "subject" not in e["QuestionnaireResponse"]["resource"]
    assert "identifier" not in e["RiskAssessment"]["resource"]["subject"]
    assert e["RiskAssessment"]["resource"]["subject"]["display"]
    assert "author" not in e["QuestionnaireResponse"]["resource"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("patient", "Patient/abc-1", {"reference": "Patient/abc-1"}),
        ("patient", "MRN-777", {"type": "Patient", "identifier": {"value": "MRN-777"}}),
        ("encounter", "urn:oid:1.2.3|V9", {"type": "Encounter", "identifier": {
            "system": "urn:oid:1.2.3", "value": "V9"}}),
        ("author", "PractitionerRole/r2", {"reference": "PractitionerRole/r2"}),
    ],
)
def test_references_and_identifiers(kb: KnowledgeBase, field: str, value: str,
                                    expected: dict[str, Any]) -> None:
    qr = fhir.questionnaire_response(upperback.assess({}, kb), kb, **{field: value})
    key = {"patient": "subject"}.get(field, field)
    assert qr[key] == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("patient", "Encounter/1", "must refer to Patient"),
        ("patient", "not a uri|SECRET-42", "must be a URI"),
        ("encounter", "http://x|", "no value"),
        ("author", "  ", "empty"),
    ],
)
def test_bad_references_are_refused_without_echoing_them(
        kb: KnowledgeBase, field: str, value: str, message: str) -> None:
    with pytest.raises(InputFileError, match=message) as info:
        fhir.questionnaire_response(upperback.assess({}, kb), kb, **{field: value})
    assert "SECRET" not in str(info.value)


def test_shipped_extension_definitions_cover_every_extension_used(kb: KnowledgeBase) -> None:
    defs = fhir.extension_definitions()
    b = fhir.assessment_bundle(upperback.assess({"recent_trauma": True}, kb), kb)
    used = {x["url"] for e in b["entry"] for x in _walk_ext(e["resource"])}
    assert used
    assert all(u.startswith("https://") for u in used)
    assert used <= set(defs)
    for url, sd in defs.items():
        assert sd["resourceType"] == "StructureDefinition"
        assert sd["type"] == "Extension"
        fixed = [e["fixedUri"] for e in sd["differential"]["element"]
                 if e["path"] == "Extension.url"]
        assert fixed == [url]


def _walk_ext(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield from node.get("extension", [])
        for v in node.values():
            yield from _walk_ext(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk_ext(v)


# -- the import ---------------------------------------------------------------------------------

def _qr(items: Any, *, kb: KnowledgeBase | None = None, questionnaire: str | None = None,
        status: str = "completed", kind: str = "QuestionnaireResponse") -> dict[str, Any]:
    canonical = questionnaire or f"{fhir.QUESTIONNAIRE_URL}|{kb.version if kb else '1'}"
    return {"resourceType": kind, "status": status, "questionnaire": canonical, "item": items}


def test_flat_and_sectioned_responses_give_the_same_answers(kb: KnowledgeBase) -> None:
    flat = _qr([{"linkId": "fever", "answer": [{"valueBoolean": True}]},
                {"linkId": "smoking", "answer": [{"valueBoolean": False}]}], kb=kb)
    sectioned = fhir.questionnaire_response(
        upperback.assess({"fever": True, "smoking": False}, kb), kb)
    assert any("item" in i for i in sectioned["item"])
    assert fhir.read_response(flat, kb).answers == fhir.read_response(sectioned, kb).answers \
        == {"fever": True, "smoking": False}


def test_answer_and_item_extensions_are_accepted(kb: KnowledgeBase) -> None:
    ext = [{"url": "http://example.org/fhir/StructureDefinition/x", "valueString": "y"}]
    data = _qr([{"linkId": "fever", "extension": ext, "text": "Fever?",
                 "answer": [{"valueBoolean": True, "extension": ext, "id": "a1"}]}], kb=kb)
    assert fhir.read_response(data, kb).answers == {"fever": True}


def test_item_without_answer_is_unanswered(kb: KnowledgeBase) -> None:
    data = _qr([{"linkId": "fever", "answer": []},
                {"linkId": "smoking", "answer": [{"valueBoolean": False}]}], kb=kb)
    assert export.answers_from_questionnaire_response(data, kb) == {"smoking": False}


def test_version_comes_from_the_canonical(kb: KnowledgeBase) -> None:
    data = _qr([], questionnaire=f"{fhir.QUESTIONNAIRE_URL}|0.9.0+abc")
    assert fhir.read_response(data, kb).kb_version == "0.9.0+abc"
    assert fhir.response_kb_version(data) == "0.9.0+abc"
    assert fhir.read_response(_qr([], questionnaire=fhir.QUESTIONNAIRE_URL), kb).kb_version \
        is None


def test_an_older_urn_export_still_loads_with_its_note_and_version(kb: KnowledgeBase) -> None:
    old = {"resourceType": "QuestionnaireResponse", "status": "completed",
           "meta": {"tag": [{"system": "urn:upperback:kb-version", "code": "1.0.0+old"}]},
           "extension": [{"url": "urn:upperback:fhir:extension:note", "valueString": "kept"}],
           "questionnaire": "urn:upperback:questionnaire:upper-back-assessment|1.0.0+old",
           "author": {"display": "Dr Old"},
           "item": [{"linkId": "fever", "text": "Fever?", "answer": [{"valueBoolean": True}]}]}
    got = fhir.read_response(old, kb)
    assert (dict(got.answers), got.note, got.assessor, got.kb_version) == \
        ({"fever": True}, "kept", "Dr Old", "1.0.0+old")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({"resourceType": "Patient"}, "resourceType"),
        ({"resourceType": "QuestionnaireResponse", "status": "completed", "item": []},
         "names no questionnaire"),
        ("covid", "another form \\(http://example.org/Questionnaire/covid-screen\\|2\\)"),
        ("entered-in-error", "entered-in-error"),
        ("no-status", "no status"),
        ("not-a-list", "list"),
        ([{"answer": [{"valueBoolean": True}]}], "no linkId"),
        ([{"linkId": "not_a_finding", "answer": [{"valueBoolean": True}]}],
         "no such question"),
        ([{"linkId": "fever", "answer": [{"valueString": "yes"}]}], "valueBoolean"),
        ([{"linkId": "fever", "answer": [{"valueBoolean": "true"}]}], "valueBoolean"),
        ([{"linkId": "fever", "answer": [{"valueBoolean": True, "valueString": "x"}]}],
         "exactly one value"),
        ([{"linkId": "fever", "answer": [{"valueBoolean": True}, {"valueBoolean": False}]}],
         "one answer"),
        ([{"linkId": "fever", "answer": [{"valueBoolean": True}]}] * 2, "more than once"),
        ([{"linkId": "kind-emergency", "answer": [{"valueBoolean": True}]}], "takes no answer"),
        ([{"linkId": "note", "answer": [{"valueBoolean": True}]}], "valueString"),
        ("bundle-0", "holds 0 QuestionnaireResponses"),
        ("bundle-2", "holds 2 QuestionnaireResponses"),
    ],
)
def test_invalid_responses_are_refused_with_a_reason(kb: KnowledgeBase, data: Any,
                                                     message: str) -> None:
    if isinstance(data, list) and (not data or isinstance(data[0], dict)):
        data = _qr(data, kb=kb) if data else data
    elif data == "covid":
        # another form whose linkId happens to match one of ours
        data = _qr([{"linkId": "fever", "answer": [{"valueBoolean": True}]}],
                   questionnaire="http://example.org/Questionnaire/covid-screen|2")
    elif data in ("entered-in-error", "no-status"):
        data = _qr([], kb=kb, status=data)
        if data["status"] == "no-status":
            del data["status"]
    elif data == "not-a-list":
        data = _qr("fever", kb=kb)
    elif isinstance(data, str) and data.startswith("bundle"):
        qr = _qr([], kb=kb)
        data = {"resourceType": "Bundle", "type": "collection",
                "entry": [{"resource": qr}] * int(data[-1])}
    with pytest.raises(InputFileError, match=message):
        fhir.read_response(data, kb)


def test_unknown_question_from_another_version_says_so(kb: KnowledgeBase) -> None:
    data = _qr([{"linkId": "gone", "answer": [{"valueBoolean": True}]}],
               questionnaire=f"{fhir.QUESTIONNAIRE_URL}|0.1.0")
    with pytest.raises(InputFileError, match=r"made with knowledge base 0\.1\.0"):
        fhir.read_response(data, kb)


def test_refusal_never_echoes_an_answer(kb: KnowledgeBase) -> None:
    data = _qr([{"linkId": "note", "answer": [{"valueInteger": 555123}]}], kb=kb)
    with pytest.raises(InputFileError) as info:
        fhir.read_response(data, kb)
    assert "555123" not in str(info.value)


# -- the command line ---------------------------------------------------------------------------

def test_cli_assess_reads_a_response_like_the_answers_map(
        kb: KnowledgeBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from upperback import cli

    answers = {"fever": True, "acute_onset": False}
    plain = tmp_path / "a.json"
    plain.write_text(json.dumps(answers), encoding="utf-8")
    out = tmp_path / "bundle.json"
    assert cli.main(["assess", "--answers", str(plain), "--format", "fhir", "-o", str(out),
                     "--assessor", "Dr A", "--note", "seen today",
                     "--patient", "http://clinic.example/mrn|PT-SECRET-9"]) == 0
    printed = capsys.readouterr()
    assert "PT-SECRET-9" not in printed.out + printed.err
    bundle = json.loads(out.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    assert "PT-SECRET-9" in out.read_text(encoding="utf-8")
    # the export read back: the same assessment, the note and assessor restored
    assert cli.main(["assess", "--answers", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == upperback.assess(answers, kb).to_dict()
    assert cli.main(["assess", "--answers", str(out), "--format", "html"]) == 0
    html = capsys.readouterr().out
    assert "seen today" in html
    assert "Dr A" in html


def test_cli_assess_refuses_a_foreign_response_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from upperback import cli

    f = tmp_path / "covid.json"
    f.write_text(json.dumps(_qr([{"linkId": "fever", "answer": [{"valueBoolean": True}]}],
                                questionnaire="http://example.org/Questionnaire/covid|1")),
                 encoding="utf-8")
    assert cli.main(["assess", "--answers", str(f)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "another form" in err
    assert "unknown finding" not in err


def test_dashboard_import_restores_answers_note_and_assessor(kb: KnowledgeBase) -> None:
    from upperback.widgets.assessment import AssessmentApp

    answers = {"fever": True, "smoking": False}
    bundle = fhir.assessment_bundle(upperback.assess(answers, kb), kb, assessor="Dr B",
                                    note="follow up", patient="Patient/p1")
    app = AssessmentApp(kb)
    assert app.load_questionnaire_response(json.dumps(bundle).encode()) == 2
    assert app.answers() == answers
    assert (app.note.value, app.assessor.value) == ("follow up", "Dr B")
    assert app.imported_version == kb.version
