"""The assessment engine: every triage rule, the walkthrough patients, ranking, work-up,
treatments, contraindications and the JSON contract."""

from __future__ import annotations

import json

import pytest

import upperback
from upperback import AnswerError, KnowledgeBase, assess, urgency_rank


def test_no_answers_is_incomplete_with_every_red_flag_open(kb: KnowledgeBase) -> None:
    a = assess({}, kb)
    assert a.urgency == "incomplete"
    assert set(a.unanswered_red_flags) == {f for r in kb.rules.values() for f in r.findings}
    assert not a.emergency_screen_complete
    assert a.fired == ()


@pytest.mark.parametrize("rule_id", sorted(upperback.load_knowledge_base().rules))
def test_each_rule_fires_alone(kb: KnowledgeBase, rule_id: str) -> None:
    rule = kb.rules[rule_id]
    a = assess(dict.fromkeys(rule.findings, True), kb)
    assert rule_id in [r.rule_id for r in a.fired]
    assert urgency_rank(a.urgency) >= urgency_rank(rule.urgency)
    fired = next(r for r in a.fired if r.rule_id == rule_id)
    assert fired.findings == rule.findings
    assert fired.source_id in kb.sources


@pytest.mark.parametrize("rule_id", sorted(upperback.load_knowledge_base().rules))
def test_each_rule_fires_with_everything_else_no(
    kb: KnowledgeBase, screen_all_no: dict[str, bool], rule_id: str
) -> None:
    rule = kb.rules[rule_id]
    a = assess({**screen_all_no, **dict.fromkeys(rule.findings, True)}, kb)
    assert a.urgency == rule.urgency
    assert a.emergency_screen_complete


@pytest.mark.parametrize("rule_id", sorted(r for r, x in upperback.load_knowledge_base().rules
                                           .items() if len(x.findings) > 1))
def test_combined_rule_needs_every_finding(
    kb: KnowledgeBase, screen_all_no: dict[str, bool], rule_id: str
) -> None:
    rule = kb.rules[rule_id]
    for missing in rule.findings:
        answers = {**screen_all_no, **dict.fromkeys(rule.findings, True), missing: False}
        assert rule_id not in [r.rule_id for r in assess(answers, kb).fired]


def test_self_care_only_when_no_rule_can_fire(
    kb: KnowledgeBase, screen_all_no: dict[str, bool]
) -> None:
    assert assess(screen_all_no, kb).urgency == "self_care"
    for finding in screen_all_no:  # leave one question open, every other one answered no
        answers = {k: v for k, v in screen_all_no.items() if k != finding}
        a = assess(answers, kb)
        # only a rule of that question alone can still fire; combined rules are ruled out
        alone = any(r.findings == (finding,) for r in kb.rules.values())
        assert a.urgency == ("incomplete" if alone else "self_care"), finding
        assert (finding in a.unanswered_red_flags) == alone


def test_walkthrough_warehouse_worker(kb: KnowledgeBase, screen_all_no: dict[str, bool]) -> None:
    answers = {**screen_all_no, "heavy_lifting": True, "acute_onset": True,
               "physically_demanding_job": True, "pain_worse_with_movement": True,
               "age_50_or_older": False}
    a = assess(answers, kb)
    assert a.urgency == "self_care"
    assert a.candidates[0].condition_id == "back_strain"
    assert {e.finding_id for e in a.candidates[0].supporting} >= {"heavy_lifting", "acute_onset"}
    assert "two weeks" in a.safety_net
    assert kb.advice["self_care"].headline == a.headline
    assert "emergency" not in a.headline.lower()
    assert a.treatments
    assert not a.treatments_secondary
    assert "cold_pack" in [t.treatment_id for t in a.treatments]


def test_walkthrough_osteoporosis_after_cough(kb: KnowledgeBase) -> None:
    a = assess({"acute_onset": True, "osteoporosis": True, "age_50_or_older": True}, kb)
    assert a.urgency == "emergency"
    assert [r.rule_id for r in a.fired] == ["em_acute_onset_osteoporosis"]
    assert a.candidates[0].condition_id == "osteoporotic_compression_fracture"
    assert a.treatments_secondary
    assert "911" in a.advice
    assert "911" in a.safety_net
    assert "spinal_manipulation" not in [t.treatment_id for t in a.treatments]


def test_walkthrough_see_provider_with_emergency_questions_open(kb: KnowledgeBase) -> None:
    a = assess({"fever": True}, kb)
    assert a.urgency == "see_provider"
    assert not a.emergency_screen_complete
    emergency = {f for f, x in kb.findings.items() if x.kind == "emergency"}
    assert emergency <= set(a.unanswered_emergency)
    assert {d.new_urgency for d in a.would_change} == {"emergency"}


