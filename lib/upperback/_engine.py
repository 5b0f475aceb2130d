"""The assessment engine: red-flag triage, ranked causes, work-up, treatments and the reasons
for each. Pure and in-memory: no widgets, no printing, no files."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any
from weakref import WeakKeyDictionary

from . import _model as m
from ._config import emergency_number as _configured_number
from ._errors import AnswerError
from ._rules import (
    FIRED,
    OPEN,
    RULED_OUT,
    RulePlan,
    age_interval,
    compile_plan,
    decide,
    floor_rank,
    log_odds,
    prior_logits,
    priors_for,
    rule_counts,
    rule_status,
    triage_one,
)
from .lookup import CATEGORY_ORDER, causes_of, contraindications_of, tests_of, treatments_of

#: How many of the top-ranked causes drive the work-up and treatment suggestions.
LEADING_CAUSES = 3


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
    """An answer that moved a cause's estimate, with the likelihood ratio applied."""

    finding_id: str
    label: str
    answer: bool
    #: The likelihood ratio this answer applied (LR+ for a yes, LR- for a no).
    likelihood_ratio: float
    basis: m.Basis
    note: str
    source_id: str


@dataclass(frozen=True)
class Candidate:
    """A possible cause with its estimated probability (prior odds x likelihood ratios of the
    answers). An estimate for ranking, with its weakest `basis` shown: never a diagnosis."""

    condition_id: str
    name: str
    group: str
    parent: str | None
    icd10cm: str | None
    probability: float
    prior: float
    prior_basis: m.Basis
    prior_source_id: str
    #: The weakest basis among the prior and the likelihood ratios used.
    basis: m.Basis
    supporting: tuple[Evidence, ...]
    against: tuple[Evidence, ...]
    cant_miss: bool
    #: True when this cause's probability passed its threshold and sets a minimum urgency.
    raises_urgency: bool
    min_urgency: m.Urgency | None
    prognosis: str
    prognosis_source_id: str
    source_id: str
    #: Finer conditions under this one (e.g. spinal metastasis under spinal tumour).
    subtypes: tuple[Candidate, ...] = ()


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
    #: Answers that call for caution with it: (finding id, reason, source id).
    cautions: tuple[tuple[str, str, str], ...] = ()


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
    #: Top-level causes, most likely first; subtypes nested. Never empty.
    candidates: tuple[Candidate, ...]
    #: Causes whose probability set the urgency above what the rules alone give.
    raised_by: tuple[str, ...]
    #: Can't-miss causes with at least one answer for them, most likely first: shown even
    #: when less likely than benign causes.
    cant_miss: tuple[Candidate, ...]
    workup: tuple[WorkupItem, ...]
    treatments: tuple[TreatmentOption, ...]
    withheld_treatments: tuple[WithheldTreatment, ...]
    treatments_secondary: bool
    risk_factors: tuple[PresentRiskFactor, ...]
    would_change: tuple[DecisionChanger, ...]
    screening_limits: tuple[m.ScreeningLimit, ...]
    complications: tuple[m.Complication, ...]
    answers: Mapping[str, bool]
    #: Findings filled in from the age (e.g. age_50_or_older) rather than answered.
    derived: tuple[str, ...]
    age: int | None
    sex: m.Sex | None
    kb_version: str
    disclaimer: str
    emergency_number: str

    def leading(self, n: int = LEADING_CAUSES) -> tuple[str, ...]:
        """The ids of the `n` most likely top-level causes and all their subtypes (a subtype
        counts as its parent's answer)."""
        out: list[str] = []

        def walk(c: Candidate) -> None:
            out.append(c.condition_id)
            for s in c.subtypes:
                walk(s)

        for c in self.candidates[:n]:
            walk(c)
        return tuple(out)

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
            "raised_by": list(self.raised_by),
            "cant_miss": [c.condition_id for c in self.cant_miss],
            "unanswered_red_flags": list(self.unanswered_red_flags),
            "unanswered_emergency": list(self.unanswered_emergency),
            "candidates": [_candidate_json(c) for c in self.candidates],
            "workup": [_plain(w) for w in self.workup],
            "treatments": [_plain(t) for t in self.treatments],
            "withheld_treatments": [_plain(t) for t in self.withheld_treatments],
            "treatments_secondary": self.treatments_secondary,
            "risk_factors": [_plain(r) for r in self.risk_factors],
            "would_change": [_plain(d) for d in self.would_change],
            "not_screened": [_plain(s) for s in self.screening_limits],
            "complications": [_plain(c) for c in self.complications],
            "answers": dict(self.answers),
            "derived": list(self.derived),
            "age": self.age,
            "sex": self.sex,
            "kb_version": self.kb_version,
            "disclaimer": self.disclaimer,
        }


