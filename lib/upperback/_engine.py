"""The assessment engine: red-flag triage, ranked causes, work-up, treatments and the reasons
for each. Pure and in-memory: no widgets, no printing, no files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any
from weakref import WeakKeyDictionary

from . import _model as m
from ._config import emergency_number as _configured_number
from ._errors import AnswerError

#: How many of the top-ranked causes drive the work-up and treatment suggestions.
LEADING_CAUSES = 3
_CATEGORY_ORDER = {"medication": 0, "non_drug": 1, "procedure_surgery": 2}


@dataclass(frozen=True)
class FiredRule:
    """A triage rule whose findings were all answered yes."""

    rule_id: str
    label: str
    urgency: m.Urgency
    findings: tuple[str, ...]
    rationale: str
    source_id: str


@dataclass(frozen=True)
class Evidence:
    """A finding that counts for or against a cause, with the strength of the link."""

    finding_id: str
    label: str
    strength: int
    note: str
    source_id: str


@dataclass(frozen=True)
class Candidate:
    """A likely cause: score = sum of strengths of linked findings answered yes, minus no."""

    condition_id: str
    name: str
    group: str
    parent: str | None
    icd10cm: str | None
    score: int
    supporting: tuple[Evidence, ...]
    against: tuple[Evidence, ...]
    source_id: str


@dataclass(frozen=True)
class WorkupItem:
    """A suggested test, for which causes and why."""

    test_id: str
    name: str
    category: str
    baseline: bool
    for_conditions: tuple[str, ...]
    reasons: tuple[str, ...]
    source_ids: tuple[str, ...]


@dataclass(frozen=True)
class TreatmentOption:
    """A treatment option for the leading causes (or general care when none stands out)."""

    treatment_id: str
    name: str
    category: str
    access: str
    invasiveness: int
    description: str
    for_conditions: tuple[str, ...]
    evidence_note: str | None
    evidence_source_id: str | None
    source_id: str
    #: Contraindicating questions still unanswered: ask them before offering it.
    check_before: tuple[str, ...] = ()


@dataclass(frozen=True)
class WithheldTreatment:
    """A treatment not offered because an answer contraindicates it."""

    treatment_id: str
    name: str
    findings: tuple[str, ...]
    reasons: tuple[str, ...]
    source_ids: tuple[str, ...]


@dataclass(frozen=True)
class PresentRiskFactor:
    risk_factor_id: str
    name: str
    modifiable: bool
    explanation: str
    prevention_advice: str
    source_id: str


@dataclass(frozen=True)
class DecisionChanger:
    """A question whose "yes" would raise the urgency to `new_urgency`."""

    finding_id: str
    label: str
    answered: bool | None
    new_urgency: m.Urgency


@dataclass(frozen=True)
class Assessment:
    """The result of `assess`: urgency first, then everything that explains it."""

    urgency: m.Urgency
    headline: str
    advice: str
    safety_net: str
    advice_source_id: str
    fired: tuple[FiredRule, ...]
    undecided_rules: tuple[str, ...]
    unanswered_red_flags: tuple[str, ...]
    unanswered_emergency: tuple[str, ...]
    emergency_screen_complete: bool
    candidates: tuple[Candidate, ...]
    workup: tuple[WorkupItem, ...]
    treatments: tuple[TreatmentOption, ...]
    withheld_treatments: tuple[WithheldTreatment, ...]
    treatments_secondary: bool
    risk_factors: tuple[PresentRiskFactor, ...]
    would_change: tuple[DecisionChanger, ...]
    screening_limits: tuple[m.ScreeningLimit, ...]
    answers: Mapping[str, bool]
    kb_version: str
    disclaimer: str
    emergency_number: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `upperback assess --json` (see docs/assess-json.md)."""
        return {
            "urgency": self.urgency,
            "headline": self.headline,
            "advice": self.advice,
            "safety_net": self.safety_net,
            "emergency_screen_complete": self.emergency_screen_complete,
            "fired": [{"rule": r.rule_id, "label": r.label, "urgency": r.urgency,
                       "findings": list(r.findings), "rationale": r.rationale,
                       "source": r.source_id} for r in self.fired],
            "unanswered_red_flags": list(self.unanswered_red_flags),
            "unanswered_emergency": list(self.unanswered_emergency),
            "candidates": [{"condition": c.condition_id, "parent": c.parent, "name": c.name,
                            "group": c.group, "icd10": c.icd10cm, "score": c.score,
                            "supporting": [e.finding_id for e in c.supporting],
                            "against": [e.finding_id for e in c.against],
                            "source": c.source_id} for c in self.candidates],
            "workup": [_plain(w) for w in self.workup],
            "treatments": [_plain(t) for t in self.treatments],
            "withheld_treatments": [_plain(t) for t in self.withheld_treatments],
            "treatments_secondary": self.treatments_secondary,
            "risk_factors": [_plain(r) for r in self.risk_factors],
            "would_change": [_plain(d) for d in self.would_change],
            "not_screened": [_plain(s) for s in self.screening_limits],
            "answers": dict(self.answers),
            "kb_version": self.kb_version,
            "disclaimer": self.disclaimer,
        }


