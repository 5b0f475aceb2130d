"""The safety invariants of the engine, stated as properties (hypothesis): for the shipped
knowledge base, and for rule tables generated the way an analyst might write them."""

from __future__ import annotations

import copy
import dataclasses
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import upperback
from upperback import AnswerError, assess, triage, urgency_rank
from upperback import _model as m
from upperback._rules import triage_batch, triage_one

KB = upperback.load_knowledge_base()
AGE_FINDINGS = sorted(f for f, x in KB.findings.items() if x.min_age is not None)
FINDINGS = sorted(f for f in KB.findings if f not in AGE_FINDINGS)
EMERGENCY_RANK = urgency_rank("emergency")
#: Findings that alone give an emergency department or an ambulance.
EMERGENCY_ALONE = sorted(r.findings[0] for r in KB.rules.values()
                         if urgency_rank(r.urgency) >= EMERGENCY_RANK and len(r.findings) == 1)

settings.register_profile("upperback", max_examples=150, deadline=None)
settings.load_profile("upperback")


@st.composite
def patients(draw: st.DrawFn, findings: list[str] = FINDINGS) -> dict[str, Any]:
    """Answers as clinicians give them: any findings, and the age either as a number, as
    (some of) the consistent "aged N or older" answers, or not at all."""
    answers: dict[str, Any] = draw(st.dictionaries(st.sampled_from(findings), st.booleans()))
    how = draw(st.sampled_from(["none", "age", "questions"]))
    age = draw(st.integers(0, 120))
    if how == "age":
        answers["age"] = age
    elif how == "questions":
        for f in draw(st.lists(st.sampled_from(AGE_FINDINGS), unique=True)):
            answers[f] = age >= (KB.findings[f].min_age or 0)
    if draw(st.booleans()):
        answers["sex"] = draw(st.sampled_from(m.SEXES))
        if answers["sex"] == "male":
            answers.pop("pregnancy", None)
    return answers


def _yes(answers: dict[str, Any], finding: str) -> dict[str, Any] | None:
    """The answers with `finding` also yes, or None when that would contradict the age."""
    trial = {**answers, finding: True}
    try:
        triage(trial, KB)
    except AnswerError:
        return None
    return trial


@given(patients(), st.sampled_from(FINDINGS + AGE_FINDINGS))
def test_yes_never_lowers_urgency(answers: dict[str, Any], finding: str) -> None:
    trial = _yes(answers, finding)
    if trial is not None:
        assert urgency_rank(triage(trial, KB)) >= urgency_rank(triage(answers, KB))


@given(patients(), st.sampled_from(EMERGENCY_ALONE))
def test_any_emergency_red_flag_gives_emergency_or_ambulance(answers: dict[str, Any],
                                                             finding: str) -> None:
    assert urgency_rank(assess({**answers, finding: True}, KB).urgency) >= EMERGENCY_RANK


@given(patients())
def test_self_care_means_no_rule_can_fire(answers: dict[str, Any]) -> None:
    a = assess(answers, KB)
    if a.urgency == "self_care":
        given_ = a.answers
        assert all(any(given_.get(f) is False for f in r.findings) for r in KB.rules.values())
        assert a.unanswered_red_flags == ()
        assert a.emergency_screen_complete
    if a.urgency == "incomplete":
        assert a.unanswered_red_flags
        assert not a.fired


def test_every_safety_case_holds() -> None:
    for case in KB.safety_cases.values():
        got = assess(KB.case_answers(case), KB).urgency
        assert urgency_rank(got) >= urgency_rank(case.min_urgency), case.case_id
        if case.max_urgency:
            assert urgency_rank(got) <= urgency_rank(case.max_urgency), case.case_id


@given(patients())
def test_emergency_screen_flag_matches_open_emergency_rules(answers: dict[str, Any]) -> None:
    a = assess(answers, KB)
    open_emergency = [r for r in KB.rules.values() if urgency_rank(r.urgency) >= EMERGENCY_RANK
                      and not any(a.answers.get(f) is False for f in r.findings)
                      and not all(a.answers.get(f) is True for f in r.findings)]
    assert a.emergency_screen_complete == (not open_emergency)


@given(st.dictionaries(st.text(min_size=1).filter(
    lambda s: s not in KB.findings and s not in ("age", "sex")), st.booleans(), min_size=1),
    patients())
def test_no_unknown_id_is_accepted(unknown: dict[str, bool], answers: dict[str, Any]) -> None:
    with pytest.raises(AnswerError, match="unknown finding id"):
        assess({**answers, **unknown}, KB)


@given(patients())
def test_answers_are_never_mutated(answers: dict[str, Any]) -> None:
    original = copy.deepcopy(answers)
    assess(answers, KB)
    assert answers == original