def _candidate_json(c: Candidate) -> dict[str, Any]:
    def ev(e: Evidence) -> dict[str, Any]:
        return {"finding": e.finding_id, "answer": e.answer, "lr": e.likelihood_ratio,
                "basis": e.basis, "source": e.source_id}

    return {"condition": c.condition_id, "parent": c.parent, "name": c.name, "group": c.group,
            "icd10": c.icd10cm, "probability": round(c.probability, 4),
            "prior": c.prior, "prior_basis": c.prior_basis, "prior_source": c.prior_source_id,
            "basis": c.basis, "cant_miss": c.cant_miss, "raises_urgency": c.raises_urgency,
            "min_urgency": c.min_urgency,
            "supporting": [ev(e) for e in c.supporting], "against": [ev(e) for e in c.against],
            "prognosis": c.prognosis, "prognosis_source": c.prognosis_source_id,
            "source": c.source_id, "subtypes": [_candidate_json(s) for s in c.subtypes]}


def _plain(record: Any) -> dict[str, Any]:
    """A record as JSON-ready data (tuples become lists)."""
    return {k: [list(x) if isinstance(x, tuple) else x for x in v] if isinstance(v, tuple) else v
            for k, v in asdict(record).items()}


@dataclass(frozen=True)
class _Index:
    """Per-knowledge-base lookups, built once so each assessment is set arithmetic."""

    children: Mapping[str, tuple[str, ...]]
    order: Mapping[str, int]  # checklist position of each finding
    #: finding -> ((condition id, evidence if yes, evidence if no), ...): built once
    evidence_by_finding: Mapping[str, tuple[tuple[str, Evidence, Evidence], ...]]


_INDEXES: WeakKeyDictionary[m.KnowledgeBase, _Index] = WeakKeyDictionary()


def _index(kb: m.KnowledgeBase) -> _Index:
    idx = _INDEXES.get(kb)
    if idx is None:
        def evidence(x: m.ConditionFinding, answer: bool) -> Evidence:
            return Evidence(x.finding_id, kb.findings[x.finding_id].label, answer,
                            x.lr_positive if answer else x.lr_negative, x.basis, x.note,
                            x.source_id)

        children: dict[str, list[str]] = defaultdict(list)
        for c in kb.conditions.values():
            if c.parent:
                children[c.parent].append(c.condition_id)
        idx = _Index(
            children=MappingProxyType({k: tuple(v) for k, v in children.items()}),
            order={f.finding_id: i for i, f in enumerate(kb.findings_in_order())},
            evidence_by_finding=MappingProxyType({
                fid: tuple((x.condition_id, evidence(x, True), evidence(x, False))
                           for x in causes_of(kb, fid))
                for fid in kb.findings
            }),
        )
        _INDEXES[kb] = idx
    return idx


@dataclass(frozen=True)
class Answers:
    """Checked answers: finding booleans (with age-derived findings filled in), age and sex."""

    findings: Mapping[str, bool]
    derived: tuple[str, ...]
    age: int | None
    sex: m.Sex | None


#: Keys of `answers` that are not finding ids.
PATIENT_KEYS = ("age", "sex")


