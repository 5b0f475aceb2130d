"""The cause and treatment explorers, driven without a browser."""

from __future__ import annotations

import pytest

import upperback
from upperback import KnowledgeBase
from upperback.widgets import (
    ConditionsExplorer,
    TreatmentsExplorer,
    build_conditions_explorer,
    build_treatments_explorer,
)
from upperback.widgets.treatments import ALL, filter_treatments


@pytest.fixture
def conditions(kb: KnowledgeBase) -> ConditionsExplorer:
    built = build_conditions_explorer(kb)
    assert isinstance(built, ConditionsExplorer)
    return built


@pytest.fixture
def treatments(kb: KnowledgeBase) -> TreatmentsExplorer:
    built = build_treatments_explorer(kb)
    assert isinstance(built, TreatmentsExplorer)
    return built


def test_every_cause_renders_with_code_findings_tests_and_sources(
    conditions: ConditionsExplorer, kb: KnowledgeBase
) -> None:
    for cid, cond in kb.conditions.items():
        conditions.picker.value = cid
        html = conditions.detail.value
        assert f"data-condition='{cid}'" in html
        assert cond.name.split("'")[0] in html.replace("&#x27;", "'")
        if cond.icd10cm:
            assert cond.icd10cm in html
        for link in kb.condition_findings:
            if link.condition_id == cid:
                assert kb.findings[link.finding_id].label.split("'")[0][:20] in html.replace(
                    "&#x27;", "'")
        for tc in kb.test_conditions:
            if tc.condition_id == cid:
                assert kb.tests[tc.test_id].name.split(",")[0] in html


def test_unchecked_sources_are_flagged(conditions: ConditionsExplorer, kb: KnowledgeBase) -> None:
    flagged = [cid for cid in kb.conditions
               if any(not kb.sources[x.source_id].checked_here
                      for x in kb.test_conditions if x.condition_id == cid)]
    assert flagged
    conditions.picker.value = flagged[0]
    assert "not re-checked" in conditions.detail.value


def test_red_flags_listed_for_a_cause_with_red_flag_findings(
    conditions: ConditionsExplorer, kb: KnowledgeBase
) -> None:
    conditions.picker.value = "traumatic_fracture"
    assert kb.rules["em_recent_trauma"].label in conditions.detail.value


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        ({}, lambda t, kb: True),
        ({"category": "medication"}, lambda t, kb: t.category == "medication"),
        ({"access": "otc"}, lambda t, kb: t.access == "otc"),
        ({"access": "prescription"}, lambda t, kb: t.access == "prescription"),
        ({"max_invasiveness": 0}, lambda t, kb: t.invasiveness == 0),
        ({"max_invasiveness": 2}, lambda t, kb: t.invasiveness <= 2),
        ({"condition": "back_strain"}, lambda t, kb: any(
            x.treatment_id == t.treatment_id and x.condition_id == "back_strain"
            for x in kb.treatment_conditions)),
    ],
)
def test_filters(treatments: TreatmentsExplorer, kb: KnowledgeBase, filters: dict[str, object],
                 check: object) -> None:
    expected = {t.treatment_id for t in kb.treatments.values() if check(t, kb)}  # type: ignore[operator]
    assert {t.treatment_id for t in filter_treatments(kb, **filters)} == expected  # type: ignore[arg-type]
    widget_of = {"condition": treatments.condition, "category": treatments.category,
                 "access": treatments.access, "max_invasiveness": treatments.invasiveness}
    for key, value in filters.items():
        widget_of[key].value = value
    shown = set(__import__("re").findall(r"data-treatment='(\w+)'", treatments.list.value))
    assert shown == expected
    assert f"<strong>{len(expected)}</strong>" in treatments.count.value


def test_contraindications_and_evidence_notes_shown(treatments: TreatmentsExplorer,
                                                    kb: KnowledgeBase) -> None:
    html = treatments.list.value
    for x in kb.contraindications:
        assert x.reason.split("'")[0][:30] in html.replace("&#x27;", "'")
    for t in kb.treatments.values():
        if t.evidence_note:
            assert "Evidence note" in html


def test_no_match_message(treatments: TreatmentsExplorer) -> None:
    treatments.category.value = "procedure_surgery"
    treatments.invasiveness.value = 0
    assert "No treatment matches" in treatments.list.value
    assert "<strong>0</strong>" in treatments.count.value


def test_explorers_show_disclaimer_and_version(conditions: ConditionsExplorer,
                                               treatments: TreatmentsExplorer,
                                               kb: KnowledgeBase) -> None:
    for app in (conditions, treatments):
        text = "".join(getattr(ch, "value", "") for ch in app.children
                       if isinstance(getattr(ch, "value", None), str))
        assert upperback.DISCLAIMER in text
        assert kb.version in text


def test_all_sentinel_is_not_a_real_id(kb: KnowledgeBase) -> None:
    assert ALL not in kb.conditions
    assert ALL not in {t.category for t in kb.treatments.values()}


def test_no_internal_code_on_the_explorers(conditions: ConditionsExplorer,
                                           kb: KnowledgeBase) -> None:
    import re

    for cid in kb.conditions:
        conditions.picker.value = cid
        visible = re.sub(r"<[^>]+>", " ", conditions.detail.value)
        group = kb.conditions[cid].group
        if "_" in group:
            assert group not in visible
        assert "Group:" in visible