def test_emergency_number_is_configurable(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "112" in assess({"recent_trauma": True}, kb, emergency_number="112").advice
    monkeypatch.setenv("UPPERBACK_EMERGENCY_NUMBER", "999")
    a = assess({"recent_trauma": True}, kb)
    assert "999" in a.advice
    assert a.emergency_number == "999"
    assert "{" not in a.safety_net


# condition -> findings typical of it; the condition must rank first or in the top three
TYPICAL = [
    ("back_strain", ["heavy_lifting", "acute_onset", "pain_worse_with_movement"], 1),
    ("sprain", ["whiplash_or_sudden_twist", "acute_onset", "pain_worse_with_movement"], 1),
    ("traumatic_fracture", ["recent_trauma", "acute_onset"], 1),
    ("thoracic_spondylosis", ["age_50_or_older", "stiffness_worse_in_morning", "smoking",
                              "pain_worse_with_movement"], 3),
    ("poor_posture", ["poor_posture", "low_fitness"], 1),
    ("degenerative_disc_disease", ["age_50_or_older", "smoking", "radiating_arm_or_rib_pain"], 3),
    ("herniated_disc", ["radiating_arm_or_rib_pain", "numbness_or_tingling"], 1),
    ("compression_fracture", ["acute_onset", "osteoporosis", "age_50_or_older"], 3),
    ("osteoporotic_compression_fracture", ["acute_onset", "osteoporosis", "age_50_or_older",
                                           "long_term_steroid_use"], 1),
    ("spinal_deformity", ["visible_spinal_curvature", "poor_posture"], 1),
    ("kyphosis", ["visible_spinal_curvature", "osteoporosis", "age_50_or_older"], 3),
    ("arthritis", ["stiffness_worse_in_morning", "family_history_arthritis"], 3),
    ("ankylosing_spondylitis", ["stiffness_worse_in_morning", "pain_at_night_or_rest"], 1),
    ("spinal_stenosis", ["leg_weakness_numbness_or_pain", "balance_or_walking_difficulty",
                         "age_50_or_older"], 1),
    ("spinal_tumor", ["cancer_history", "pain_at_night_or_rest", "unintended_weight_loss"], 3),
    ("spinal_metastasis", ["cancer_history", "pain_at_night_or_rest", "unintended_weight_loss"], 3),
    ("organ_disease", ["pain_radiates_to_abdomen", "nausea_or_vomiting", "fever"], 3),
    ("gallstones", ["pain_after_fatty_meal", "nausea_or_vomiting"], 1),
    ("kidney_stones", ["flank_pain_or_blood_in_urine", "nausea_or_vomiting"], 1),
    ("pancreatitis", ["pain_radiates_to_abdomen", "nausea_or_vomiting"], 1),
    ("pregnancy", ["pregnancy"], 1),
    ("heart_attack", ["chest_pain_or_pressure", "shortness_of_breath"], 1),
]


@pytest.mark.parametrize(("condition", "findings", "top"), TYPICAL, ids=[t[0] for t in TYPICAL])
def test_typical_findings_rank_the_cause_high(
    kb: KnowledgeBase, condition: str, findings: list[str], top: int
) -> None:
    ranked = [c.condition_id for c in assess(dict.fromkeys(findings, True), kb).candidates]
    assert condition in ranked[:top], ranked[:5]


def test_every_top_level_cause_has_a_typical_case(kb: KnowledgeBase) -> None:
    tops = {c for c, x in kb.conditions.items() if x.parent is None}
    assert tops <= {t[0] for t in TYPICAL}


def test_candidate_score_is_the_transparent_sum(kb: KnowledgeBase) -> None:
    a = assess({"heavy_lifting": True, "acute_onset": True, "low_fitness": False}, kb)
    strain = next(c for c in a.candidates if c.condition_id == "back_strain")
    assert strain.score == sum(e.strength for e in strain.supporting) - sum(
        e.strength for e in strain.against)
    assert [e.finding_id for e in strain.against] == ["low_fitness"]
    assert strain.icd10cm == "S29.012A"
    assert strain.source_id in kb.sources


def test_no_cause_without_a_supporting_finding(kb: KnowledgeBase) -> None:
    a = assess({"recent_trauma": False, "heavy_lifting": False}, kb)
    assert a.candidates == ()
    # general self-care treatments are offered while no cause stands out
    assert {t.treatment_id for t in a.treatments} == {
        t for t, x in kb.treatments.items() if x.general}


def test_workup_has_baseline_tests_and_cause_specific_ones(kb: KnowledgeBase) -> None:
    a = assess({"chest_pain_or_pressure": True, "shortness_of_breath": True}, kb)
    ids = [w.test_id for w in a.workup]
    assert {t for t, x in kb.tests.items() if x.baseline} <= set(ids)
    ecg = next(w for w in a.workup if w.test_id == "ecg_troponin")
    assert ecg.for_conditions == ("heart_attack",)
    assert ecg.reasons


@pytest.mark.parametrize(("answers", "treatment", "finding"), [
    ({"pregnancy": True, "heavy_lifting": True}, "oral_nsaid", "pregnancy"),
    ({"chest_pain_or_pressure": True, "heavy_lifting": True}, "oral_nsaid",
     "chest_pain_or_pressure"),
    ({"recent_trauma": True, "heavy_lifting": True, "poor_posture": True}, "spinal_manipulation",
     "recent_trauma"),
    ({"cancer_history": True, "poor_posture": True}, "spinal_manipulation", "cancer_history"),
    ({"osteoporosis": True, "poor_posture": True}, "spinal_manipulation", "osteoporosis"),
])
def test_contraindicated_treatments_are_withheld_with_reason(
    kb: KnowledgeBase, answers: dict[str, bool], treatment: str, finding: str
) -> None:
    a = assess(answers, kb)
    assert treatment not in [t.treatment_id for t in a.treatments]
    withheld = next(w for w in a.withheld_treatments if w.treatment_id == treatment)
    assert finding in withheld.findings
    assert all(withheld.reasons)


def test_general_care_is_checked_for_contraindications_at_self_care(
    kb: KnowledgeBase, screen_all_no: dict[str, bool]
) -> None:
    # the self-care advice mentions OTC pain relief: in pregnancy the NSAID must show as withheld
    a = assess({**screen_all_no, "pregnancy": True}, kb)
    assert a.urgency == "self_care"
    withheld = {w.treatment_id: w for w in a.withheld_treatments}
    assert "pregnancy" in withheld["oral_nsaid"].findings
    assert "oral_nsaid" not in [t.treatment_id for t in a.treatments]


def test_unanswered_contraindication_is_asked_not_assumed(kb: KnowledgeBase) -> None:
    a = assess({"heavy_lifting": True}, kb)
    nsaid = next(t for t in a.treatments if t.treatment_id == "oral_nsaid")
    assert "pregnancy" in nsaid.check_before
    assert "chest_pain_or_pressure" in nsaid.check_before
    answered = assess({"heavy_lifting": True, "pregnancy": False}, kb)
    nsaid = next(t for t in answered.treatments if t.treatment_id == "oral_nsaid")
    assert "pregnancy" not in nsaid.check_before


def test_no_procedures_offered_as_self_care(
    kb: KnowledgeBase, screen_all_no: dict[str, bool]
) -> None:
    answers = {**screen_all_no, "visible_spinal_curvature": True}
    assert assess(answers, kb).urgency == "self_care"
    assert all(t.category != "procedure_surgery" for t in assess(answers, kb).treatments)
    provider = assess({**answers, "pain_over_two_weeks": True}, kb)
    assert any(t.category == "procedure_surgery" for t in provider.treatments)


def test_treatments_ordered_by_category_then_invasiveness(kb: KnowledgeBase) -> None:
    a = assess({"radiating_arm_or_rib_pain": True, "numbness_or_tingling": True}, kb)
    order = {"medication": 0, "non_drug": 1, "procedure_surgery": 2}
    keys = [(order[t.category], t.invasiveness) for t in a.treatments]
    assert keys == sorted(keys)
    assert any(t.evidence_note for t in a.treatments)


def test_risk_factors_present_with_prevention_advice(kb: KnowledgeBase) -> None:
    a = assess({"smoking": True, "excess_weight": True, "age_50_or_older": False}, kb)
    assert {r.risk_factor_id for r in a.risk_factors} == {"smoking", "excess_weight"}
    assert all(r.prevention_advice for r in a.risk_factors)


def test_would_change_lists_questions_that_raise_urgency(kb: KnowledgeBase) -> None:
    a = assess({"acute_onset": True}, kb)
    ids = {d.finding_id: d.new_urgency for d in a.would_change}
    assert ids["osteoporosis"] == "emergency"
    assert ids["fever"] == "see_provider"
    assert "acute_onset" not in ids


@pytest.mark.parametrize(("answers", "words"), [
    ({"not_a_finding": True}, "unknown finding id: not_a_finding"),
    ({"fever": 1}, "fever is int"),
    ({"fever": "yes"}, "fever is str"),
    ({"fever": None}, "fever is NoneType"),
])
def test_bad_answers_are_refused(kb: KnowledgeBase, answers: dict[str, object], words: str) -> None:
    with pytest.raises(AnswerError, match=words):
        assess(answers, kb)


def test_answers_must_be_a_mapping(kb: KnowledgeBase) -> None:
    with pytest.raises(AnswerError, match="mapping"):
        assess([("fever", True)], kb)  # type: ignore[arg-type]


def test_json_contract(kb: KnowledgeBase) -> None:
    d = assess({"fever": True, "heavy_lifting": True}, kb).to_dict()
    for key in ("urgency", "fired", "unanswered_red_flags", "candidates",
                "emergency_screen_complete", "workup", "treatments", "kb_version", "disclaimer"):
        assert key in d
    assert d["fired"][0].keys() >= {"rule", "findings", "source"}
    assert d["candidates"][0].keys() >= {"condition", "parent", "name", "icd10", "score",
                                         "supporting", "against"}
    assert json.loads(json.dumps(d)) == d
    assert d["kb_version"] == kb.version
    assert "not a diagnosis" in d["disclaimer"]


def test_default_knowledge_base_is_used(kb: KnowledgeBase) -> None:
    assert assess({"fever": True}).kb_version == kb.version