def check_patient(answers: Mapping[str, object], kb: m.KnowledgeBase) -> Answers:
    """Validated answers; raises AnswerError naming any bad key (never echoing a value)."""
    if not isinstance(answers, Mapping):
        raise AnswerError(f"answers must be a mapping of finding id to true/false, "
                          f"not {type(answers).__name__}")
    rest = {k: v for k, v in answers.items() if k not in PATIENT_KEYS}
    findings = check_answers(rest, kb)
    age, sex = answers.get("age"), answers.get("sex")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int)
                            or not m.AGE_RANGE[0] <= age <= m.AGE_RANGE[1]):
        # the value is patient data: name the key and what is expected, never the value
        raise AnswerError(f"age must be a whole number of years from {m.AGE_RANGE[0]} to "
                          f"{m.AGE_RANGE[1]} (got a {type(age).__name__} outside that)")
    if sex is not None and sex not in m.SEXES:
        raise AnswerError(f"sex must be one of {', '.join(m.SEXES)} (or left out)")
    derived = []
    for f in kb.findings.values():
        if f.min_age is None:
            continue
        if isinstance(age, int):
            value = age >= f.min_age
            if f.finding_id in findings and findings[f.finding_id] != value:
                raise AnswerError(f"age and {f.finding_id} disagree: give one of them, or "
                                  "correct the other")
            if f.finding_id not in findings:
                derived.append(f.finding_id)
            findings[f.finding_id] = value
    plan = compile_plan(kb)
    lo, hi = m.AGE_RANGE
    said: list[str] = []
    for fid, years in plan.min_age.items():
        if findings.get(fid) is True:
            lo = max(lo, years)
            said.append(fid)
        elif findings.get(fid) is False:
            hi = min(hi, years - 1)
            said.append(fid)
    if lo > hi:
        raise AnswerError(f"the age answers contradict each other ({', '.join(sorted(said))}): "
                          "correct them")
    if sex == "male" and findings.get("pregnancy") is True:
        raise AnswerError("sex and pregnancy disagree: correct one of them")
    return Answers(findings, tuple(derived), age if isinstance(age, int) else None, sex)


def check_answers(answers: Mapping[str, object], kb: m.KnowledgeBase) -> dict[str, bool]:
    """A validated copy of the finding answers; raises AnswerError naming any bad id or value."""
    if not isinstance(answers, Mapping):
        raise AnswerError(f"answers must be a mapping of finding id to true/false, "
                          f"not {type(answers).__name__}")
    unknown = sorted(str(k) for k in answers if k not in kb.findings)
    if unknown:
        raise AnswerError(f"unknown finding id{'s' * (len(unknown) > 1)}: {', '.join(unknown)} "
                          "(see `upperback findings` for the ids; `age` and `sex` are the only "
                          "other keys)")
    bad = sorted(k for k, v in answers.items() if not isinstance(v, bool))
    if bad:
        # the value itself is patient data and may end up in logs: name its type only
        raise AnswerError("answers must be true or false: " + ", ".join(
            f"{k} is {type(answers[k]).__name__}" for k in bad))
    return {str(k): bool(v) for k, v in answers.items()}


def triage(answers: Mapping[str, object], kb: m.KnowledgeBase) -> m.Urgency:
    """Urgency alone: the most urgent fired rule or cause floor; `incomplete` while a rule
    could still fire; `self_care` only when none can. Same plan as `assess`."""
    checked = check_patient(answers, kb)
    return triage_one(kb, checked.findings, checked.age)


