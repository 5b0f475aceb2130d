"""The safety invariants of the engine, stated as properties (hypothesis)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import upperback
from upperback import AnswerError, assess, triage, urgency_rank

KB = upperback.load_knowledge_base()
FINDINGS = sorted(KB.findings)
EMERGENCY_ALONE = sorted(r.findings[0] for r in KB.rules.values()
                         if r.urgency == "emergency" and len(r.findings) == 1)

answers_st = st.dictionaries(st.sampled_from(FINDINGS), st.booleans())
settings.register_profile("upperback", max_examples=150, deadline=None)
settings.load_profile("upperback")


@given(answers_st, st.sampled_from(FINDINGS))
def test_yes_never_lowers_urgency(answers: dict[str, bool], finding: str) -> None:
    before = triage(answers, KB)
    after = triage({**answers, finding: True}, KB)
    assert urgency_rank(after) >= urgency_rank(before)


@given(answers_st, st.sampled_from(EMERGENCY_ALONE))
def test_any_emergency_red_flag_gives_emergency(answers: dict[str, bool], finding: str) -> None:
    assert assess({**answers, finding: True}, KB).urgency == "emergency"


@given(answers_st)
def test_self_care_means_no_rule_can_fire(answers: dict[str, bool]) -> None:
    a = assess(answers, KB)
    if a.urgency == "self_care":
        assert all(any(answers.get(f) is False for f in r.findings) for r in KB.rules.values())
        assert a.unanswered_red_flags == ()
        assert a.emergency_screen_complete
    if a.urgency == "incomplete":
        assert a.unanswered_red_flags
        assert not a.fired


def test_every_safety_case_holds() -> None:
    for case in KB.safety_cases.values():
        got = assess(case.answers, KB).urgency
        assert urgency_rank(got) >= urgency_rank(case.min_urgency), case.case_id


@given(answers_st)
def test_emergency_screen_flag_matches_open_emergency_rules(answers: dict[str, bool]) -> None:
    a = assess(answers, KB)
    open_emergency = [r for r in KB.rules.values() if r.urgency == "emergency"
                      and not any(answers.get(f) is False for f in r.findings)
                      and not all(answers.get(f) is True for f in r.findings)]
    assert a.emergency_screen_complete == (not open_emergency)


@given(st.dictionaries(st.text(min_size=1).filter(lambda s: s not in KB.findings),
                       st.booleans(), min_size=1), answers_st)
def test_no_unknown_id_is_accepted(unknown: dict[str, bool], answers: dict[str, bool]) -> None:
    with pytest.raises(AnswerError, match="unknown finding id"):
        assess({**answers, **unknown}, KB)


@given(answers_st)
def test_answers_are_never_mutated(answers: dict[str, bool]) -> None:
    original = copy.deepcopy(answers)
    assess(answers, KB)
    assert answers == original


@given(answers_st)
def test_every_fired_rule_and_candidate_names_an_existing_source(answers: dict[str, bool]) -> None:
    a = assess(answers, KB)
    sources = [r.source_id for r in a.fired] + [c.source_id for c in a.candidates]
    sources += [e.source_id for c in a.candidates for e in (*c.supporting, *c.against)]
    sources += [s for w in a.workup for s in w.source_ids] + [t.source_id for t in a.treatments]
    assert all(s in KB.sources for s in sources)


@given(answers_st)
def test_same_answers_same_assessment(answers: dict[str, bool]) -> None:
    shuffled = dict(reversed(list(answers.items())))
    assert assess(answers, KB).to_dict() == assess(shuffled, KB).to_dict()


@given(answers_st)
def test_triage_agrees_with_assess_and_would_change_is_exact(answers: dict[str, bool]) -> None:
    a = assess(answers, KB)
    assert triage(answers, KB) == a.urgency
    for d in a.would_change:
        assert triage({**answers, d.finding_id: True}, KB) == d.new_urgency
        assert urgency_rank(d.new_urgency) > urgency_rank(a.urgency)


@given(answers_st)
def test_would_change_misses_no_question(answers: dict[str, bool]) -> None:
    a = assess(answers, KB)
    listed = {d.finding_id for d in a.would_change}
    for finding in FINDINGS:
        if finding in listed or answers.get(finding) is True:
            continue
        raised = triage({**answers, finding: True}, KB)
        assert urgency_rank(raised) <= urgency_rank(a.urgency), finding
