"""The clinicians' stories from issue #9, each tried twice: as a complete checklist (every
other question answered no, as clinicians fill it in) and as a partial one (only the story's
answers). The complete one gives exactly the level a careful clinician would choose; the
partial one is never less urgent than that, except that it may be `incomplete` when the story
alone cannot fire a rule."""

from __future__ import annotations

from typing import Any

import pytest

from upperback import KnowledgeBase, assess, urgency_rank

# story id, answers, age, the level a clinician would choose, a cause that must be named
STORIES: list[tuple[str, dict[str, bool], int, str, str | None]] = [
    ("strain after a lift", {"heavy_lifting": True, "acute_onset": True,
                             "pain_worse_with_movement": True}, 34, "self_care", "back_strain"),
    ("desk posture", {"poor_posture": True, "low_fitness": True,
                      "pain_worse_with_movement": True}, 27, "self_care", "poor_posture"),
    ("twist without a fall", {"whiplash_or_sudden_twist": True, "acute_onset": True}, 22,
     "self_care", "sprain"),
    ("tearing pain between the shoulder blades", {"sudden_severe_upper_back_pain": True}, 60,
     "ambulance", "aortic_dissection"),
    ("fever in a person who injects drugs", {"fever": True, "injected_drug_use": True}, 30,
     "urgent", "spinal_infection"),
    ("fever after a spinal injection", {"fever": True, "recent_spinal_procedure": True}, 58,
     "urgent", "spinal_infection"),
    ("night pain at 55", {"pain_at_night_or_rest": True}, 55, "urgent", "spinal_tumor"),
    ("new pain with a cancer history", {"cancer_history": True}, 62, "urgent",
     "spinal_metastasis"),
    ("osteoporosis, sudden pain after a cough", {"acute_onset": True, "osteoporosis": True}, 68,
     "emergency", "osteoporotic_compression_fracture"),
    ("sudden pain at 74 without known osteoporosis", {"acute_onset": True}, 74, "emergency",
     "compression_fracture"),
    ("fever, flank pain and vomiting", {"fever": True, "flank_pain_or_blood_in_urine": True,
                                        "nausea_or_vomiting": True}, 39, "emergency",
     "pyelonephritis"),
    ("flank pain without fever", {"flank_pain_or_blood_in_urine": True}, 45, "see_provider",
     "kidney_stones"),
    ("pain after fatty meals", {"pain_after_fatty_meal": True, "nausea_or_vomiting": True}, 48,
     "see_provider", "gallstones"),
    ("heart attack without chest pain", {"pain_on_exertion": True, "cold_sweat": True,
                                         "nausea_or_vomiting": True}, 66, "ambulance",
     "heart_attack"),
    ("chest pressure", {"chest_pain_or_pressure": True}, 62, "ambulance", "heart_attack"),
    ("breathing pain with clot risk", {"pain_worse_on_breathing_in": True,
                                       "clot_risk_or_leg_swelling": True}, 41, "emergency",
     "pulmonary_embolism"),
    ("band of burning pain", {"burning_band_pain_or_rash": True}, 67, "urgent", "shingles"),
    ("young adult's minor knock", {"low_energy_injury": True}, 25, "see_provider", None),
    ("fall from standing at 70", {"low_energy_injury": True}, 70, "emergency",
     "compression_fracture"),
    ("road accident", {"recent_trauma": True, "acute_onset": True}, 40, "emergency",
     "traumatic_fracture"),
    ("road accident with tingling", {"recent_trauma": True, "numbness_or_tingling": True}, 40,
     "ambulance", "traumatic_fracture"),
    ("fever with a nerve sign", {"fever": True, "numbness_or_tingling": True}, 50, "emergency",
     "spinal_infection"),
    ("weight loss with leg symptoms", {"unintended_weight_loss": True,
                                       "leg_weakness_numbness_or_pain": True}, 45, "emergency",
     None),
    ("worsening leg weakness", {"progressive_leg_weakness": True}, 52, "emergency", None),
    ("pregnancy", {"pregnancy": True}, 31, "self_care", "pregnancy"),
]