def assess(
    answers: Mapping[str, object],
    kb: m.KnowledgeBase | None = None,
    *,
    emergency_number: str | None = None,
) -> Assessment:
    """Assess one patient's answers: finding id -> True/False (ids left out are unanswered),
    plus optional `age` (whole years) and `sex` ("female" or "male").

    Raises AnswerError for an unknown key or a bad value. `answers` is not modified. `kb`
    defaults to the knowledge base in `default_data_dir()`.
    """
    if kb is None:
        from ._loader import load_knowledge_base

        kb = load_knowledge_base()
    checked = check_patient(answers, kb)
    given = checked.findings
    idx = _index(kb)
    plan = compile_plan(kb)
    number = emergency_number or _configured_number()

    status = rule_status(plan, given)
    odds = log_odds(kb, plan, given, checked.age)
    floor = floor_rank(plan, odds)
    urgency = decide(plan, status, floor)
    fired = [FiredRule(r.rule_id, r.label, r.urgency, r.findings, r.rationale, r.source_id)
             for r, s in zip(plan.rules, status, strict=True) if s == FIRED]
    undecided = [r for r, s in zip(plan.rules, status, strict=True) if s == OPEN]
    rule_top = max((m.urgency_rank(r.urgency) for r in fired), default=-1)
    raising = {f.condition_id for f in plan.floors if odds[f.condition] >= f.log_odds}
    raised_by = tuple(
        f.condition_id for f in sorted(plan.floors, key=lambda f: -odds[f.condition])
        if f.condition_id in raising and f.rank > rule_top and f.rank == m.urgency_rank(urgency)
    )

    def open_findings(rules: list[m.TriageRule]) -> tuple[str, ...]:
        ids = {f for r in rules for f in r.findings if f not in given}
        return tuple(sorted(ids, key=idx.order.__getitem__))

    emergency_rank = m.urgency_rank("emergency")
    unanswered_emergency = open_findings(
        [r for r in undecided if m.urgency_rank(r.urgency) >= emergency_rank])
    unanswered = open_findings(undecided)
    advice = kb.advice[urgency]
    probability = {cid: _prob(x) for cid, x in zip(plan.conditions, odds, strict=True)}
    lo, hi = age_interval(plan, given, checked.age)
    candidates = _candidates(given, kb, idx, probability, raising, lo, hi)
    leading = _leading(candidates, raising)
    treatments, withheld = _treatments(given, kb, leading, urgency)
    return Assessment(
        urgency=urgency,
        headline=advice.headline.replace("{emergency_number}", number),
        advice=advice.advice.replace("{emergency_number}", number),
        safety_net=advice.safety_net.replace("{emergency_number}", number),
        advice_source_id=advice.source_id,
        fired=tuple(fired),
        undecided_rules=tuple(r.rule_id for r in undecided),
        unanswered_red_flags=unanswered,
        unanswered_emergency=unanswered_emergency,
        emergency_screen_complete=not unanswered_emergency,
        candidates=candidates,
        raised_by=raised_by,
        cant_miss=_cant_miss(candidates),
        workup=_workup(kb, leading),
        treatments=treatments,
        withheld_treatments=withheld,
        treatments_secondary=m.urgency_rank(urgency) >= emergency_rank,
        risk_factors=tuple(
            PresentRiskFactor(r.risk_factor_id, r.name, r.modifiable, r.explanation,
                              r.prevention_advice, r.source_id)
            for r in kb.risk_factors.values() if r.finding_id and given.get(r.finding_id)
        ),
        would_change=_would_change(kb, plan, checked, urgency, status, odds,
                                   set(unanswered) if urgency == "incomplete" else set()),
        screening_limits=kb.screening_limits,
        complications=tuple(kb.complications.values()),
        answers=MappingProxyType(dict(given)),
        derived=checked.derived,
        age=checked.age,
        sex=checked.sex,
        kb_version=kb.version,
        disclaimer=m.DISCLAIMER,
        emergency_number=number,
    )


def _prob(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-log_odds)) if log_odds > -700 else 0.0


#: A "no" counts as evidence against a cause only when it lowers the odds at least this much:
#: a no to an insensitive finding (LR- near 1) says little and is not listed.
AGAINST_BELOW = 0.8