@given(patients())
def test_differential_is_never_empty_and_is_a_probability(answers: dict[str, Any]) -> None:
    a = assess(answers, KB)
    assert a.candidates
    probs = [c.probability for c in a.candidates] + [
        s.probability for c in a.candidates for s in c.subtypes]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert all(c.parent is None for c in a.candidates)  # subtypes sit under their parent


@given(patients())
def test_every_fired_rule_and_candidate_names_an_existing_source(answers: dict[str, Any]) -> None:
    a = assess(answers, KB)
    sources = [r.source_id for r in a.fired] + [c.source_id for c in a.candidates]
    sources += [c.prior_source_id for c in a.candidates]
    sources += [e.source_id for c in a.candidates for e in (*c.supporting, *c.against)]
    sources += [s for w in a.workup for s in w.source_ids] + [t.source_id for t in a.treatments]
    assert all(s in KB.sources for s in sources)


@given(patients())
def test_same_answers_same_assessment(answers: dict[str, Any]) -> None:
    shuffled = dict(reversed(list(answers.items())))
    assert assess(answers, KB).to_dict() == assess(shuffled, KB).to_dict()


@given(patients())
def test_triage_agrees_with_assess_and_would_change_is_exact(answers: dict[str, Any]) -> None:
    a = assess(answers, KB)
    assert triage(answers, KB) == a.urgency
    for d in a.would_change:
        assert triage({**answers, d.finding_id: True}, KB) == d.new_urgency
        assert urgency_rank(d.new_urgency) > urgency_rank(a.urgency)


@given(patients())
def test_would_change_misses_no_question(answers: dict[str, Any]) -> None:
    a = assess(answers, KB)
    listed = {d.finding_id for d in a.would_change}
    # the incomplete banner already lists its open questions; a given age fixes age answers
    shown = set(a.unanswered_red_flags) if a.urgency == "incomplete" else set()
    fixed = set(AGE_FINDINGS) if a.age is not None else set()
    for finding in FINDINGS + AGE_FINDINGS:
        if finding in listed | shown | fixed or a.answers.get(finding) is True:
            continue
        trial = _yes(answers, finding)
        if trial is not None:
            assert urgency_rank(triage(trial, KB)) <= urgency_rank(a.urgency), finding


# ------------------------------------------------------------------ generated rule tables

RULE_FINDINGS = FINDINGS[:24]


@st.composite
def rule_tables(draw: st.DrawFn) -> m.KnowledgeBase:
    """A knowledge base whose triage rules (and cause floors) an analyst might have written."""
    n = draw(st.integers(1, 12))
    rules = {}
    for i in range(n):
        fs = tuple(draw(st.lists(st.sampled_from(RULE_FINDINGS), min_size=1, max_size=3,
                                 unique=True)))
        rules[f"r{i}"] = m.TriageRule(f"r{i}", draw(st.sampled_from(m.RULE_URGENCIES)),
                                      f"rule {i}", "generated", "verywell_ubp", fs)
    conditions = dict(KB.conditions)
    for cid, c in KB.conditions.items():
        if c.min_urgency is not None:
            conditions[cid] = dataclasses.replace(
                c, min_urgency=draw(st.sampled_from(m.RULE_URGENCIES)),
                urgency_threshold=draw(st.floats(0.001, 0.9)))
    return dataclasses.replace(KB, rules=MappingProxyType(rules),
                               conditions=MappingProxyType(conditions))


@given(rule_tables(), patients(RULE_FINDINGS), st.sampled_from(RULE_FINDINGS))
def test_generated_tables_never_lower_urgency_on_a_yes(kb: m.KnowledgeBase,
                                                        answers: dict[str, Any],
                                                        finding: str) -> None:
    before = triage(answers, kb)
    after = triage({**answers, finding: True}, kb)
    assert urgency_rank(after) >= urgency_rank(before)


@given(rule_tables(), st.lists(patients(RULE_FINDINGS), min_size=1, max_size=8))
def test_generated_tables_batch_equals_single(kb: m.KnowledgeBase,
                                              people: list[dict[str, Any]]) -> None:
    from upperback._rules import compile_plan

    cols = compile_plan(kb).finding_ids
    yes = np.array([[p.get(f) is True for f in cols] for p in people], dtype=bool)
    no = np.array([[p.get(f) is False for f in cols] for p in people], dtype=bool)
    age = np.array([p.get("age", -1) for p in people])
    ranks = triage_batch(kb, yes, no, age)
    for person, rank in zip(people, ranks, strict=True):
        findings = {k: v for k, v in person.items() if k not in ("age", "sex")}
        assert urgency_rank(triage_one(kb, findings, person.get("age"))) == rank
