"""The teaching panels, driven as a learner would: set `.value`, `.click()`, read the HTML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
from markupsafe import escape

import upperback
from conftest import find, walk
from upperback import KnowledgeBase, _render, lookup, quiz
from upperback import teaching_widgets as tw
from upperback.widgets import kit


def text(root: w.Widget) -> str:
    return " ".join(str(x.value) for x in walk(root) if isinstance(x, (w.HTML, w.Label)))


def html(root: w.Widget) -> str:
    """A panel's HTML without the stylesheet every panel carries."""
    return " ".join(str(x.value) for x in walk(root)
                    if isinstance(x, w.HTML) and "ub-style" not in x._dom_classes)


BUILDERS = [tw.banner, tw.red_flag_reference, tw.emergency_drill, tw.causes_overview,
            tw.finding_cause_explorer, tw.case_quiz, tw.test_explorer, tw.tests_overview,
            tw.treatment_ladder, tw.risk_factor_table, tw.risk_profile,
            tw.prevention_and_prognosis, tw.answer_key, tw.causes_check, tw.workup_check,
            tw.risk_check, tw.must_not_miss_check, tw.must_not_miss_overview,
            tw.likelihood_ratios, tw.course_index]


@pytest.mark.parametrize("builder", BUILDERS, ids=[b.__name__ for b in BUILDERS])
def test_every_panel_builds_on_the_kit(builder: Any, kb: KnowledgeBase) -> None:
    panel = builder(kb)
    assert {"ub-app", "ub-teaching"} <= set(panel._dom_classes)
    assert find(panel, "ub-style").value == kit.STYLE  # the one stylesheet, no other
    assert "<style" not in html(panel)
    assert " style=" not in html(panel)  # no inline styles: classes of upperback.css
    assert find(panel, "ub-error-box").value == ""


def test_banner_ends_with_the_kit_footer(kb: KnowledgeBase) -> None:
    panel = tw.banner(kb)
    assert "ub-teaching-banner" in panel._dom_classes
    banner = find(panel, "ub-teaching-banner-box").value
    assert "Teaching material." in banner
    assert banner.endswith(_render.footer_html(kb) + "</div>")  # the kit's footer, in the frame
    assert upperback.DISCLAIMER in banner
    assert kb.version in banner


def test_teaching_words_come_from_the_kit() -> None:
    """One wording map: the teaching wording is the kit's second, named map."""
    for u in upperback.URGENCIES:
        assert quiz.urgency_label(u) == kit.word("teaching_urgency", u)
        assert quiz.urgency_label(u) == _render.TEACHING_URGENCY_WORDS[u]
    for g in quiz.GROUPS:
        assert quiz.group_label(g) == _render.TEACHING_GROUP_WORDS[g]
    assert quiz.urgency_label("new_level") == "New level"  # a code never reaches the screen
    assert not hasattr(quiz, "URGENCY_LABELS")
    assert not hasattr(quiz, "GROUP_LABELS")


def test_values_are_escaped() -> None:
    """Markup in the knowledge base is shown as text, never run (autoescaped templates)."""
    evil = "<script>alert(1)</script> & 'x'"
    out = _render.macro(tw.TEMPLATE, "check_question", quiz.SelfCheck(
        "k", evil, (("a", "a"),), "a", "why", "src"))
    assert "<script>" not in out
    assert str(escape(evil)) in out