def _candidates(
    given: Mapping[str, bool], kb: m.KnowledgeBase, idx: _Index,
    probability: Mapping[str, float], raising: set[str], lo: int, hi: int,
) -> tuple[Candidate, ...]:
    priors = priors_for(kb, lo, hi)
    # Walk the answers, not every link: a checklist answers a fraction of the findings.
    moved: dict[str, tuple[list[Evidence], list[Evidence]]] = {}
    for fid, v in given.items():
        for cid, if_yes, if_no in idx.evidence_by_finding.get(fid, ()):
            e = if_yes if v else if_no
            lr = e.likelihood_ratio
            if lr > 1:
                moved.setdefault(cid, ([], []))[0].append(e)
            elif lr < AGAINST_BELOW or (v and lr < 1):
                moved.setdefault(cid, ([], []))[1].append(e)
    rank = {b: i for i, b in enumerate(m.BASES)}
    none: tuple[list[Evidence], list[Evidence]] = ([], [])

    def one(cid: str) -> Candidate:
        c = kb.conditions[cid]
        prior = priors[cid]
        supporting, against = moved.get(cid, none)
        weakest = rank[prior.basis]
        if supporting or against:
            if len(supporting) > 1:
                supporting = sorted(supporting, key=lambda e: (-e.likelihood_ratio, e.finding_id))
            if len(against) > 1:
                against = sorted(against, key=lambda e: (e.likelihood_ratio, e.finding_id))
            for e in (*supporting, *against):
                weakest = min(weakest, rank[e.basis])
        kids = idx.children.get(cid)
        subs = sorted((one(k) for k in kids), key=lambda s: (-s.probability, s.condition_id)
                      ) if kids else ()
        return Candidate(
            cid, c.name, c.group, c.parent, c.icd10cm, probability[cid], prior.prior,
            prior.basis, prior.source_id, m.BASES[weakest], tuple(supporting),
            tuple(against), c.cant_miss, cid in raising, c.min_urgency, c.prognosis,
            c.prognosis_source_id, c.source_id, tuple(subs))

    def top(c: Candidate) -> float:
        return max([c.probability, *(top(s) for s in c.subtypes)]) if c.subtypes else (
            c.probability)

    roots = [one(cid) for cid, c in kb.conditions.items() if not c.parent]
    # Deterministic: most likely first (a parent ranks by its likeliest subtype), then id.
    keyed = sorted(((-top(c), c.condition_id, c) for c in roots), key=lambda t: t[:2])
    return tuple(t[2] for t in keyed)


def _cant_miss(candidates: tuple[Candidate, ...]) -> tuple[Candidate, ...]:
    out: list[Candidate] = []

    def walk(c: Candidate) -> None:
        if c.cant_miss and c.supporting:
            out.append(c)
        for s in c.subtypes:
            walk(s)

    for c in candidates:
        walk(c)
    return tuple(sorted(out, key=lambda c: (-c.probability, c.condition_id)))


#: A parent's likeliest subtype drives work-up and treatment when at least this share of it.
SUBTYPE_SHARE = 0.25


def _leading(candidates: tuple[Candidate, ...], raising: set[str]) -> list[str]:
    """The causes that drive work-up and treatment: the leading causes (each with its likeliest
    subtype) plus any cause whose probability raised the urgency."""
    out: list[str] = []

    def walk(c: Candidate) -> None:
        out.append(c.condition_id)
        # a subtype leads only when it carries a real share of its parent's estimate
        if c.subtypes and c.subtypes[0].probability >= SUBTYPE_SHARE * c.probability:
            walk(c.subtypes[0])

    for c in candidates[:LEADING_CAUSES]:
        walk(c)

    def raised(c: Candidate) -> None:
        if c.condition_id in raising and c.condition_id not in out:
            out.append(c.condition_id)
        for s in c.subtypes:
            raised(s)

    for c in candidates:
        raised(c)
    return out


def _workup(kb: m.KnowledgeBase, leading: list[str]) -> tuple[WorkupItem, ...]:
    reasons: dict[str, list[m.TestCondition]] = {t: [] for t, x in kb.tests.items() if x.baseline}
    for cid in leading:
        for link in tests_of(kb, cid):
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
    given: Mapping[str, bool], kb: m.KnowledgeBase, leading: list[str], urgency: m.Urgency,
) -> tuple[tuple[TreatmentOption, ...], tuple[WithheldTreatment, ...]]:
    # General care (activity, heat, simple analgesia) suits every back pain; the leading
    # causes add their own options.
    serves: dict[str, list[str]] = {tid: [] for tid, t in kb.treatments.items() if t.general}
    for cid in leading:
        for link in treatments_of(kb, cid):
            serves.setdefault(link.treatment_id, []).append(cid)
    options, withheld = [], []
    for tid, conds in serves.items():
        t = kb.treatments[tid]
        rules = contraindications_of(kb, tid)
        blocks = [c for c in rules if c.action == "avoid" and given.get(c.finding_id) is True]
        if blocks:
            withheld.append(WithheldTreatment(
                tid, t.name, tuple(c.finding_id for c in blocks), tuple(c.reason for c in blocks),
                tuple(c.source_id for c in blocks)))
            continue
        if t.requires_finding and given.get(t.requires_finding) is not True:
            continue  # e.g. no surgery for pain of a few days
        if urgency == "self_care" and t.category == "procedure_surgery":
            continue  # procedures need a provider's assessment first; not offered as self-care
        cautions = tuple((c.finding_id, c.reason, c.source_id) for c in rules
                         if c.action == "caution" and given.get(c.finding_id) is True)
        options.append(TreatmentOption(
            tid, t.name, t.category, t.access, t.invasiveness, t.description, tuple(conds),
            t.evidence_note, t.evidence_source_id, t.source_id,
            # an unanswered contraindication is not a "no": ask it first
            tuple(c.finding_id for c in rules if c.finding_id not in given), cautions))
    options.sort(key=lambda o: (o.invasiveness, CATEGORY_ORDER[o.category], bool(o.cautions),
                                not o.for_conditions, o.treatment_id))
    withheld.sort(key=lambda w: w.treatment_id)
    return tuple(options), tuple(withheld)


