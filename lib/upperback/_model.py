"""Typed, read-only records of the knowledge base. Field names mirror `data/datapackage.json`
(a test checks they agree)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Urgency = Literal["ambulance", "emergency", "urgent", "see_provider", "incomplete", "self_care"]
#: Most urgent first. `ambulance`: call emergency services now; `emergency`: to an emergency
#: department now; `urgent`: seen today; `see_provider`: within days; `incomplete`: a red-flag
#: rule could still fire; `self_care`: none of the screened red flags can still fire.
URGENCIES: tuple[Urgency, ...] = (
    "ambulance", "emergency", "urgent", "see_provider", "incomplete", "self_care")
#: The levels a rule (or a cause) can set; `incomplete`/`self_care` only come from open rules.
RULE_URGENCIES: tuple[Urgency, ...] = URGENCIES[:4]
#: A finding's kind is the urgency of the rule it forms alone, or `history`.
FindingKind = Literal["ambulance", "emergency", "urgent", "see_provider", "history"]
Basis = Literal["published", "guideline", "expert_estimate"]
#: Weakest first: an estimate is as strong as its weakest number.
BASES: tuple[Basis, ...] = ("expert_estimate", "guideline", "published")
Sex = Literal["female", "male"]
SEXES: tuple[Sex, ...] = ("female", "male")
#: Whole years accepted for `age`.
AGE_RANGE = (0, 120)

DISCLAIMER = (
    "Decision support for clinicians and educators, not a diagnosis. It does not replace "
    "clinical judgement, and it is not a patient-facing symptom checker."
)


def urgency_rank(urgency: str) -> int:
    """Higher is more urgent: self_care 0 ... ambulance 5."""
    return len(URGENCIES) - 1 - URGENCIES.index(urgency)  # type: ignore[arg-type,unused-ignore]


@dataclass(frozen=True)
class Source:
    source_id: str
    title: str
    short_name: str
    publisher: str
    url: str | None
    kind: str
    checked_here: bool
    note: str | None


@dataclass(frozen=True)
class Condition:
    condition_id: str
    name: str
    group: str
    parent: str | None
    icd10cm: str | None
    icd10cm_note: str | None
    description: str
    evidence_note: str | None
    cant_miss: bool
    min_urgency: Urgency | None
    urgency_threshold: float | None
    threshold_basis: Basis | None
    threshold_source_id: str | None
    prognosis: str
    prognosis_source_id: str
    source_id: str


@dataclass(frozen=True)
class ConditionPrior:
    """How often a condition causes upper back pain in primary care, for an age band."""

    condition_id: str
    age_min: int
    age_max: int
    prior: float
    basis: Basis
    source_id: str
    note: str | None


@dataclass(frozen=True)
class Finding:
    finding_id: str
    label: str
    kind: FindingKind
    section: str
    help: str
    display_order: int
    #: Set for "aged N or older" findings: derived from the age when it is given.
    min_age: int | None
    source_id: str


@dataclass(frozen=True)
class TriageRule:
    rule_id: str
    urgency: Urgency
    label: str
    rationale: str
    source_id: str
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConditionFinding:
    condition_id: str
    finding_id: str
    lr_positive: float
    lr_negative: float
    basis: Basis
    note: str
    source_id: str


@dataclass(frozen=True)
class DiagnosticTest:
    test_id: str
    name: str
    category: str
    what_it_shows: str
    baseline: bool
    source_id: str


@dataclass(frozen=True)
class TestCondition:
    test_id: str
    condition_id: str
    reason: str
    source_id: str


@dataclass(frozen=True)
class Treatment:
    treatment_id: str
    name: str
    category: str
    access: str
    invasiveness: int
    description: str
    general: bool
    requires_finding: str | None
    evidence_note: str | None
    evidence_source_id: str | None
    source_id: str


@dataclass(frozen=True)
class TreatmentCondition:
    treatment_id: str
    condition_id: str
    note: str
    source_id: str


@dataclass(frozen=True)
class Contraindication:
    treatment_id: str
    finding_id: str
    action: Literal["avoid", "caution"]
    reason: str
    source_id: str


@dataclass(frozen=True)
class RiskFactor:
    risk_factor_id: str
    name: str
    modifiable: bool
    finding_id: str | None
    explanation: str
    prevention_advice: str
    source_id: str


@dataclass(frozen=True)
class Complication:
    complication_id: str
    name: str
    description: str
    source_id: str


@dataclass(frozen=True)
class Advice:
    urgency: Urgency
    headline: str
    advice: str
    safety_net: str
    source_id: str


@dataclass(frozen=True)
class ScreeningLimit:
    limit_id: str
    condition: str
    why_it_matters: str
    source_id: str


@dataclass(frozen=True)
class SafetyCase:
    case_id: str
    min_urgency: Urgency
    max_urgency: Urgency | None
    #: True: every question not in `answers` is answered no (a complete checklist).
    others_no: bool
    description: str
    source_id: str
    answers: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, eq=False)  # identity hash: the engine caches an index per instance
class KnowledgeBase:
    """The whole knowledge base, validated and read-only. Build it with `load_knowledge_base`."""

    folder: str
    version: str
    sources: Mapping[str, Source]
    conditions: Mapping[str, Condition]
    priors: tuple[ConditionPrior, ...]
    findings: Mapping[str, Finding]
    rules: Mapping[str, TriageRule]
    condition_findings: tuple[ConditionFinding, ...]
    tests: Mapping[str, DiagnosticTest]
    test_conditions: tuple[TestCondition, ...]
    treatments: Mapping[str, Treatment]
    treatment_conditions: tuple[TreatmentCondition, ...]
    contraindications: tuple[Contraindication, ...]
    risk_factors: Mapping[str, RiskFactor]
    complications: Mapping[str, Complication]
    advice: Mapping[str, Advice]
    screening_limits: tuple[ScreeningLimit, ...]
    safety_cases: Mapping[str, SafetyCase]
    #: Extra tables declared in the descriptor that the engine does not model (e.g. teaching
    #: cases): resource name -> rows as read-only mappings, typed from the descriptor.
    extra_tables: Mapping[str, tuple[Mapping[str, object], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def findings_in_order(self) -> tuple[Finding, ...]:
        """Checklist order: the most urgent red flags first, then history."""
        kind_rank = {k: i for i, k in enumerate((*RULE_URGENCIES, "history"))}
        return tuple(
            sorted(self.findings.values(), key=lambda f: (kind_rank[f.kind], f.display_order))
        )

    def source(self, source_id: str) -> Source:
        return self.sources[source_id]

    def case_answers(self, case: SafetyCase) -> dict[str, bool]:
        """A safety case's answers, with every other question answered no when it says so."""
        if not case.others_no:
            return dict(case.answers)
        return {**dict.fromkeys(self.findings, False), **case.answers}
