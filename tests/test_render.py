"""The shared renderer: the dashboard and the printable report say the same things."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from html import escape

import pytest

import upperback
from upperback import KnowledgeBase, _render, export
from upperback.widgets import AssessmentApp
from upperback.widgets import _common as common

HISTORY_ALL_YES = "every history question yes"


def _assess(kb: KnowledgeBase, answers: dict[str, bool] | str) -> upperback.Assessment:
    if answers == HISTORY_ALL_YES:
        answers = {f.finding_id: True for f in kb.findings_in_order() if f.kind == "history"}
    assert isinstance(answers, dict)
    return upperback.assess(answers, kb)


def _text(html: str) -> str:
    """Visible words only: tags dropped, whitespace squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


CASES = [
    {},
    {"heavy_lifting": True},
    {"fever": True},
    {"saddle_or_leg_numbness": True},
    {"pregnancy": True, "heavy_lifting": True, "smoking": True},
    HISTORY_ALL_YES,
]


def test_word_maps_live_in_one_place() -> None:
    for name in ("URGENCY_WORDS", "URGENCY_ICON", "CATEGORY_WORDS", "ACCESS_WORDS",
                 "INVASIVENESS_WORDS"):
        assert getattr(common, name) is getattr(_render, name)
    assert not hasattr(export, "URGENCY_WORDS")
    assert not hasattr(export, "CATEGORY_WORDS")


