"""What the knowledge base says about one cause or one treatment, in one order for every face.

The dashboard, the printable report, the explorers, the lessons and the quizzes all list a
cause's findings, tests, treatments and red-flag rules, and a treatment's uses and
contraindications. They take them from here, so the same facts come in the same order on every
screen:

- findings of a cause: the largest LR+ first, then checklist order; causes of a finding: the
  largest LR+ first, then by id;
- tests of a cause: baseline tests first, then by id;
- treatments (of a cause, or the whole ladder): least invasive first; at equal invasiveness care
  without medicine first (NICE NG59, ACP 2017), then what a patient can get themselves;
- red-flag rules of a cause: the engine's order (most urgent first, then id);
- uses of a treatment: by cause name; contraindications: "avoid" before "caution", then
  checklist order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from . import _model as m
from ._rules import compile_plan

#: Without medicine first, then medicines, then procedures (NICE NG59 puts exercise and
#: self-management first; ACP 2017 non-drug care before drugs).
CATEGORY_ORDER: Mapping[str, int] = MappingProxyType(
    {"non_drug": 0, "medication": 1, "procedure_surgery": 2})
#: What a patient can get themselves before what needs a prescription or a clinician.
ACCESS_ORDER: Mapping[str, int] = MappingProxyType(
    {"self_care": 0, "otc": 1, "prescription": 2, "clinician": 3})
_ACTION_ORDER = {"avoid": 0, "caution": 1}

T = TypeVar("T")


def treatment_key(t: m.Treatment) -> tuple[int, int, int, str]:
    """Sort key of the treatment ladder: least invasive, non-drug, self-obtained first."""
    return (t.invasiveness, CATEGORY_ORDER.get(t.category, len(CATEGORY_ORDER)),
            ACCESS_ORDER.get(t.access, len(ACCESS_ORDER)), t.treatment_id)


@dataclass(frozen=True)
class _Lookup:
    links: Mapping[str, tuple[m.ConditionFinding, ...]]
    causes: Mapping[str, tuple[m.ConditionFinding, ...]]
    tests: Mapping[str, tuple[m.TestCondition, ...]]
    treatments: Mapping[str, tuple[m.TreatmentCondition, ...]]
    rules: Mapping[str, tuple[m.TriageRule, ...]]
    uses: Mapping[str, tuple[m.TreatmentCondition, ...]]
    contraindications: Mapping[str, tuple[m.Contraindication, ...]]
    ladder: tuple[m.Treatment, ...]


_LOOKUPS: WeakKeyDictionary[m.KnowledgeBase, _Lookup] = WeakKeyDictionary()


def _grouped(rows: Iterable[T], key: str,
             order: Callable[[T], Any]) -> Mapping[str, tuple[T, ...]]:
    out: dict[str, list[T]] = defaultdict(list)
    for r in rows:
        out[getattr(r, key)].append(r)
    return MappingProxyType({k: tuple(sorted(v, key=order)) for k, v in out.items()})


def _lookup(kb: m.KnowledgeBase) -> _Lookup:
    found = _LOOKUPS.get(kb)
    if found is not None:
        return found
    checklist = {f.finding_id: i for i, f in enumerate(kb.findings_in_order())}
    links = _grouped(kb.condition_findings, "condition_id",
                     lambda x: (-x.lr_positive, checklist[x.finding_id]))
    rules = MappingProxyType({
        cid: tuple(r for r in rules_in_order(kb) if {x.finding_id for x in xs} & set(r.findings))
        for cid, xs in links.items()})
    rank = {t.treatment_id: treatment_key(t) for t in kb.treatments.values()}
    found = _Lookup(
        links=links,
        causes=_grouped(kb.condition_findings, "finding_id",
                        lambda x: (-x.lr_positive, x.condition_id)),
        tests=_grouped(kb.test_conditions, "condition_id",
                       lambda x: (not kb.tests[x.test_id].baseline, x.test_id)),
        treatments=_grouped(kb.treatment_conditions, "condition_id",
                            lambda x: rank[x.treatment_id]),
        rules=rules,
        uses=_grouped(kb.treatment_conditions, "treatment_id",
                      lambda x: (kb.conditions[x.condition_id].name.lower(), x.condition_id)),
        contraindications=_grouped(
            kb.contraindications, "treatment_id",
            lambda x: (_ACTION_ORDER.get(x.action, len(_ACTION_ORDER)),
                       checklist.get(x.finding_id, len(checklist)), x.finding_id)),
        ladder=tuple(sorted(kb.treatments.values(), key=treatment_key)),
    )
    _LOOKUPS[kb] = found
    return found


def rules_in_order(kb: m.KnowledgeBase) -> tuple[m.TriageRule, ...]:
    """Every red-flag rule in the engine's order (`Assessment.fired`): most urgent first, then
    id."""
    return compile_plan(kb).rules


def findings_of(kb: m.KnowledgeBase, condition_id: str) -> tuple[m.ConditionFinding, ...]:
    """The findings linked to a cause, the largest LR+ first, then checklist order."""
    return _lookup(kb).links.get(condition_id, ())


def causes_of(kb: m.KnowledgeBase, finding_id: str) -> tuple[m.ConditionFinding, ...]:
    """The causes a finding is linked to, the largest LR+ first, then by id."""
    return _lookup(kb).causes.get(finding_id, ())


def tests_of(kb: m.KnowledgeBase, condition_id: str) -> tuple[m.TestCondition, ...]:
    """The tests that help answer "is it this cause?", baseline tests first."""
    return _lookup(kb).tests.get(condition_id, ())


def treatments_of(kb: m.KnowledgeBase, condition_id: str) -> tuple[m.TreatmentCondition, ...]:
    """The treatments for a cause, in ladder order."""
    return _lookup(kb).treatments.get(condition_id, ())


def rules_of(kb: m.KnowledgeBase, condition_id: str) -> tuple[m.TriageRule, ...]:
    """The red-flag rules that use a finding linked to a cause, in the engine's order."""
    return _lookup(kb).rules.get(condition_id, ())


def uses_of(kb: m.KnowledgeBase, treatment_id: str) -> tuple[m.TreatmentCondition, ...]:
    """The causes a treatment serves, by cause name."""
    return _lookup(kb).uses.get(treatment_id, ())


def contraindications_of(kb: m.KnowledgeBase,
                         treatment_id: str) -> tuple[m.Contraindication, ...]:
    """When (not) to offer a treatment: "avoid" before "caution", then checklist order."""
    return _lookup(kb).contraindications.get(treatment_id, ())


def treatment_ladder(kb: m.KnowledgeBase) -> tuple[m.Treatment, ...]:
    """Every treatment, least invasive first (see `treatment_key`)."""
    return _lookup(kb).ladder