@pytest.mark.parametrize("builder", [tw.banner, tw.case_quiz, tw.emergency_drill])
def test_broken_knowledge_base_gives_a_message_not_a_traceback(
        builder: Any, data_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = data_copy / "findings.csv"
    path.write_text(path.read_text(encoding="utf-8") + "fever,dup,history,x,y,99,verywell_ubp\n",
                    encoding="utf-8")
    monkeypatch.setenv("UPPERBACK_DATA", str(data_copy))
    panel = builder()
    assert "ub-teaching-failed" in panel._dom_classes
    message = find(panel, "ub-error-box").value
    assert "role='alert'" in message
    assert "findings.csv" in message
    assert "Traceback" not in message


# --- the emergency-room drill ------------------------------------------------------------------

def current_item(drill: w.Widget, kb: KnowledgeBase) -> quiz.DrillItem:
    """The patient on screen, read from the prompt (the round is shuffled)."""
    match = re.search(r"data-item='([^']+)'", find(drill, "ub-drill-prompt").value)
    assert match, "no patient on screen"
    return {i.item_id: i for i in quiz.drill_items(kb)}[match.group(1)]


@pytest.mark.parametrize("send", [True, False])
def test_drill_feedback_and_tally(kb: KnowledgeBase, send: bool) -> None:
    drill = tw.emergency_drill(kb)
    yes, no = find(drill, "ub-drill-yes"), find(drill, "ub-drill-no")
    nxt, feedback = find(drill, "ub-drill-next"), find(drill, "ub-drill-feedback")
    right = 0
    for _ in range(4):
        item = current_item(drill, kb)
        prompt = find(drill, "ub-drill-prompt").value
        assert item.labels[0] in prompt
        assert "answered <b>no</b>" in prompt
        assert all(label in prompt for label in item.answered_no)
        assert nxt.disabled
        (yes if send else no).click()
        right += send == item.send_to_er
        assert yes.disabled
        assert no.disabled
        assert not nxt.disabled
        assert item.rationale in feedback.value
        assert quiz.cite(kb, item.source_id).split(" \u2014 ")[0] in feedback.value
        assert ("come back later" in feedback.value) == (send != item.send_to_er)
        nxt.click()
        assert feedback.value == ""
    assert find(drill, "ub-drill-score").value == quiz.score_line(right, 4)


def test_drill_round_ends_with_a_summary_and_a_new_round_resets(kb: KnowledgeBase) -> None:
    drill = tw.emergency_drill(kb)
    total = min(quiz.ROUND_SIZE, len(quiz.drill_items(kb)))
    first_wrong = current_item(drill, kb)
    wrong_once = False
    for _ in range(3 * total):  # answer rightly, except the first patient once
        item = current_item(drill, kb)
        send = item.send_to_er if wrong_once or item != first_wrong else not item.send_to_er
        wrong_once = True
        find(drill, "ub-drill-yes" if send else "ub-drill-no").click()
        find(drill, "ub-drill-next").click()
        if "Round complete" in find(drill, "ub-drill-summary").value:
            break
    summary = find(drill, "ub-drill-summary").value
    assert f"{total - 1} of {total} patients answered in line with the rules first time" \
        in summary
    assert "1 came back for a second look; 1 of them" in summary
    assert find(drill, "ub-drill-yes").disabled
    find(drill, "ub-drill-restart").click()
    assert find(drill, "ub-drill-score").value == quiz.score_line(0, 0)
    assert find(drill, "ub-drill-summary").value == ""
    assert "Patient 1 of" in find(drill, "ub-drill-progress").value
    assert not find(drill, "ub-drill-yes").disabled


def test_drill_missed_patient_comes_back(kb: KnowledgeBase) -> None:
    drill = tw.emergency_drill(kb)
    missed = current_item(drill, kb)
    find(drill, "ub-drill-yes" if not missed.send_to_er else "ub-drill-no").click()
    find(drill, "ub-drill-next").click()
    seen = []
    for _ in range(quiz.RETRY_GAP + 1):
        item = current_item(drill, kb)
        seen.append(item.item_id)
        if item == missed:
            break
        find(drill, "ub-drill-yes" if item.send_to_er else "ub-drill-no").click()
        find(drill, "ub-drill-next").click()
    assert seen[-1] == missed.item_id
    assert "second look" in find(drill, "ub-drill-progress").value


def test_callback_error_is_shown(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    drill = tw.emergency_drill(kb)

    def boom(*_: Any) -> None:
        raise upperback.AnswerError("the drill could not score this answer")

    monkeypatch.setattr(quiz, "check_drill", boom)
    find(drill, "ub-drill-yes").click()
    error = find(drill, "ub-error-box")
    assert "could not score" in error.value
    find(drill, "ub-drill-next").click()  # not disabled: the answer never went through
    assert error.value == ""  # the next action that works clears the message


def test_unexpected_callback_error_shows_only_its_type(
        kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    drill = tw.emergency_drill(kb)

    def boom(*_: Any) -> None:
        raise ValueError("secret internals")

    monkeypatch.setattr(quiz, "check_drill", boom)
    find(drill, "ub-drill-no").click()
    error = find(drill, "ub-error-box").value
    assert "Unexpected error (ValueError)" in error
    assert tw.HINT in error
    assert "secret internals" not in error
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "ValueError" in caplog.text
    assert "secret internals" not in caplog.text


# --- the case quiz -----------------------------------------------------------------------------

def _choose(panel: w.Widget, case: quiz.TeachingCase, urgency: str | None,
            causes: list[str]) -> None:
    find(panel, "ub-case-select").value = case.case_id
    find(panel, "ub-case-urgency").value = urgency
    for cid in causes:
        find(panel, f"ub-cause-{cid}").value = True
    find(panel, "ub-case-check").click()


@pytest.mark.parametrize("case", quiz.load_cases(upperback.load_knowledge_base()),
                         ids=lambda c: c.case_id)
def test_case_quiz_full_marks_and_explanation(case: quiz.TeachingCase,
                                              kb: KnowledgeBase) -> None:
    panel = tw.case_quiz(kb)
    _choose(panel, case, case.expected_urgency, list(case.expected_causes))
    r = quiz.score_case(case, case.expected_urgency, case.expected_causes, kb)
    fb = find(panel, "ub-case-feedback").value
    assert f"Score: {r.max_points} of {r.max_points}" in fb
    assert "The engine's explanation" in find(panel, "ub-case-explanation").value
    for reason in r.reasons[:1]:
        assert reason.source.split(" \u2014 ")[0] in find(panel, "ub-case-explanation").value


def test_case_quiz_partial_score_and_reset_on_new_case(kb: KnowledgeBase) -> None:
    cases = quiz.load_cases(kb)
    case = next(c for c in cases if c.expected_urgency == "emergency")
    panel = tw.case_quiz(kb)
    _choose(panel, case, "self_care", [])
    r = quiz.score_case(case, "self_care", [], kb)
    assert r.points == 0
    fb = find(panel, "ub-case-feedback").value
    assert f"Score: 0 of {r.max_points}" in fb
    assert "Worth considering" in fb
    other = next(c for c in cases if c.case_id != case.case_id)
    find(panel, "ub-case-select").value = other.case_id
    assert find(panel, "ub-case-feedback").value == ""
    assert find(panel, "ub-case-urgency").value is None
    assert other.vignette.split(" ")[0] in find(panel, "ub-case-vignette").value


def test_case_quiz_asks_for_an_urgency_first(kb: KnowledgeBase) -> None:
    panel = tw.case_quiz(kb)
    _choose(panel, quiz.load_cases(kb)[0], None, [])
    assert "Choose an urgency first" in find(panel, "ub-case-feedback").value
    assert find(panel, "ub-case-explanation").value == ""


# --- explorers and charts ------------------------------------------------------------------------

PNG = b"\x89PNG"


def is_png(data: Any) -> bool:
    return bytes(data).startswith(PNG)


def test_heatmap_follows_filters(kb: KnowledgeBase) -> None:
    panel = tw.finding_cause_explorer(kb)
    chart, group = find(panel, "ub-heatmap"), find(panel, "ub-heat-group")
    assert is_png(chart.png)
    assert f"alt='{tw.HEATMAP_TITLE}'" in chart.value  # the chart's text alternative
    first = bytes(chart.png)
    group.value = "cardiac"
    assert bytes(chart.png) != first
    condition = find(panel, "ub-heat-condition")
    assert list(condition.options) == [("Heart attack (myocardial infarction)", "heart_attack")]
    details = find(panel, "ub-heat-details").value
    for link in lookup.findings_of(kb, "heart_attack"):
        assert link.note in details


def test_heatmap_empty_filter_says_so(kb: KnowledgeBase) -> None:
    panel = tw.finding_cause_explorer(kb)
    find(panel, "ub-heat-group").value = "pregnancy"
    find(panel, "ub-heat-kind").value = "emergency"
    assert not [x for x in walk(panel) if "ub-heatmap" in x._dom_classes]
    assert "No finding of this kind" in find(panel, "ub-heat-caption").value


def test_test_explorer_lists_the_tests_for_a_cause(kb: KnowledgeBase) -> None:
    panel = tw.test_explorer(kb)
    find(panel, "ub-tests-pick").value = "kidney_stones"
    html = find(panel, "ub-tests-answer").value
    for x in lookup.tests_of(kb, "kidney_stones"):
        assert x.reason in html


def test_ladder_table_in_ladder_order(kb: KnowledgeBase) -> None:
    html = find(tw.treatment_ladder(kb), "ub-ladder-table").value
    positions = [html.index(t.name) for t in lookup.treatment_ladder(kb)]
    assert positions == sorted(positions)
    assert is_png(find(tw.treatment_ladder(kb), "ub-ladder-chart").png)


def test_ladder_table_says_when_not_to_offer(kb: KnowledgeBase) -> None:
    html = find(tw.treatment_ladder(kb), "ub-ladder-table").value
    assert "Do not offer when" in html
    for x in kb.contraindications:
        assert escape(x.reason) in html
        assert escape(kb.findings[x.finding_id].label.rstrip("?")) in html
        assert escape(quiz.cite(kb, x.source_id)) in html


def test_risk_profile_updates_on_tick(kb: KnowledgeBase) -> None:
    panel = tw.risk_profile(kb)
    summary = find(panel, "ub-risk-summary")
    assert not [x for x in walk(panel) if "ub-risk-chart" in x._dom_classes]
    find(panel, "ub-risk-smoking").value = True
    find(panel, "ub-risk-age").value = True
    assert "1 of 2 ticked factors can be changed" in summary.value
    assert kb.risk_factors["smoking"].prevention_advice in summary.value
    assert is_png(find(panel, "ub-risk-chart").png)


def test_answer_key_shows_every_case_and_version(kb: KnowledgeBase) -> None:
    key = find(tw.answer_key(kb), "ub-answer-key-text").value
    for case in quiz.load_cases(kb):
        assert case.case_id in key
    assert "no longer agrees" not in key


def test_prognosis_fills_the_emergency_number(kb: KnowledgeBase,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPPERBACK_EMERGENCY_NUMBER", "112")
    page = html(tw.prevention_and_prognosis(kb))
    assert "{emergency_number}" not in page
    assert "Call 112" in page
