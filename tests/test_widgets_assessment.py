"""The assessment dashboard, driven without a browser: set toggles, click buttons, read HTML."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

import ipywidgets as w
import pytest

import upperback
from upperback import KnowledgeBase, export
from upperback.widgets import AssessmentApp, build_assessment
from upperback.widgets.assessment import RED_FLAG_HISTORY, checklist_sections


@pytest.fixture
def app(kb: KnowledgeBase) -> AssessmentApp:
    built = build_assessment(kb)
    assert isinstance(built, AssessmentApp)
    return built


def answer(app: AssessmentApp, answers: dict[str, bool]) -> None:
    for fid, v in answers.items():
        app.controls[fid].value = "Yes" if v else "No"


def banner_urgency(app: AssessmentApp) -> str:
    m = re.search(r"data-urgency='(\w+)'", app.banner.value)
    assert m
    return m.group(1)


def test_every_finding_has_a_labelled_yes_no_clear_control(app: AssessmentApp,
                                                           kb: KnowledgeBase) -> None:
    assert set(app.controls) == set(kb.findings)
    for fid, row in app.rows.items():
        assert f"finding-{fid}" in row._dom_classes
        toggle, clear = app.controls[fid], app.clear_buttons[fid]
        assert toggle in row.children
        assert clear in row.children
        assert list(toggle.options) == ["Yes", "No"]
        assert toggle.value is None
        assert clear.description == "Clear"
        assert kb.findings[fid].label in toggle.tooltips[0]


def test_sections_put_emergency_first_and_red_flag_history_early(kb: KnowledgeBase) -> None:
    sections = checklist_sections(kb)
    assert sections[0][1] == "emergency"
    assert all(f.kind in ("ambulance", "emergency") for f in sections[0][2])
    assert [s[1] for s in sections[1:3]] == ["urgent", "see_provider"]
    red_history = next(s for s in sections if s[0] == RED_FLAG_HISTORY)
    ids = {f.finding_id for f in red_history[2]}
    assert {"acute_onset", "osteoporosis", "long_term_steroid_use"} <= ids
    seen = [f.finding_id for s in sections for f in s[2]]
    assert sorted(seen) == sorted(kb.findings)  # every finding exactly once


@pytest.mark.parametrize(
    ("answers", "urgency"),
    [
        ({}, "incomplete"),
        ({"saddle_or_leg_numbness": True}, "emergency"),
        ({"acute_onset": True, "osteoporosis": True}, "emergency"),
        ({"fever": True}, "see_provider"),
        ("screen_all_no", "self_care"),
    ],
)
def test_banner_matches_engine(app: AssessmentApp, kb: KnowledgeBase,
                               screen_all_no: dict[str, bool], answers: Any,
                               urgency: str) -> None:
    answers = screen_all_no if answers == "screen_all_no" else answers
    answer(app, answers)
    assert banner_urgency(app) == urgency == upperback.triage(answers, kb)
    a = upperback.assess(answers, kb)
    assert a.headline in app.banner.value
    for r in a.fired:
        assert r.label in app.banner.value
    assert ("Emergency screen incomplete" in app.banner.value) == (
        not a.emergency_screen_complete)
    if not a.emergency_screen_complete:
        n = len(a.unanswered_emergency)
        assert f"{n} question" in app.banner.value
        for fid in a.unanswered_emergency:
            assert f"href='#q-{fid}'" in app.results.value  # listed one click away


def test_see_provider_with_open_emergency_questions_says_so(app: AssessmentApp) -> None:
    answer(app, {"fever": True})
    assert banner_urgency(app) == "see_provider"
    assert "Emergency screen incomplete" in app.banner.value


def test_every_answer_updates_and_clear_unanswers(app: AssessmentApp) -> None:
    app.controls["chest_pain_or_pressure"].value = "Yes"
    assert banner_urgency(app) == "ambulance"
    assert "secondary" in app.results.value
    app.clear_buttons["chest_pain_or_pressure"].click()
    assert app.controls["chest_pain_or_pressure"].value is None
    assert banner_urgency(app) == "incomplete"
    assert app.answers() == {}


def test_causes_change_with_answers(app: AssessmentApp, screen_all_no: dict[str, bool]) -> None:
    answer(app, screen_all_no)
    assert app.assessment is not None
    assert app.assessment.candidates  # never empty
    before = app.assessment
    answer(app, {"heavy_lifting": True, "pain_worse_with_movement": True})
    assert app.assessment is not None
    assert before.candidates != app.assessment.candidates
    top = app.assessment.candidates[0]
    assert top.condition_id == "back_strain"
    assert f"data-condition='{top.condition_id}'" in app.results.value
    assert "Heavy lifting" in app.results.value or "heavy lifting" in app.results.value
    assert banner_urgency(app) == "self_care"


def test_withheld_and_risk_factors_shown(app: AssessmentApp) -> None:
    answer(app, {"pregnancy": True, "heavy_lifting": True, "smoking": True})
    assert "Withheld" in app.results.value
    assert "NSAID" in app.results.value
    assert "Risk factors and prevention" in app.results.value


def test_reset_clears_answers_and_note(app: AssessmentApp) -> None:
    answer(app, {"fever": True, "smoking": False})
    app.note.value = "private note"
    app.assessor.value = "Dr A"
    app.reset_button.click()
    assert app.answers() == {}
    assert app.note.value == ""
    assert app.assessor.value == ""
    assert banner_urgency(app) == "incomplete"
    assert "private note" not in app.downloads.value


def _download(app: AssessmentApp, cls: str) -> bytes:
    m = re.search(rf"class='{cls}' download='([^']+)' href='data:[^;]+(?:;charset=utf-8)?;"
                  r"base64,([^']+)'", app.downloads.value)
    assert m, app.downloads.value[:300]
    return base64.b64decode(m.group(2))


def test_downloads_follow_answers_assessor_and_note(app: AssessmentApp,
                                                    kb: KnowledgeBase) -> None:
    answer(app, {"fever": True})
    app.assessor.value = "Dr <A>"
    app.note.value = "seen today"
    html = _download(app, "ub-download-html").decode("utf-8")
    assert "SEE A PROVIDER" in html
    assert "Dr &lt;A&gt;" in html
    assert "seen today" in html
    assert kb.version in html
    assert upperback.DISCLAIMER in html
    bundle = json.loads(_download(app, "ub-download-fhir"))
    assert bundle["resourceType"] == "Bundle"
    qr, risk = (e["resource"] for e in bundle["entry"])
    assert export.answers_from_questionnaire_response(bundle, kb) == {"fever": True}
    assert qr["author"]["display"] == "Dr <A>"
    assert risk["resourceType"] == "RiskAssessment"


def _upload(app: AssessmentApp, raw: bytes, name: str = "qr.json") -> None:
    app.upload.value = ({"name": name, "type": "application/json", "size": len(raw),
                         "content": memoryview(raw),
                         "last_modified": datetime(2025, 1, 1, tzinfo=UTC)},)


def test_import_round_trip(app: AssessmentApp, kb: KnowledgeBase) -> None:
    answers = {"fever": True, "smoking": False, "saddle_or_leg_numbness": False}
    qr = export.questionnaire_response(upperback.assess(answers, kb), kb)
    _upload(app, json.dumps(qr).encode())
    assert app.answers() == answers
    assert "Loaded 3 answers" in app.import_status.value
    assert banner_urgency(app) == "see_provider"
    assert app.upload.value == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b'{"resourceType": "Patient"}', "resourceType"),
        (b'{"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": "'
         + export.QUESTIONNAIRE_URL.encode() + b'", "item": [{"linkId": "nope", '
         b'"answer": [{"valueBoolean": true}]}]}', "no such question"),
        (b'{"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": "'
         + export.QUESTIONNAIRE_URL.encode() + b'", "item": [{"linkId": "fever", '
         b'"answer": [{"valueInteger": 1}]}]}', "valueBoolean"),
    ],
)
def test_import_errors_are_shown_and_answers_kept(app: AssessmentApp, raw: bytes,
                                                  message: str) -> None:
    answer(app, {"smoking": True})
    _upload(app, raw, "bad.json")
    assert "role='alert'" in app.import_status.value
    assert message in app.import_status.value
    assert app.answers() == {"smoking": True}


def test_callback_error_reaches_the_error_banner(app: AssessmentApp,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret value")

    monkeypatch.setattr("upperback.widgets.assessment.assess", boom)
    app.controls["fever"].value = "Yes"
    assert "Unexpected error (RuntimeError)" in app.error.value
    assert "secret value" not in app.error.value


def test_no_answer_reaches_the_log(app: AssessmentApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    _upload(app, b'{"resourceType": "QuestionnaireResponse", "item": [{"linkId": "fever", '
                 b'"answer": [{"valueString": "patient-secret"}]}]}')
    answer(app, {"fever": True})
    assert "patient-secret" not in caplog.text
    assert "fever" not in caplog.text


def test_disclaimer_and_version_always_present(app: AssessmentApp, kb: KnowledgeBase) -> None:
    footers = [c for c in _walk(app) if isinstance(c, w.HTML) and "ub-footer-box" in
               c._dom_classes]
    assert footers
    assert all(upperback.DISCLAIMER in f.value and kb.version in f.value for f in footers)


def test_emergency_number_from_configuration(kb: KnowledgeBase,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPPERBACK_EMERGENCY_NUMBER", "112")
    built = build_assessment(kb)
    assert isinstance(built, AssessmentApp)
    built.controls["cannot_walk_or_stand"].value = "Yes"
    assert "Call 112" in built.banner.value
    assert "911" not in built.banner.value + built.results.value


def test_broken_knowledge_base_gives_a_message(data_copy: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = data_copy / "findings.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("emergency,", "urgent,", 1),
                    encoding="utf-8")
    monkeypatch.setenv("UPPERBACK_DATA", str(data_copy))
    upperback.load_knowledge_base.cache_clear() if hasattr(
        upperback.load_knowledge_base, "cache_clear") else None
    built = build_assessment()
    assert not isinstance(built, AssessmentApp)
    text = "".join(c.value for c in _walk(built) if isinstance(c, w.HTML))
    assert "cannot be loaded" in text
    assert "findings.csv" in text


def _walk(widget: w.Widget) -> list[w.Widget]:
    out = [widget]
    for child in getattr(widget, "children", ()):
        out += _walk(child)
    return out


def test_unanswered_contraindication_is_shown_as_ask_first(kb: KnowledgeBase) -> None:
    app = AssessmentApp(kb)
    app.set_answers({"heavy_lifting": True})
    assert "Ask first:" in app.results.value
    assert "Currently pregnant?" in app.results.value
    assert "<span class='ub-check-before'>" in app.results.value
    assert "(Over the counter)" in app.results.value


def test_long_tail_of_causes_is_collapsed(app: AssessmentApp, kb: KnowledgeBase) -> None:
    app.set_answers({f.finding_id: True for f in kb.findings_in_order() if f.kind == "history"})
    assert app.assessment is not None
    assert len(app.assessment.candidates) > 5
    causes = app.results.value.split("Possible causes (estimates, not a diagnosis)</h3>", 1)[1]
    head, tail = causes.split("<details class='ub-more'><summary>", 1)
    top = "<li class='ub-cause' data-condition="
    assert head.count(top) == 5
    assert tail.count(top) == len(app.assessment.candidates) - 5


def test_screen_matches_the_report(app: AssessmentApp, kb: KnowledgeBase) -> None:
    from upperback import _render

    app.set_answers({"fever": True, "heavy_lifting": True})
    assert app.assessment is not None
    assert app.banner.value == _render.summary_html(app.assessment, kb, _render.SCREEN)
    assert app.results.value == _render.details_html(app.assessment, kb, _render.SCREEN)
    assert _render.banner_html(app.assessment, kb, _render.SCREEN) in app.results.value
    assert _render.results_html(app.assessment, kb, _render.SCREEN) in app.results.value


@pytest.mark.parametrize(("version", "notice"), [(None, False), ("0.9.0+deadbeef", True)])
def test_import_from_another_knowledge_base_version_says_so(
    kb: KnowledgeBase, version: str | None, notice: bool
) -> None:
    app = AssessmentApp(kb)
    data = export.questionnaire_response(upperback.assess({"fever": True}, kb), kb)
    if version:
        data["questionnaire"] = f"{export.QUESTIONNAIRE_URL}|{version}"
    raw = json.dumps(data).encode()
    app._on_upload({"new": ({"name": "r.json", "content": raw},)})
    assert "Loaded 1 answers" in app.import_status.value
    assert ("made with knowledge base 0.9.0+deadbeef" in app.import_status.value) == notice


# -- the first screen, fewer clicks, demographics, restore, exports ---------------------------
def _words(html: str) -> int:
    from upperback import _render

    return _render.word_count(html)


@pytest.mark.parametrize(
    "answers",
    [{}, {"heavy_lifting": True}, {"fever": True}, {"saddle_or_leg_numbness": True},
     {"acute_onset": True, "osteoporosis": True}, "screen_all_no", "everything_yes"],
)
def test_first_screen_is_at_most_150_words(app: AssessmentApp, kb: KnowledgeBase,
                                           screen_all_no: dict[str, bool],
                                           answers: Any) -> None:
    if answers == "screen_all_no":
        answers = {**screen_all_no, "heavy_lifting": True}
    elif answers == "everything_yes":
        answers = dict.fromkeys(kb.findings, True)
    app.set_answers(answers)
    assert app.assessment is not None
    assert _words(app.banner.value) <= 150
    assert "[Source:" not in app.banner.value  # sources sit one click away
    assert app.results.value.startswith("<details class='ub-more ub-details'>")
    top = app.assessment.candidates[:3]
    for cand in top:
        assert cand.name in app.banner.value


def test_a_healthy_mechanical_case_takes_at_most_12_clicks(app: AssessmentApp,
                                                           kb: KnowledgeBase) -> None:
    app.age.value = "34"  # typed, not clicked
    clicks = 0
    app.controls["heavy_lifting"].value = "Yes"
    clicks += 1
    for button in app.no_to_rest.values():
        button.click()
        clicks += 1
    assert clicks <= 12
    by_age = {f for f, x in kb.findings.items() if x.min_age is not None}
    assert app.answers() == {**{f: False for f in kb.findings if f not in by_age},
                             "heavy_lifting": True}
    assert banner_urgency(app) == "self_care"
    assert app.assessment is not None
    assert app.assessment.candidates[0].condition_id == "back_strain"


def test_no_to_the_rest_keeps_given_answers_and_only_touches_its_section(
        app: AssessmentApp) -> None:
    title, ids = next(iter(app.sections.items()))
    app.controls[ids[0]].value = "Yes"
    assert app.answer_rest_no(title) == len(ids) - 1
    assert app.answers() == {ids[0]: True, **dict.fromkeys(ids[1:], False)}
    assert app.answer_rest_no(title) == 0  # nothing left: nothing changes


@pytest.mark.parametrize(("text", "ok"), [("34", True), ("", True), (" 71 ", True),
                                          ("-1", False), ("121", False), ("3.5", False),
                                          ("abc", False)])
def test_age_is_a_whole_number_of_years(text: str, ok: bool) -> None:
    from upperback.widgets.assessment import parse_age

    if ok:
        assert parse_age(text) == (int(text) if text.strip() else None)
    else:
        with pytest.raises(ValueError, match="whole number of years from 0 to 120"):
            parse_age(text)


def test_bad_age_is_shown_beside_the_field_and_left_out(app: AssessmentApp) -> None:
    app.age.value = "abc"
    assert "whole number of years" in app.age_message.value
    assert "age" not in app.demographics()
    app.age.value = ""
    assert app.age_message.value == ""
    app.sex.value = "female"
    assert app.demographics() == {"sex": "female"}
    assert app.assessment is not None
    assert app.assessment.sex == "female"


def test_age_fills_in_the_aged_n_or_older_questions(app: AssessmentApp, kb: KnowledgeBase) -> None:
    by_age = [f for f in kb.findings.values() if f.min_age is not None]
    assert by_age
    app.age.value = "71"
    assert app.assessment is not None
    assert app.assessment.age == 71
    for f in by_age:
        assert app.controls[f.finding_id].disabled
        assert app.controls[f.finding_id].value == ("Yes" if f.min_age <= 71 else "No")
        assert f.finding_id not in app.answers()  # the engine derives them from the age
    app.age.value = ""
    for f in by_age:
        assert not app.controls[f.finding_id].disabled
        assert app.controls[f.finding_id].value is None


def test_patient_identifier_goes_into_the_exports_only(app: AssessmentApp,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    app.patient_id.value = "MRN-4711"
    answer(app, {"fever": True})
    html = _download(app, "ub-download-html").decode("utf-8")
    assert "MRN-4711" in html
    qr, risk = (e["resource"] for e in json.loads(_download(app, "ub-download-fhir"))["entry"])
    assert qr["subject"]["identifier"]["value"] == "MRN-4711"
    assert risk["subject"]["identifier"]["value"] == "MRN-4711"
    assert "MRN-4711" not in app.state.value  # never kept in the browser's storage
    assert "MRN-4711" not in caplog.text
    assert "MRN-4711" in app.printable.value  # the printed page is an export too


def test_import_restores_assessor_and_note(app: AssessmentApp, kb: KnowledgeBase) -> None:
    qr = export.questionnaire_response(upperback.assess({"fever": True}, kb), kb,
                                       assessor="Dr Lee", note="seen twice")
    _upload(app, json.dumps(qr).encode())
    assert app.assessor.value == "Dr Lee"
    assert app.note.value == "seen twice"
    assert "seen twice" in _download(app, "ub-download-html").decode("utf-8")


def test_state_kept_in_the_browser_round_trips(kb: KnowledgeBase) -> None:
    first = AssessmentApp(kb)
    answer(first, {"fever": True, "smoking": False})
    first.age.value = "34"
    first.note.value = "note <b>"
    m = re.search(r"data-state='([^']*)'", first.state.value)
    assert m
    import html as _html

    kept = _html.unescape(m.group(1))
    second = AssessmentApp(kb)
    second.restore.value = kept  # what the page script does after a reload
    assert second.answers() == {"fever": True, "smoking": False}
    assert second.age.value == "34"
    assert second.note.value == "note <b>"
    assert "Restored 2 answers" in second.import_status.value
    assert second.restore.value == ""


@pytest.mark.parametrize("kept", ['{"answers": {"nope": true}}', '{"answers": {"fever": 1}}',
                                  "[1, 2]", "{not json"])
def test_bad_kept_state_is_refused_and_changes_nothing(app: AssessmentApp, kept: str) -> None:
    answer(app, {"smoking": True})
    app.restore.value = kept
    assert "Could not restore" in app.import_status.value
    assert app.answers() == {"smoking": True}


def test_printout_holds_the_whole_report(app: AssessmentApp, kb: KnowledgeBase) -> None:
    answer(app, {"fever": True})
    assert "ub-print-only" in app.printable._dom_classes
    for text in ("Answers recorded", "Not answered", "Suggested work-up", kb.version):
        assert text in app.printable.value


def test_no_internal_code_on_screen(app: AssessmentApp, kb: KnowledgeBase) -> None:
    app.set_answers(dict.fromkeys(kb.findings, True))
    visible = re.sub(r"<[^>]+>", " ", app.banner.value + app.results.value)
    codes = [*kb.findings, *kb.conditions, *kb.treatments, "see_provider", "self_care",
             "systemic_organ", "non_drug", "procedure_surgery"]
    for code in (x for x in codes if "_" in x):  # one-word ids are ordinary words
        assert not re.search(rf"\b{code}\b", visible), code


def test_encounter_and_author_go_into_the_fhir_bundle_only(app: AssessmentApp) -> None:
    answer(app, {"fever": True})
    app.encounter.value = "Encounter/e-77"
    app.author.value = "Practitioner/p-9"
    qr, risk = (e["resource"] for e in json.loads(_download(app, "ub-download-fhir"))["entry"])
    assert qr["encounter"]["reference"] == "Encounter/e-77"
    assert risk["encounter"]["reference"] == "Encounter/e-77"
    assert any(a.get("reference") == "Practitioner/p-9"
               for a in ([qr["author"]] if isinstance(qr["author"], dict) else qr["author"]))
    assert "e-77" not in app.state.value
    assert "p-9" not in app.state.value
    app.reset()
    assert (app.encounter.value, app.author.value) == ("", "")
