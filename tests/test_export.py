"""Exports: printable HTML report and FHIR R4B Questionnaire/QuestionnaireResponse."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

import upperback
from upperback import InputFileError, KnowledgeBase, export

WHEN = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


def _items_match(qr: dict[str, Any], q: dict[str, Any]) -> None:
    """Our own check: every answered linkId is a boolean item of the generated Questionnaire."""
    types = {i["linkId"]: i["type"] for i in q["item"]}
    for item in qr.get("item", []):
        assert item["linkId"] in types
        assert types[item["linkId"]] == "boolean"
        assert [list(a) for a in item["answer"]] == [["valueBoolean"]]


def test_questionnaire_is_valid_r4b_with_one_boolean_item_per_finding(kb: KnowledgeBase) -> None:
    q = export.questionnaire(kb)
    Questionnaire.model_validate(q)
    assert [i["linkId"] for i in q["item"]] == [f.finding_id for f in kb.findings_in_order()]
    assert {i["type"] for i in q["item"]} == {"boolean"}
    assert q["version"] == kb.version


@pytest.mark.parametrize(
    ("answers", "status"),
    [
        ({}, "in-progress"),
        ({"saddle_or_leg_numbness": True}, "in-progress"),
        ("screen_all_no", "completed"),
        ("screen_all_no+heavy_lifting", "completed"),
    ],
)
def test_questionnaire_response_valid_and_round_trips(
    kb: KnowledgeBase, screen_all_no: dict[str, bool], answers: Any, status: str
) -> None:
    if isinstance(answers, str):
        answers = dict(screen_all_no, **({"heavy_lifting": True} if "+" in answers else {}))
    a = upperback.assess(answers, kb)
    qr = export.questionnaire_response(a, kb, assessor="Dr A", note="note <b>", when=WHEN)
    QuestionnaireResponse.model_validate(qr)
    _items_match(qr, export.questionnaire(kb))
    assert qr["status"] == status
    assert qr["authored"] == "2025-03-04T10:30:00+00:00"
    assert qr["meta"]["tag"][0]["code"] == kb.version
    ext = {e["url"]: next(v for k, v in e.items() if k != "url") for e in qr["extension"]}
    assert ext[export.EXT_DISCLAIMER] == upperback.DISCLAIMER
    assert ext[export.EXT_URGENCY] == a.urgency
    assert ext[export.EXT_NOTE] == "note <b>"
    assert qr["author"] == {"display": "Dr A"}
    back = export.answers_from_questionnaire_response(json.loads(json.dumps(qr)), kb)
    assert back == answers


def _qr(items: Any, kind: Any = "QuestionnaireResponse") -> dict[str, Any]:
    return {"resourceType": kind, "status": "completed", "item": items}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        (_qr([], kind="Patient"), "resourceType"),
        (_qr("fever"), "list"),
        (_qr([{"answer": [{"valueBoolean": True}]}]), "no linkId"),
        (_qr([{"linkId": "not_a_finding", "answer": [{"valueBoolean": True}]}]), "unknown"),
        (_qr([{"linkId": "fever", "answer": [{"valueString": "yes"}]}]), "valueBoolean"),
        (_qr([{"linkId": "fever", "answer": [{"valueBoolean": "true"}]}]), "valueBoolean"),
        (_qr([{"linkId": "fever", "answer": [{"valueBoolean": True, "valueString": "x"}]}]),
         "single valueBoolean"),
        (_qr([{"linkId": "fever", "answer": [{"valueBoolean": True}, {"valueBoolean": False}]}]),
         "one answer"),
        (_qr([{"linkId": "fever", "answer": [{"valueBoolean": True}]}] * 2), "more than once"),
    ],
)
def test_invalid_questionnaire_response_is_refused(kb: KnowledgeBase, data: Any,
                                                   message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        export.answers_from_questionnaire_response(data, kb)


def test_item_without_answer_is_unanswered(kb: KnowledgeBase) -> None:
    data = _qr([{"linkId": "fever", "answer": []}, {"linkId": "smoking",
                                                     "answer": [{"valueBoolean": False}]}])
    assert export.answers_from_questionnaire_response(data, kb) == {"smoking": False}


@pytest.mark.parametrize(
    ("answers", "expect", "absent"),
    [
        ({"acute_onset": True, "osteoporosis": True},
         ["EMERGENCY", "Sudden pain with osteoporosis", "treatment options are secondary",
          "Emergency screen incomplete"], ["SELF-CARE"]),
        ("screen_all_no", ["SELF-CARE", "Not screened by this checklist"],
         ["Emergency screen incomplete", "secondary"]),
        ({"fever": True}, ["SEE A PROVIDER", "Emergency screen incomplete"], ["EMERGENCY:"]),
        ({"pregnancy": True, "heavy_lifting": True}, ["Withheld", "NSAIDs should be avoided",
                                                       "Back strain"], []),
    ],
)
def test_html_report_content(kb: KnowledgeBase, screen_all_no: dict[str, bool], answers: Any,
                             expect: list[str], absent: list[str]) -> None:
    if answers == "screen_all_no":
        answers = screen_all_no
    a = upperback.assess(answers, kb)
    html = export.render_html(a, kb, assessor="Dr <Smith>", note="first & only", when=WHEN)
    for text in [*expect, upperback.DISCLAIMER, kb.version, "2025-03-04 10:30",
                 "Dr &lt;Smith&gt;", "first &amp; only", "@media print",
                 f"data-urgency='{a.urgency}'"]:
        assert text in html
    for text in absent:
        assert text not in html
    assert "<Smith>" not in html
    assert "http://" not in html
    assert "https://" not in html.replace("https://www", "")


def test_html_report_escapes_knowledge_base_text(kb: KnowledgeBase) -> None:
    a = upperback.assess({"fever": True}, kb)
    from dataclasses import replace

    evil = replace(a, headline="<script>alert(1)</script>")
    html = export.render_html(evil, kb)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_html_report_matches_the_dashboard_wording(kb: KnowledgeBase) -> None:
    """Access in words, what each option is for, what to ask first, and the shared sections."""
    a = upperback.assess({"heavy_lifting": True}, kb)
    html = export.render_html(a, kb, when=WHEN)
    assert "(Over the counter)" in html
    assert "(otc)" not in html
    assert "For: Back strain" in html
    assert "<span class='ub-check-before'><strong>Ask first:</strong>" in html
    assert "class='ub-banner ub-u-incomplete'" in html
    assert "Safety net:" in html
    assert "data-condition='back_strain'" in html
    emergency = export.render_html(upperback.assess({"chest_pain_or_pressure": True}, kb), kb)
    assert "No single answer would raise the urgency." in emergency
    assert "href=" not in html + emergency  # a report does not link into a dashboard


def test_cli_fhir_output_matches_library(kb: KnowledgeBase, tmp_path: Any) -> None:
    from upperback import cli

    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"fever": True}), encoding="utf-8")
    out = tmp_path / "qr.json"
    assert cli.main(["assess", "--answers", str(answers), "--format", "fhir",
                     "-o", str(out)]) == 0
    qr = json.loads(out.read_text(encoding="utf-8"))
    QuestionnaireResponse.model_validate(qr)
    assert export.answers_from_questionnaire_response(qr, kb) == {"fever": True}
