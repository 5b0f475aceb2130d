"""The core's lookups: every face lists a cause's or a treatment's facts from here, in one
order, and nothing is left out."""

from __future__ import annotations

from upperback import KnowledgeBase, assess, lookup, urgency_rank
from upperback.lookup import ACCESS_ORDER, CATEGORY_ORDER


def _checklist(kb: KnowledgeBase) -> dict[str, int]:
    return {f.finding_id: i for i, f in enumerate(kb.findings_in_order())}


def test_findings_of_a_cause_strongest_first_then_checklist_order(kb: KnowledgeBase) -> None:
    pos = _checklist(kb)
    total = 0
    for cid in kb.conditions:
        links = lookup.findings_of(kb, cid)
        total += len(links)
        assert all(x.condition_id == cid for x in links)
        keys = [(-x.lr_positive, pos[x.finding_id]) for x in links]
        assert keys == sorted(keys)
    assert total == len(kb.condition_findings)


def test_tests_of_a_cause_baseline_first(kb: KnowledgeBase) -> None:
    total = 0
    for cid in kb.conditions:
        links = lookup.tests_of(kb, cid)
        total += len(links)
        keys = [(not kb.tests[x.test_id].baseline, x.test_id) for x in links]
        assert keys == sorted(keys)
    assert total == len(kb.test_conditions)
    assert lookup.tests_of(kb, "no_such_cause") == ()


def test_treatments_follow_the_ladder(kb: KnowledgeBase) -> None:
    ladder = [t.treatment_id for t in lookup.treatment_ladder(kb)]
    assert sorted(ladder) == sorted(kb.treatments)
    first = lookup.treatment_ladder(kb)[0]
    assert first.category == min(CATEGORY_ORDER, key=CATEGORY_ORDER.__getitem__)
    keys = [(t.invasiveness, CATEGORY_ORDER[t.category], ACCESS_ORDER[t.access])
            for t in lookup.treatment_ladder(kb)]
    assert keys == sorted(keys)
    for cid in kb.conditions:
        mine = [x.treatment_id for x in lookup.treatments_of(kb, cid)]
        assert mine == [t for t in ladder if t in mine]


def test_rules_of_a_cause_in_the_engines_order(kb: KnowledgeBase) -> None:
    order = [r.rule_id for r in lookup.rules_in_order(kb)]
    assert sorted(order) == sorted(kb.rules)
    ranks = [(-urgency_rank(r.urgency), r.rule_id) for r in lookup.rules_in_order(kb)]
    assert ranks == sorted(ranks)
    aorta = lookup.rules_of(kb, "aortic_dissection")
    assert aorta, "dissection is caught by red-flag rules"
    linked = {x.finding_id for x in lookup.findings_of(kb, "aortic_dissection")}
    assert all(linked & set(r.findings) for r in aorta)
    ids = [r.rule_id for r in aorta]
    assert ids == [r for r in order if r in ids]


def test_contraindications_avoid_before_caution_then_checklist(kb: KnowledgeBase) -> None:
    pos = _checklist(kb)
    total = 0
    for tid in kb.treatments:
        rows = lookup.contraindications_of(kb, tid)
        total += len(rows)
        keys = [(x.action != "avoid", pos[x.finding_id]) for x in rows]
        assert keys == sorted(keys)
        uses = lookup.uses_of(kb, tid)
        names = [kb.conditions[x.condition_id].name.lower() for x in uses]
        assert names == sorted(names)
    assert total == len(kb.contraindications)


def test_the_engine_lists_withheld_reasons_in_the_core_order(kb: KnowledgeBase) -> None:
    # NSAIDs are general care, so every assessment weighs them; say yes to each finding that
    # rules them out, in reverse checklist order, and read the reasons back in the core's order
    avoid = [x.finding_id for x in lookup.contraindications_of(kb, "oral_nsaid")
             if x.action == "avoid"]
    assert len(avoid) > 1
    a = assess(dict.fromkeys(reversed(avoid), True), kb)
    withheld = {w.treatment_id: w for w in a.withheld_treatments}
    assert withheld["oral_nsaid"].findings == tuple(avoid)


def test_causes_of_a_finding_strongest_first(kb: KnowledgeBase) -> None:
    total = 0
    for fid in kb.findings:
        links = lookup.causes_of(kb, fid)
        total += len(links)
        assert all(x.finding_id == fid for x in links)
        keys = [(-x.lr_positive, x.condition_id) for x in links]
        assert keys == sorted(keys)
    assert total == len(kb.condition_findings)