def _plain(record: Any) -> dict[str, Any]:
    """A record as JSON-ready data (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(record).items()}


@dataclass(frozen=True)
class _Index:
    """Per-knowledge-base lookups, built once so each assessment is set arithmetic."""

    rules: tuple[m.TriageRule, ...]  # screening rules, most urgent first
    links_by_condition: Mapping[str, tuple[m.ConditionFinding, ...]]
    tests_by_condition: Mapping[str, tuple[m.TestCondition, ...]]
    treatments_by_condition: Mapping[str, tuple[m.TreatmentCondition, ...]]
    contraindications: Mapping[str, tuple[m.Contraindication, ...]]
    rules_by_finding: Mapping[str, tuple[m.TriageRule, ...]]
    order: Mapping[str, int]  # checklist position of each finding


_INDEXES: WeakKeyDictionary[m.KnowledgeBase, _Index] = WeakKeyDictionary()


def _index(kb: m.KnowledgeBase) -> _Index:
    idx = _INDEXES.get(kb)
    if idx is None:
        def group(rows: tuple[Any, ...], key: str) -> Mapping[str, tuple[Any, ...]]:
            out: dict[str, list[Any]] = defaultdict(list)
            for r in rows:
                out[getattr(r, key)].append(r)
            return MappingProxyType({k: tuple(v) for k, v in out.items()})

        rules = tuple(sorted(kb.rules.values(),
                             key=lambda r: (-m.urgency_rank(r.urgency), r.rule_id)))
        by_finding: dict[str, list[m.TriageRule]] = defaultdict(list)
        for r in rules:
            for f in r.findings:
                by_finding[f].append(r)
        idx = _Index(
            rules=rules,
            links_by_condition=group(kb.condition_findings, "condition_id"),
            tests_by_condition=group(kb.test_conditions, "condition_id"),
            treatments_by_condition=group(kb.treatment_conditions, "condition_id"),
            contraindications=group(kb.contraindications, "treatment_id"),
            rules_by_finding=MappingProxyType({k: tuple(v) for k, v in by_finding.items()}),
            order={f.finding_id: i for i, f in enumerate(kb.findings_in_order())},
        )
        _INDEXES[kb] = idx
    return idx


def rules_in_order(kb: m.KnowledgeBase) -> tuple[m.TriageRule, ...]:
    """Triage rules in the order `Assessment.fired` lists them: most urgent first, then id."""
    return _index(kb).rules


def check_answers(answers: Mapping[str, object], kb: m.KnowledgeBase) -> dict[str, bool]:
    """A validated copy of the answers; raises AnswerError naming any bad id or value."""
    if not isinstance(answers, Mapping):
        raise AnswerError(f"answers must be a mapping of finding id to true/false, "
                          f"not {type(answers).__name__}")
    unknown = sorted(str(k) for k in answers if k not in kb.findings)
    if unknown:
        raise AnswerError(f"unknown finding id{'s' * (len(unknown) > 1)}: {', '.join(unknown)} "
                          "(see `upperback findings` for the ids)")
    bad = sorted(k for k, v in answers.items() if not isinstance(v, bool))
    if bad:
        # the value itself is patient data and may end up in logs: name its type only
        raise AnswerError("answers must be true or false: " + ", ".join(
            f"{k} is {type(answers[k]).__name__}" for k in bad))
    return {str(k): bool(v) for k, v in answers.items()}


def _status(rule: m.TriageRule, answers: Mapping[str, bool]) -> str:
    values = [answers.get(f) for f in rule.findings]
    if any(v is False for v in values):
        return "ruled_out"
    return "fired" if all(v is True for v in values) else "undecided"


def _decide(fired: set[str], undecided: bool) -> m.Urgency:
    if "emergency" in fired:
        return "emergency"
    if "see_provider" in fired:
        return "see_provider"
    return "incomplete" if undecided else "self_care"


def triage(answers: Mapping[str, bool], kb: m.KnowledgeBase) -> m.Urgency:
    """Urgency alone (answers already checked): the most urgent fired rule; `incomplete` while a
    rule could still fire; `self_care` only when none can."""
    fired: set[str] = set()
    undecided = False
    for rule in _index(kb).rules:
        s = _status(rule, answers)
        if s == "fired":
            fired.add(rule.urgency)
        elif s == "undecided":
            undecided = True
    return _decide(fired, undecided)


def assess(
    answers: Mapping[str, object],
    kb: m.KnowledgeBase | None = None,
    *,
    emergency_number: str | None = None,
) -> Assessment:
    """Assess one patient's answers (finding id -> True/False; ids left out are unanswered).

    Raises AnswerError for an unknown id or a value that is not a bool. `answers` is not
    modified. `kb` defaults to the knowledge base in `default_data_dir()`.
    """
    if kb is None:
        from ._loader import load_knowledge_base

        kb = load_knowledge_base()
    given = check_answers(answers, kb)
    idx = _index(kb)
    number = emergency_number or _configured_number()

    status = {rule.rule_id: _status(rule, given) for rule in idx.rules}
    fired: list[FiredRule] = []
    undecided: list[m.TriageRule] = []
    for rule in idx.rules:
        s = status[rule.rule_id]
        if s == "fired":
            fired.append(FiredRule(rule.rule_id, rule.label, rule.urgency, rule.findings,
                                   rule.rationale, rule.source_id))
        elif s == "undecided":
            undecided.append(rule)
    urgency = _decide({r.urgency for r in fired}, bool(undecided))

    def open_findings(rules: list[m.TriageRule]) -> tuple[str, ...]:
        ids = {f for r in rules for f in r.findings if f not in given}
        return tuple(sorted(ids, key=idx.order.__getitem__))

    unanswered_emergency = open_findings([r for r in undecided if r.urgency == "emergency"])
    advice = kb.advice[urgency]
    candidates = _candidates(given, kb, idx)
    leading = [c.condition_id for c in candidates[:LEADING_CAUSES]]
    treatments, withheld = _treatments(given, kb, idx, leading, urgency)
    return Assessment(
        urgency=urgency,
        headline=advice.headline.replace("{emergency_number}", number),
        advice=advice.advice.replace("{emergency_number}", number),
        safety_net=advice.safety_net.replace("{emergency_number}", number),
        advice_source_id=advice.source_id,
        fired=tuple(fired),
        undecided_rules=tuple(r.rule_id for r in undecided),
        unanswered_red_flags=open_findings(undecided),
        unanswered_emergency=unanswered_emergency,
        emergency_screen_complete=not unanswered_emergency,
        candidates=candidates,
        workup=_workup(kb, idx, leading),
        treatments=treatments,
        withheld_treatments=withheld,
        treatments_secondary=urgency == "emergency",
        risk_factors=tuple(
            PresentRiskFactor(r.risk_factor_id, r.name, r.modifiable, r.explanation,
                              r.prevention_advice, r.source_id)
            for r in kb.risk_factors.values() if r.finding_id and given.get(r.finding_id)
        ),
        would_change=_would_change(given, kb, idx, urgency, status),
        screening_limits=kb.screening_limits,
        answers=MappingProxyType(given),
        kb_version=kb.version,
        disclaimer=m.DISCLAIMER,
        emergency_number=number,
    )


def _candidates(given: dict[str, bool], kb: m.KnowledgeBase, idx: _Index) -> tuple[Candidate, ...]:
    out = []
    for cid, links in idx.links_by_condition.items():
        def ev(link: m.ConditionFinding) -> Evidence:
            return Evidence(link.finding_id, kb.findings[link.finding_id].label, link.strength,
                            link.note, link.source_id)

        supporting = tuple(ev(x) for x in links if given.get(x.finding_id) is True)
        if not supporting:
            continue
        against = tuple(ev(x) for x in links if given.get(x.finding_id) is False)
        c = kb.conditions[cid]
        out.append(Candidate(
            cid, c.name, c.group, c.parent, c.icd10cm,
            sum(e.strength for e in supporting) - sum(e.strength for e in against),
            supporting, against, c.source_id,
        ))
    # Deterministic order: score, then more supporting findings, then id.
    out.sort(key=lambda c: (-c.score, -len(c.supporting), c.condition_id))
    return tuple(c for c in out if c.score > 0)


def _workup(kb: m.KnowledgeBase, idx: _Index, leading: list[str]) -> tuple[WorkupItem, ...]:
    reasons: dict[str, list[m.TestCondition]] = {t: [] for t, x in kb.tests.items() if x.baseline}
    for cid in leading:
        for link in idx.tests_by_condition.get(cid, ()):
            reasons.setdefault(link.test_id, []).append(link)
    items = []
    for tid, links in reasons.items():
        t = kb.tests[tid]
        why = tuple(f"{kb.conditions[x.condition_id].name}: {x.reason}" for x in links)
        items.append(WorkupItem(
            tid, t.name, t.category, t.baseline, tuple(x.condition_id for x in links),
            why or (f"Part of every back-pain assessment: {t.what_it_shows}",),
            tuple(dict.fromkeys([t.source_id, *(x.source_id for x in links)])),
        ))
    items.sort(key=lambda w: (not w.baseline, -len(w.for_conditions), w.test_id))
    return tuple(items)


def _treatments(
    given: dict[str, bool], kb: m.KnowledgeBase, idx: _Index, leading: list[str],
    urgency: m.Urgency,
) -> tuple[tuple[TreatmentOption, ...], tuple[WithheldTreatment, ...]]:
    serves: dict[str, list[str]] = {}
    for cid in leading:
        for link in idx.treatments_by_condition.get(cid, ()):
            serves.setdefault(link.treatment_id, []).append(cid)
    if not serves:  # no cause stands out: general care for non-specific back pain
        serves = {tid: [] for tid, t in kb.treatments.items() if t.general}
    # The self-care advice always mentions general care (e.g. OTC pain relief), so general
    # treatments are checked for contraindications even when a cause's options are listed.
    candidates = {**{tid: [] for tid, t in kb.treatments.items() if t.general}, **serves}
    options, withheld = [], []
    for tid, conds in candidates.items():
        t = kb.treatments[tid]
        rules = idx.contraindications.get(tid, ())
        blocks = [c for c in rules if given.get(c.finding_id) is True]
        if blocks:
            withheld.append(WithheldTreatment(
                tid, t.name, tuple(c.finding_id for c in blocks), tuple(c.reason for c in blocks),
                tuple(c.source_id for c in blocks)))
            continue
        if tid not in serves:
            continue
        if urgency == "self_care" and t.category == "procedure_surgery":
            continue  # procedures need a provider's assessment first; not offered as self-care
        options.append(TreatmentOption(
            tid, t.name, t.category, t.access, t.invasiveness, t.description, tuple(conds),
            t.evidence_note, t.evidence_source_id, t.source_id,
            # an unanswered contraindication is not a "no": ask it first
            tuple(c.finding_id for c in rules if c.finding_id not in given)))
    options.sort(key=lambda o: (_CATEGORY_ORDER[o.category], o.invasiveness, o.treatment_id))
    withheld.sort(key=lambda w: w.treatment_id)
    return tuple(options), tuple(withheld)


def _would_change(
    given: dict[str, bool], kb: m.KnowledgeBase, idx: _Index, urgency: m.Urgency,
    status: Mapping[str, str],
) -> tuple[DecisionChanger, ...]:
    # Setting one finding to yes only changes the rules that contain it: re-decide from the
    # other rules' statuses instead of re-running the whole triage per question.
    now = m.urgency_rank(urgency)
    out = []
    for fid, rules in idx.rules_by_finding.items():
        if given.get(fid) is True:
            continue
        trial = {**given, fid: True}
        after = {**status, **{r.rule_id: _status(r, trial) for r in rules}}
        new = _decide({r.urgency for r in idx.rules if after[r.rule_id] == "fired"},
                      "undecided" in after.values())
        if m.urgency_rank(new) > now:
            out.append(DecisionChanger(fid, kb.findings[fid].label, given.get(fid), new))
    out.sort(key=lambda d: (-m.urgency_rank(d.new_urgency), idx.order[d.finding_id]))
    return tuple(out)