def _would_change(
    kb: m.KnowledgeBase, plan: RulePlan, checked: Answers, urgency: m.Urgency,
    status: list[str], odds: list[float], listed: set[str],
) -> tuple[DecisionChanger, ...]:
    # A "yes" to one finding only changes the rules and causes that contain it, and a fired
    # rule stays fired: update the fired maximum, the open count and the changed causes'
    # odds instead of re-running the whole triage per question. Questions the incomplete
    # banner already lists are not repeated; findings derived from a given age are fixed.
    given = checked.findings
    now = m.urgency_rank(urgency)
    idx = _index(kb)
    age_fixed = set(plan.min_age) if checked.age is not None else set()
    fired_top = max((r for r, s in zip(plan.rule_rank, status, strict=True) if s == FIRED),
                    default=-1)
    open_count = status.count(OPEN)
    counts = rule_counts(plan, given)
    floor_now = floor_rank(plan, odds)
    priors_now = prior_logits(plan, *age_interval(plan, given, checked.age))
    see_provider = m.urgency_rank("see_provider")
    out = []
    for fid in plan.finding_ids:
        if given.get(fid) is True or fid in listed or fid in age_fixed:
            continue
        rules = plan.rules_by_finding.get(fid, ())
        links = plan.finding_links.get(fid, ())
        top, opened = max(fired_top, floor_now), open_count
        was_no = given.get(fid) is False
        for i in rules:
            yes, no = counts[i]
            yes, no = yes + 1, no - was_no
            if no:
                new_state = RULED_OUT
            elif yes == len(plan.rule_columns[i]):
                new_state = FIRED
                top = max(top, plan.rule_rank[i])
            else:
                new_state = OPEN
            opened += (new_state == OPEN) - (status[i] == OPEN)
        if fid in plan.min_age:  # the age band of the prior may change too
            lo, hi = age_interval(plan, {**given, fid: True}, None)
            if lo > hi:
                continue  # a yes here would contradict another age answer
            new = prior_logits(plan, lo, hi)
            shifted = [x - a + b for x, a, b in zip(odds, priors_now, new, strict=True)]
            for ci, lpos, lneg in links:  # and its own links, if a cause has any
                shifted[ci] += lpos - (lneg if given.get(fid) is False else 0.0)
            top = max(top, floor_rank(plan, shifted))
        else:
            # a floor's links only raise it on a yes (validated), so only the linked causes'
            # floors can newly apply
            for ci, lpos, lneg in links:
                for f in plan.floors_by_condition.get(ci, ()):
                    if odds[ci] + lpos - (lneg if was_no else 0.0) >= f.log_odds:
                        top = max(top, f.rank)
        rank = top if top >= see_provider else (
            m.urgency_rank("incomplete") if opened else m.urgency_rank("self_care"))
        if rank > now:
            out.append(DecisionChanger(fid, kb.findings[fid].label, given.get(fid),
                                       m.URGENCIES[len(m.URGENCIES) - 1 - rank]))
    out.sort(key=lambda d: (-m.urgency_rank(d.new_urgency), idx.order[d.finding_id]))
    return tuple(out)
