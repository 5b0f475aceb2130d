"""Quiz scoring, the drill, and the data views behind the teaching charts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import upperback
from upperback import AnswerError, KnowledgeBase, KnowledgeBaseError, lookup, quiz


def _case(kb: KnowledgeBase, case_id: str) -> quiz.TeachingCase:
    return next(c for c in quiz.load_cases(kb) if c.case_id == case_id)


# --- cases -------------------------------------------------------------------------------------

def test_cases_load_in_display_order_with_answers(kb: KnowledgeBase) -> None:
    cases = quiz.load_cases(kb)
    orders = [c.display_order for c in cases]
    assert orders == sorted(orders)
    rows = {str(r["case_id"]): r for r in kb.extra_tables["teaching_cases"]}
    assert {c.case_id for c in cases} == set(rows)
    for c in cases:
        row = rows[c.case_id]
        listed = quiz.parse_answers(str(row["answers"]))
        assert dict(c.answers) == quiz.expand_answers(kb, listed, str(row["other_red_flags"]))
        assert all(c.answers[f] is v for f, v in listed.items())


def test_missing_teaching_table_raises_a_clear_error(data_copy: Path) -> None:
    path = data_copy / "datapackage.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["resources"] = [r for r in raw["resources"] if not r["name"].startswith("teaching_")]
    path.write_text(json.dumps(raw), encoding="utf-8")
    (data_copy / "teaching_cases.csv").unlink()
    kb = upperback.load_knowledge_base(data_copy)
    with pytest.raises(KnowledgeBaseError, match="teaching_cases"):
        quiz.load_cases(kb)


# --- case scoring: table-driven at the boundaries ----------------------------------------------

def _engine(kb: KnowledgeBase, case: quiz.TeachingCase) -> upperback.Assessment:
    return upperback.assess(case.answers, kb)


@pytest.mark.parametrize("case_id", ["warehouse_lift", "cough_osteoporosis", "screen_not_done",
                                     "rib_band_pain"])
def test_full_marks_for_the_engines_answer(kb: KnowledgeBase, case_id: str) -> None:
    case = _case(kb, case_id)
    r = quiz.score_case(case, _engine(kb, case).urgency, case.expected_causes, kb)
    assert r.urgency_correct
    assert r.points == r.max_points == (quiz.URGENCY_POINTS
                                        + len(quiz.answer_groups(kb, case.expected_causes)))
    assert r.missed == ()
    assert r.extra == ()


@pytest.mark.parametrize(("case_id", "chosen", "word"), [
    ("cough_osteoporosis", "see_provider", "more urgent than your choice"),  # under-triage
    ("cough_osteoporosis", "self_care", "more urgent than your choice"),
    ("warehouse_lift", "emergency", "more cautious"),  # over-triage
    ("warehouse_lift", "incomplete", "more cautious"),
])
def test_wrong_urgency_scores_zero_for_it_and_explains(kb: KnowledgeBase, case_id: str,
                                                      chosen: str, word: str) -> None:
    case = _case(kb, case_id)
    r = quiz.score_case(case, chosen, case.expected_causes, kb)
    assert not r.urgency_correct
    assert r.points == len(quiz.answer_groups(kb, case.expected_causes))
    assert word in r.urgency_message
    assert r.engine_urgency == _engine(kb, case).urgency
    assert r.reasons  # the engine's explanation comes with it


@pytest.mark.parametrize(("picked", "named", "points_for_causes"), [
    ([], 0, 0),
    # the case expects the osteoporotic fracture: its parent stands in, one answer, one point
    (["osteoporotic_compression_fracture"], 1, 1),
    (["osteoporotic_compression_fracture", "compression_fracture"], 1, 1),
    (["compression_fracture", "pregnancy"], 1, 0),  # 1 named, 1 extra
    (["back_strain", "pregnancy", "gallstones"], 0, 0),  # extras never go below zero
])
def test_cause_points(kb: KnowledgeBase, picked: list[str], named: int,
                      points_for_causes: int) -> None:
    case = _case(kb, "cough_osteoporosis")
    r = quiz.score_case(case, _engine(kb, case).urgency, picked, kb)
    assert len(r.named) == named
    assert r.points == quiz.URGENCY_POINTS + points_for_causes


@pytest.mark.parametrize(("picked", "named"), [
    (["compression_fracture"], ("osteoporotic_compression_fracture",)),  # parent stands in
    (["osteoporotic_compression_fracture"], ("osteoporotic_compression_fracture",)),
    (["LEADING_BUT_NOT_EXPECTED"], ()),  # a leading cause, not the expected one: no point,
])                                       # no penalty
def test_related_cause_stands_in(kb: KnowledgeBase, picked: list[str],
                                 named: tuple[str, ...]) -> None:
    case = _case(kb, "onset_unknown")
    a = _engine(kb, case)
    if picked == ["LEADING_BUT_NOT_EXPECTED"]:
        picked = [next(c for c in quiz.leading_causes(a) if not any(
            quiz.same_answer(kb, c, e) for e in case.expected_causes))]
    r = quiz.score_case(case, a.urgency, picked, kb)
    assert r.named == named
    assert r.extra == ()


@pytest.mark.parametrize(("case_id", "picked"), [
    ("teen_curve", ["scoliosis"]),  # subtype alone, parent "spinal deformity" not ticked
    ("teen_curve", ["spinal_deformity"]),
    ("breast_cancer_history", ["spinal_metastasis"]),
    ("cough_osteoporosis", ["osteoporotic_compression_fracture"]),
    ("stiff_gardener", ["spinal_osteoarthritis"]),  # coded as spondylosis: one answer
    ("stiff_gardener", ["thoracic_spondylosis"]),
])
def test_the_precise_cause_alone_earns_full_marks(kb: KnowledgeBase, case_id: str,
                                                  picked: list[str]) -> None:
    case = _case(kb, case_id)
    r = quiz.score_case(case, _engine(kb, case).urgency, picked, kb)
    assert r.points == r.max_points == quiz.URGENCY_POINTS + 1
    assert r.missed == ()


@pytest.mark.parametrize(("a", "b", "same"), [
    ("scoliosis", "spinal_deformity", True), ("spinal_deformity", "scoliosis", True),
    ("scoliosis", "kyphosis", False),  # siblings are different answers
    ("spinal_osteoarthritis", "thoracic_spondylosis", True),  # same full ICD-10-CM code
    ("back_strain", "sprain", False),
    ("gallstones", "kidney_stones", False),  # same parent, different causes
])
def test_same_answer(kb: KnowledgeBase, a: str, b: str, same: bool) -> None:
    assert quiz.same_answer(kb, a, b) is same


def test_missed_causes_are_explained_not_scolded(kb: KnowledgeBase) -> None:
    case = _case(kb, "cough_osteoporosis")
    r = quiz.score_case(case, "emergency", [], kb)
    assert set(r.missed) == set(case.expected_causes)
    text = " ".join([r.urgency_message, *r.cause_messages]).lower()
    assert "worth considering" in text
    for harsh in ("wrong", "incorrect", "fail", "bad"):
        assert harsh not in text


@pytest.mark.parametrize(("urgency", "causes"), [("soon", []), ("", []),
                                                  ("emergency", ["not_a_cause"])])
def test_bad_choices_raise_answer_error(kb: KnowledgeBase, urgency: str,
                                        causes: list[str]) -> None:
    with pytest.raises(AnswerError):
        quiz.score_case(_case(kb, "warehouse_lift"), urgency, causes, kb)


def test_explanation_cites_fired_rule_and_source(kb: KnowledgeBase) -> None:
    case = _case(kb, "cough_osteoporosis")
    a = _engine(kb, case)
    reasons = quiz.explain(a, kb)
    fired = a.fired[0]
    assert fired.label in reasons[0].text
    assert reasons[0].source == quiz.cite(kb, fired.source_id)


def test_explanation_shows_each_answer_as_given(kb: KnowledgeBase) -> None:
    """For and against are by effect: a yes that lowers a cause and a no that raises one are
    shown with the answer the patient gave and the ratio that answer applied."""
    fids = [f.finding_id for f in kb.findings.values() if f.min_age is None]  # no age given
    answers = {**dict.fromkeys(fids, False), "burning_band_pain_or_rash": True,
               "acute_onset": True}
    a = upperback.assess(answers, kb)
    text = " ".join(r.text for r in quiz.explain(a, kb))
    seen = 0
    for c in a.candidates[:upperback._engine.LEADING_CAUSES]:
        for e in (*c.supporting, *c.against):
            ratio = "yes, LR+" if e.answer else "no, LR\u2212"
            said = f"{e.label.rstrip('?')} ({ratio} "
            assert said in text, said
            seen += 1
    lowering_yes = [e for c in a.candidates for e in c.against if e.answer]
    raising_no = [e for c in a.candidates for e in c.supporting if not e.answer]
    # the case covers both directions
    assert lowering_yes
    assert raising_no
    assert seen


def test_incomplete_explanation_lists_open_questions(kb: KnowledgeBase) -> None:
    a = _engine(kb, _case(kb, "screen_not_done"))
    assert a.urgency == "incomplete"
    text = quiz.explain(a, kb)[0].text
    assert "still open" in text
    for fid in a.unanswered_red_flags:
        assert kb.findings[fid].label in text


# --- drill -------------------------------------------------------------------------------------

def test_one_drill_item_per_rule_plus_self_care_patients(kb: KnowledgeBase) -> None:
    items = quiz.drill_items(kb)
    rules = [i for i in items if i.rule_id]
    assert sorted(i.rule_id for i in rules) == sorted(r for r in kb.rules if kb.rules[r].findings)
    self_care = [i for i in items if not i.rule_id]
    assert 1 <= len(self_care) <= quiz.SELF_CARE_ITEMS
    assert all(i.urgency == "self_care" and not i.send_to_er for i in self_care)


def test_drill_items_answer_the_whole_red_flag_screen(kb: KnowledgeBase) -> None:
    """An unasked question is not a "no": each item states every other red flag as answered no,
    so the engine's emergency screen is complete and its answer is the drill's answer."""
    screen = {f for r in kb.rules.values() for f in r.findings}
    for item in quiz.drill_items(kb):
        assert screen <= set(item.answers)
        assert {f for f, v in item.answers.items() if v} == set(item.findings)
        assert len(item.answered_no) == len(screen - set(item.findings))
        a = upperback.assess(item.answers, kb)
        assert a.emergency_screen_complete
        assert a.unanswered_red_flags == ()
        assert a.urgency == item.urgency != "incomplete"
        if item.rule_id:
            assert item.rule_id in {r.rule_id for r in a.fired}
        else:
            assert a.fired == ()


@pytest.mark.parametrize("send", [True, False])
def test_drill_feedback_matches_the_engine(kb: KnowledgeBase, send: bool) -> None:
    for item in quiz.drill_items(kb):
        engine = upperback.assess(item.answers, kb).urgency
        fb = quiz.check_drill(item, send, kb)
        assert fb.correct == (send == quiz.sends_to_hospital(engine))
        assert item.rationale in fb.reasons[0].text
        assert fb.reasons[0].source == quiz.cite(kb, item.source_id)


def test_drill_round_is_shuffled_per_seed_and_reset_reshuffles(kb: KnowledgeBase) -> None:
    items = quiz.drill_items(kb)
    a = quiz.DrillRound(items, random.Random(1))
    b = quiz.DrillRound(items, random.Random(2))
    assert a.queue != b.queue
    size = min(quiz.ROUND_SIZE, len(items))
    assert len(a.queue) == len({i.item_id for i in a.queue}) == size
    ids = {i.item_id for i in a.queue}
    assert ids <= {i.item_id for i in items}
    assert {i.item_id for i in items if not i.rule_id} <= ids  # self-care patients mixed in
    assert any(i.send_to_er for i in a.queue)
    first = list(a.queue)
    a.answer(True, kb)
    a.next()
    a.reset()
    assert (a.answered, a.correct, a.awaiting_next) == (0, 0, False)
    assert a.queue != first  # a new draw and order
    assert a.position == (1, size)
    whole = quiz.DrillRound(items, random.Random(1), size=len(items))
    assert {i.item_id for i in whole.queue} == {i.item_id for i in items}


def test_drill_round_brings_a_missed_item_back_and_summarises(kb: KnowledgeBase) -> None:
    items = quiz.drill_items(kb)
    r = quiz.DrillRound(items, random.Random(3))
    n = len(r.queue)
    missed = r.current
    assert missed is not None
    fb = r.answer(not missed.send_to_er, kb)
    assert not fb.correct
    with pytest.raises(AnswerError):
        r.answer(True, kb)  # once per showing
    r.next()
    assert r.queue.index(missed) == quiz.RETRY_GAP
    while not r.done:
        item = r.current
        assert item is not None
        if item == missed:
            assert r.is_retry
        r.answer(item.send_to_er, kb)
        r.next()
    s = r.summary()
    assert (s.patients, s.right_first_time) == (n, n - 1)
    assert s.missed == (missed,)
    assert s.still_missed == ()
    assert "1 came back for a second look; 1 of them" in s.text()
    assert r.answered == n + 1


def test_drill_warns_how_a_sign_escalates(kb: KnowledgeBase) -> None:
    item = next(i for i in quiz.drill_items(kb) if i.escalations and not i.send_to_er)
    fb = quiz.check_drill(item, False, kb)
    for rid, partners in item.escalations:
        assert quiz.sends_to_hospital(kb.rules[rid].urgency)
        assert set(item.findings) < set(kb.rules[rid].findings)
        assert partners
    assert any("becomes an emergency" in r.text for r in fb.reasons)
    assert "every other red-flag question answered no" in fb.verdict


def test_drill_feedback_is_kind(kb: KnowledgeBase) -> None:
    for item in quiz.drill_items(kb):
        for send in (True, False):
            fb = quiz.check_drill(item, send, kb)
            text = " ".join([fb.verdict, *(r.text for r in fb.reasons)]).lower()
            for harsh in ("wrong", "incorrect", "fail", "bad"):
                assert harsh not in text


@pytest.mark.parametrize(("correct", "answered", "expected"), [
    (0, 0, "No answers yet."), (0, 1, "0 of 1"), (3, 4, "3 of 4")])
def test_score_line(correct: int, answered: int, expected: str) -> None:
    assert expected in quiz.score_line(correct, answered)


# --- data views --------------------------------------------------------------------------------

def test_link_matrix_matches_the_links(kb: KnowledgeBase) -> None:
    mat = quiz.link_matrix(kb)
    assert set(mat.condition_ids) == set(kb.conditions)
    for link in kb.condition_findings:
        r, c = mat.finding_ids.index(link.finding_id), mat.condition_ids.index(link.condition_id)
        assert mat.values[r][c] == link.lr_positive
    assert sum(v > 0 for row in mat.values for v in row) == len(kb.condition_findings)


@pytest.mark.parametrize(("lr", "band"), [
    (0.0, 0), (0.5, 0), (1.0, 0), (1.5, 1), (2.0, 2), (4.9, 2), (5.0, 3), (10.0, 4), (100, 4)])
def test_lr_band(lr: float, band: int) -> None:
    assert quiz.lr_band(lr) == band


@pytest.mark.parametrize(("group", "kind", "top"), [
    ("cardiac", None, False), ("structural", "history", False), (None, "emergency", True),
    ("pregnancy", "emergency", False)])
def test_link_matrix_filters(kb: KnowledgeBase, group: str | None, kind: str | None,
                             top: bool) -> None:
    mat = quiz.link_matrix(kb, group, kind, top)
    for cid in mat.condition_ids:
        assert group is None or kb.conditions[cid].group == group
        assert not (top and kb.conditions[cid].parent)
    for fid, row in zip(mat.finding_ids, mat.values, strict=True):
        assert kind is None or kb.findings[fid].kind == kind
        assert any(row)  # no empty rows


def test_causes_by_group_lists_every_condition_once(kb: KnowledgeBase) -> None:
    listed = [c.condition_id for _, cs in quiz.causes_by_group(kb) for c in cs]
    assert sorted(listed) == sorted(kb.conditions)


def test_treatment_ladder_goes_from_least_to_most_invasive(kb: KnowledgeBase) -> None:
    ladder = lookup.treatment_ladder(kb)
    assert len(ladder) == len(kb.treatments)
    levels = [t.invasiveness for t in ladder]
    assert levels == sorted(levels)


def test_treatment_ladder_starts_with_care_without_medicine(kb: KnowledgeBase) -> None:
    ladder = lookup.treatment_ladder(kb)
    assert ladder[0].category == "non_drug"
    assert ladder[0].access == "self_care"
    names = [t.treatment_id for t in ladder]
    for drug in ("oral_nsaid", "muscle_relaxant", "prescription_pain_reliever"):
        for home in ("cold_pack", "heat_pack", "graded_activity"):
            assert names.index(home) < names.index(drug)
    assert names.index("oral_nsaid") < names.index("prescription_pain_reliever")


@pytest.mark.parametrize(("prior", "lr", "expected"), [
    (0.1, 1.0, 0.1), (0.1, 9.0, 0.5), (0.5, 0.25, 0.2)])
def test_post_test_probability(prior: float, lr: float, expected: float) -> None:
    assert quiz.post_test_probability(prior, lr) == pytest.approx(expected)


@pytest.mark.parametrize(("prior", "lr"), [(0.0, 2.0), (1.0, 2.0), (0.2, 0.0)])
def test_post_test_probability_refuses_nonsense(prior: float, lr: float) -> None:
    with pytest.raises(AnswerError):
        quiz.post_test_probability(prior, lr)


# --- self-checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("topic", quiz.CHECK_TOPICS)
def test_self_checks_are_well_formed(kb: KnowledgeBase, topic: str) -> None:
    qs = quiz.self_checks(kb, topic)
    assert 1 <= len(qs) <= quiz.CHECK_LENGTH + 2
    assert len({q.check_id for q in qs}) == len(qs)
    for q in qs:
        values = [v for _, v in q.options]
        assert q.answer in values
        assert len(set(values)) == len(values) >= 2
        assert q.explanation
        assert q.source
        assert quiz.check_answer(q, q.answer).correct
        assert not quiz.check_answer(q, next(v for v in values if v != q.answer)).correct
    assert quiz.self_checks(kb, topic) == qs  # stable, so the answer key matches the lesson


def test_self_check_answers_come_from_the_knowledge_base(kb: KnowledgeBase) -> None:
    for q in quiz.self_checks(kb, "risk"):
        rid = q.check_id.split(":")[1]
        assert q.answer == ("yes" if kb.risk_factors[rid].modifiable else "no")
    for q in quiz.self_checks(kb, "workup"):
        if q.check_id.startswith("test:"):
            cid = q.check_id.split(":")[1]
            linked = {x.test_id for x in kb.test_conditions if x.condition_id == cid}
            assert q.answer in linked
            assert not linked & ({v for _, v in q.options} - {q.answer})
        if q.check_id == "ladder":
            assert q.answer == lookup.treatment_ladder(kb)[0].treatment_id


def test_self_check_refuses_unknown_topic_and_blank_answer(kb: KnowledgeBase) -> None:
    with pytest.raises(AnswerError, match="causes"):
        quiz.self_checks(kb, "nope")
    with pytest.raises(AnswerError):
        quiz.check_answer(quiz.self_checks(kb, "risk")[0], None)


def test_do_not_offer_lists_every_contraindication_with_its_source(kb: KnowledgeBase) -> None:
    assert kb.contraindications
    total = 0
    for t in lookup.treatment_ladder(kb):
        reasons = quiz.do_not_offer(kb, t.treatment_id)
        contra = [x for x in kb.contraindications if x.treatment_id == t.treatment_id]
        assert len(reasons) == len(contra)
        total += len(reasons)
        for x in contra:
            label = kb.findings[x.finding_id].label.rstrip("?")
            assert any(label in r.text and x.reason in r.text
                       and r.source == quiz.cite(kb, x.source_id) for r in reasons)
    assert total == len(kb.contraindications)


def test_test_questions_cover_every_link(kb: KnowledgeBase) -> None:
    assert sum(len(ls) for _, ls in quiz.test_questions(kb)) == len(kb.test_conditions)


@pytest.mark.parametrize(("ids", "n_mod", "n_fixed"), [
    ([], 0, 0), (["age"], 0, 1), (["smoking", "excess_weight"], 2, 0),
    (["age", "smoking", "genetics"], 1, 2)])
def test_risk_profile_splits_modifiable(kb: KnowledgeBase, ids: list[str], n_mod: int,
                                        n_fixed: int) -> None:
    p = quiz.risk_profile(kb, ids)
    assert (len(p.modifiable), len(p.fixed)) == (n_mod, n_fixed)
    assert all(kb.risk_factors[r.risk_factor_id].modifiable for r in p.modifiable)
    if not ids:
        assert p.causes == ()


def test_risk_profile_multiplies_likelihood_ratios(kb: KnowledgeBase) -> None:
    p = quiz.risk_profile(kb, ["smoking"])
    expected = {kb.conditions[x.condition_id].name: x.lr_positive
                for x in kb.condition_findings if x.finding_id == "smoking"}
    assert dict(p.causes) == pytest.approx(expected)
    both = quiz.risk_profile(kb, ["smoking", "excess_weight"])
    fids = {kb.risk_factors[r].finding_id for r in ("smoking", "excess_weight")}
    for name, lr in both.causes:
        product = 1.0
        for x in kb.condition_findings:
            if x.finding_id in fids and kb.conditions[x.condition_id].name == name:
                product *= x.lr_positive
        assert lr == pytest.approx(product)
    with pytest.raises(AnswerError):
        quiz.risk_profile(kb, ["not_a_factor"])


def test_answer_key_has_every_case_in_agreement(kb: KnowledgeBase) -> None:
    key = quiz.answer_key(kb)
    assert [k.case.case_id for k in key] == [c.case_id for c in quiz.load_cases(kb)]
    assert all(k.agrees for k in key)