def test_renderer_and_report_work_without_ipywidgets() -> None:
    code = ("import sys; import upperback, upperback._render, upperback.export; "
            "kb = upperback.load_knowledge_base(); "
            "upperback.export.render_html(upperback.assess({'fever': True}, kb), kb); "
            "sys.exit('ipywidgets' in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("answers", CASES)
def test_screen_and_report_say_the_same_things(kb: KnowledgeBase,
                                               answers: dict[str, bool] | str) -> None:
    a = _assess(kb, answers)
    app = AssessmentApp(kb)
    app.set_answers(a.answers)
    report = _text(export.render_html(a, kb))
    # the details say what the report says, piece by piece ...
    for piece in re.split(r"<(?:li|div|p|h\d|summary)\b[^>]*>", app.results.value):
        words = _text(piece)
        if words and not words.startswith(("Details: why", "Why this urgency")):
            assert words in report, words
    # ... and the first screen is a shortening of it: urgency, advice, top causes
    for words in (a.headline, a.advice, *(c.name for c in a.candidates[:3])):
        assert escape(words, quote=False) in app.banner.value
        assert _text(escape(words)) in report, words
    for c in a.candidates[:3]:
        assert _render.estimate(c) in _text(app.banner.value)
        assert f"estimated {_render._percent(c.probability)} (prior" in report


def test_banner_sections(kb: KnowledgeBase) -> None:
    a = _assess(kb, {"fever": True, "acute_onset": True, "osteoporosis": True})
    screen = _render.banner_html(a, kb, _render.SCREEN)
    report = _render.banner_html(a, kb, _render.REPORT)
    assert a.urgency == "emergency"
    for html in (screen, report):
        assert "class='ub-banner ub-u-emergency' data-urgency='emergency'" in html
        assert "[!!] EMERGENCY" in html
        assert "ub-emergency-incomplete" in html
        assert "Safety net:" in html
        for r in a.fired:
            assert escape(r.rationale) in html
            assert "Answers:" in html
    # fired rules carry their sources, in each face's citation class
    src = kb.sources[a.fired[0].source_id].short_name
    assert "class='ub-src' title=" in screen
    assert escape(src) in screen
    assert "class='src' title=" in report
    assert "class='ub-src'" not in report
    # questions link back to the checklist on screen only
    assert "href='#q-" in screen
    assert "href=" not in report


def test_unanswered_see_a_provider_questions(kb: KnowledgeBase) -> None:
    emergency_no = {f: False for r in kb.rules.values()
                    if upperback.urgency_rank(r.urgency) >= upperback.urgency_rank("emergency")
                    for f in r.findings}
    a = upperback.assess(emergency_no, kb)
    others = [f for f in a.unanswered_red_flags if f not in set(a.unanswered_emergency)]
    assert others
    html = _render.banner_html(a, kb, _render.REPORT)
    assert "Other unanswered red-flag questions:" in html
    for f in others:
        assert escape(kb.findings[f].label) in html


def test_causes_beyond_the_first_five_are_collapsed_on_screen_open_in_print(
        kb: KnowledgeBase) -> None:
    a = _assess(kb, HISTORY_ALL_YES)
    assert len(a.candidates) > _render.SHOWN_CAUSES
    screen = _render.causes_html(a, kb, _render.SCREEN)
    report = _render.causes_html(a, kb, _render.REPORT)
    more = len(a.candidates) - _render.SHOWN_CAUSES
    assert f"<details class='ub-more'><summary>{more} less likely causes" in screen
    assert f"<details class='ub-more' open><summary>{more} less likely causes" in report
    top = "<li class='ub-cause' data-condition="
    for html in (screen, report):
        assert html.count(top) == len(a.candidates)
        head, tail = html.split("<details", 1)
        assert head.count(top) == _render.SHOWN_CAUSES
        assert f"<ol start='{_render.SHOWN_CAUSES + 1}' class='ub-causes'>" in tail


def test_no_causes(kb: KnowledgeBase, screen_all_no: dict[str, bool]) -> None:
    html = _render.causes_html(replace(upperback.assess(screen_all_no, kb), candidates=(),
                                       cant_miss=()), kb)
    assert "ub-causes-none" in html
    assert "<details" not in html


def test_causes_never_empty_and_show_estimate_basis_and_subtypes(
        kb: KnowledgeBase, screen_all_no: dict[str, bool]) -> None:
    a = upperback.assess(screen_all_no, kb)
    html = _render.causes_html(a, kb)
    assert "<ol class='ub-causes'>" in html
    assert f"data-condition='{a.candidates[0].condition_id}'" in html
    assert "estimated " in html
    assert "expert estimate" in html
    tumour = _render.causes_html(upperback.assess({"cancer_history": True}, kb), kb)
    assert "<ul class='ub-subtypes'><li class='ub-subtype' data-condition='spinal_metastasis'" \
        in tumour
    assert "Must not miss:" in tumour
    assert "answered" not in html or "<em>no</em>" in html


def test_treatments_show_access_words_for_and_ask_first(kb: KnowledgeBase) -> None:
    a = _assess(kb, {"heavy_lifting": True})
    for face in (_render.SCREEN, _render.REPORT):
        html = _render.treatments_html(a, kb, face)
        for t in a.treatments:
            assert f"({escape(_render.ACCESS_WORDS[t.access])})" in html
            if t.for_conditions:
                names = ", ".join(escape(kb.conditions[x].name) for x in t.for_conditions)
                assert f"For: {names}." in html
        assert "(otc)" not in html
        assert "(self_care)" not in html
        asks = next(t for t in a.treatments if t.check_before)
        assert "<span class='ub-check-before'><strong>Ask first:</strong> " in html
        assert escape(kb.findings[asks.check_before[0]].label) in html
        assert "secondary" not in html


def test_withheld_and_secondary(kb: KnowledgeBase) -> None:
    a = _assess(kb, {"pregnancy": True, "heavy_lifting": True, "saddle_or_leg_numbness": True})
    html = _render.treatments_html(a, kb, _render.REPORT)
    assert a.treatments_secondary
    assert "Emergency: treatment options are secondary." in html
    assert "<ul class='ub-withheld'>" in html
    for wt in a.withheld_treatments:
        assert escape(wt.name) in html


def test_would_change_or_says_nothing_would(kb: KnowledgeBase,
                                            screen_all_no: dict[str, bool]) -> None:
    none = _assess(kb, {"chest_pain_or_pressure": True})  # the top level: nothing raises it
    assert not none.would_change
    assert "No single answer would raise the urgency." in _render.would_change_html(
        none, kb, _render.REPORT)
    some = _assess(kb, {**screen_all_no, "heavy_lifting": True})
    assert some.would_change
    html = _render.would_change_html(some, kb, _render.REPORT)
    assert "<ul class='ub-would-change'>" in html
    for d in some.would_change:
        assert escape(d.label) in html
        assert _render.word("urgency", d.new_urgency).lower() in html


def test_headings_follow_the_face(kb: KnowledgeBase) -> None:
    a = _assess(kb, {"heavy_lifting": True, "smoking": True})
    screen = _render.results_html(a, kb, _render.SCREEN)
    report = _render.results_html(a, kb, _render.REPORT)
    for title in ("Possible causes (estimates, not a diagnosis)", "Suggested work-up",
                  "Treatment options", "Risk factors and prevention",
                  "Complications to watch for", "What would change the decision",
                  "Not screened by this checklist"):
        assert f"<h3>{title}</h3>" in screen
        assert f"<h2>{title}</h2>" in report
    assert "<h4>Medication</h4>" in screen
    assert "<h3>Medication</h3>" in report


def test_every_section_escapes_text(kb: KnowledgeBase) -> None:
    evil = "<img src=x onerror=alert(1)>"
    a = _assess(kb, {"pregnancy": True, "heavy_lifting": True, "smoking": True,
                     "saddle_or_leg_numbness": True})
    a = replace(
        a,
        headline=evil, advice=evil, safety_net=evil,
        fired=tuple(replace(r, label=evil, rationale=evil) for r in a.fired),
        candidates=tuple(replace(x, name=evil, condition_id="x' onclick='y") for x in
                         a.candidates),
        workup=tuple(replace(x, name=evil, reasons=(evil,)) for x in a.workup),
        treatments=tuple(replace(x, name=evil, description=evil, evidence_note=evil)
                         for x in a.treatments),
        withheld_treatments=tuple(replace(x, name=evil, reasons=(evil,))
                                  for x in a.withheld_treatments),
        risk_factors=tuple(replace(x, name=evil, explanation=evil, prevention_advice=evil)
                           for x in a.risk_factors),
        screening_limits=tuple(replace(x, condition=evil, why_it_matters=evil)
                               for x in a.screening_limits),
    )
    for face in (_render.SCREEN, _render.REPORT):
        html = _render.banner_html(a, kb, face) + _render.results_html(a, kb, face)
        assert "<img" not in html
        assert "onclick='y" not in html
        assert escape(evil) in html


def test_cause_cites_the_sources_of_its_scoring_links(kb: KnowledgeBase) -> None:
    html = _render.causes_html(upperback.assess({"flank_pain_or_blood_in_urine": True}, kb), kb)
    assert "NIDDK (kidney stones)" in html


# -- the faces kit ----------------------------------------------------------------------------
def test_one_stylesheet_for_dashboard_and_report(kb: KnowledgeBase) -> None:
    from upperback.widgets import kit

    a = _assess(kb, {"fever": True})
    assert _render.STYLESHEET in export.render_html(a, kb)
    assert kit.style().value == f"<style>{_render.STYLESHEET}</style>"
    # every urgency the engine knows has its own banner colours and words
    for u in upperback.URGENCIES:
        assert f".ub-u-{u}{{" in _render.STYLESHEET
        assert u in _render.URGENCY_WORDS
    # a visible focus ring: at least 2 px
    assert re.search(r"outline:\s*[2-9]px solid", _render.STYLESHEET)


@pytest.mark.parametrize(("kind", "code", "words"), [
    ("urgency", "see_provider", "See a provider within days"),
    ("group", "systemic_organ", "Internal organs and whole-body illness"),
    ("group", "brand_new_group", "Brand new group"),  # never the raw code
    ("category", "non_drug", "Non-drug care"),
    ("sex", "female", "Female"),
])
def test_one_wording_map(kind: str, code: str, words: str) -> None:
    assert _render.word(kind, code) == words


def test_every_code_in_the_knowledge_base_has_words(kb: KnowledgeBase) -> None:
    for c in kb.conditions.values():
        assert c.group in _render.GROUP_WORDS, c.group
    for t in kb.treatments.values():
        assert t.category in _render.CATEGORY_WORDS
        assert t.access in _render.ACCESS_WORDS
        assert t.invasiveness in _render.INVASIVENESS_WORDS


def test_templates_escape_whatever_they_are_given(kb: KnowledgeBase) -> None:
    evil = "<script>alert(1)</script>"
    a = replace(_assess(kb, {"fever": True}), headline=evil, advice=evil)
    from datetime import UTC, datetime

    for html in (_render.summary_html(a, kb), _render.details_html(a, kb),
                 _render.report_html(a, kb, assessor=evil, note=evil, patient_id=evil,
                                     when=datetime(2025, 1, 1, tzinfo=UTC))):
        assert "<script>" not in html
        assert escape(evil, quote=False) in html or "&lt;script&gt;" in html
    assert "<script" not in _render.footer_html(replace(kb, version=evil))


def test_report_marks_unanswered_questions(kb: KnowledgeBase) -> None:
    a = _assess(kb, {"fever": True, "smoking": False})
    html = export.render_html(a, kb)
    n_open = len(kb.findings) - 2
    assert f"2 questions answered, {n_open} unanswered." in html
    assert html.count("Not answered") == n_open
    assert "Fever with the back pain? <strong>Yes</strong>" in html


def test_report_carries_a_patient_identifier_only_when_given(kb: KnowledgeBase) -> None:
    a = _assess(kb, {"fever": True})
    assert "Patient identifier" not in export.render_html(a, kb)
    assert "MRN-1" in export.render_html(a, kb, patient_id="MRN-1")
    qr = export.questionnaire_response(a, kb, patient="MRN-1")
    assert qr["subject"]["identifier"]["value"] == "MRN-1"
    assert "subject" not in export.questionnaire_response(a, kb)


def test_first_screen_word_budget_counts_only_what_shows() -> None:
    assert _render.word_count("<p>one two</p><details><summary>three</summary>four five"
                              "</details>") == 3
    assert _render.word_count("<details open><summary>a</summary>b c</details>") == 3


def test_first_screen_fits_150_words_for_every_safety_case(kb: KnowledgeBase) -> None:
    for case in kb.safety_cases.values():
        a = upperback.assess(dict(case.answers), kb)
        assert _render.word_count(_render.summary_html(a, kb)) <= 150, case.case_id


def test_banner_names_the_cause_that_raised_it_with_threshold_and_basis(
        kb: KnowledgeBase) -> None:
    everything_no = {f: False for f, x in kb.findings.items()
                     if x.min_age is None and f != "acute_onset"}
    a = upperback.assess({**everything_no, "osteoporosis": True, "age": 68}, kb)
    assert a.raised_by
    html = _render.banner_html(a, kb, _render.REPORT)
    cause = kb.conditions[a.raised_by[0]]
    assert "Raised by a likely cause:" in html
    assert escape(cause.name) in html
    assert f"past the {round((cause.urgency_threshold or 0) * 100)}%" in html
    assert "threshold: expert estimate" in html