def _everything_else_no(kb: KnowledgeBase, story: dict[str, bool], age: int) -> dict[str, Any]:
    return {**{f: False for f, x in kb.findings.items() if x.min_age is None}, **story,
            "age": age}


def _named(a: Any, condition: str) -> bool:
    ids = {c.condition_id for c in a.cant_miss} | set(a.leading())
    return condition in ids


@pytest.mark.parametrize(("story", "answers", "age", "level", "cause"), STORIES,
                         ids=[s[0] for s in STORIES])
def test_complete_checklist_gives_the_careful_level(
    kb: KnowledgeBase, story: str, answers: dict[str, bool], age: int, level: str,
    cause: str | None,
) -> None:
    a = assess(_everything_else_no(kb, answers, age), kb)
    assert a.urgency == level, [r.rule_id for r in a.fired]
    assert a.emergency_screen_complete
    assert a.candidates, "the differential never empties"
    if cause:
        assert _named(a, cause), [c.condition_id for c in a.candidates[:4]]
    assert a.safety_net
    assert "911" in a.safety_net


@pytest.mark.parametrize(("story", "answers", "age", "level", "cause"), STORIES,
                         ids=[s[0] for s in STORIES])
def test_partial_checklist_is_never_less_urgent(
    kb: KnowledgeBase, story: str, answers: dict[str, bool], age: int, level: str,
    cause: str | None,
) -> None:
    a = assess({**answers, "age": age}, kb)
    if level == "self_care":
        assert a.urgency == "incomplete"  # self-care only once no red flag can still fire
    else:
        assert urgency_rank(a.urgency) >= urgency_rank(level)
    if cause:
        assert _named(a, cause)


def test_ed_level_advice_does_not_say_call_an_ambulance_and_never_drive(kb: KnowledgeBase) -> None:
    ed = assess({"acute_onset": True, "osteoporosis": True}, kb)
    assert ed.urgency == "emergency"
    assert "emergency department" in ed.headline.lower()
    assert "should not drive" not in ed.safety_net
    amb = assess({"chest_pain_or_pressure": True}, kb)
    assert "ambulance" in amb.headline.lower()
    assert "drive" in amb.safety_net


def test_self_care_wording_claims_only_the_screened_red_flags(
    kb: KnowledgeBase, everything_no: dict[str, bool],
) -> None:
    a = assess({**everything_no, "age": 30}, kb)
    assert a.urgency == "self_care"
    assert "none of the screened red flags" in a.headline.lower()
    assert "no red flag is present" not in a.advice.lower()


def test_banner_agrees_with_a_leading_organ_cause(kb: KnowledgeBase,
                                                  everything_no: dict[str, bool]) -> None:
    # the complaint: "self-care" while the top cause was gallstones, "refer for the cause"
    a = assess({**everything_no, "pain_after_fatty_meal": True, "age": 48}, kb)
    assert urgency_rank(a.urgency) >= urgency_rank("see_provider")
    top = a.candidates[0]
    assert top.condition_id == "organ_disease"
    assert top.subtypes[0].condition_id == "gallstones"


def test_every_article_emergency_sign_gives_emergency_or_ambulance(kb: KnowledgeBase) -> None:
    signs = [("saddle_or_leg_numbness",), ("cannot_walk_or_stand",),
             ("bladder_bowel_control_loss",), ("pain_radiates_to_abdomen",),
             ("sudden_severe_leg_or_low_back_pain",), ("recent_trauma",),
             ("acute_onset", "osteoporosis"), ("loss_of_consciousness",)]
    for sign in signs:
        a = assess(dict.fromkeys(sign, True), kb)
        assert urgency_rank(a.urgency) >= urgency_rank("emergency"), sign


def test_each_urgency_has_its_own_advice(kb: KnowledgeBase) -> None:
    texts = {u: (x.headline, x.advice, x.safety_net) for u, x in kb.advice.items()}
    assert len(set(texts.values())) == len(texts) == 6
