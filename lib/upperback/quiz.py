"""Teaching logic: the teaching cases, the emergency-room drill, quiz scoring, and the data views
behind the teaching charts. Pure and typed: no widgets, no display. Every fact comes from the
knowledge base, so an analyst's edit flows into the teaching material."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from . import _model as m
from ._citation import citation
from ._engine import LEADING_CAUSES, Assessment, assess
from ._errors import AnswerError, KnowledgeBaseError, Problem

#: Cause families in teaching order; the heart-attack warning comes last, set apart.
GROUPS: tuple[str, ...] = (
    "mechanical", "degenerative", "structural", "systemic_organ", "pregnancy", "cardiac",
)
GROUP_LABELS: Mapping[str, str] = MappingProxyType({
    "mechanical": "Mechanical (muscles, ligaments, posture)",
    "degenerative": "Degenerative (wear of discs and joints)",
    "structural": "Structural (fractures and deformities)",
    "systemic_organ": "Systemic and organ causes",
    "pregnancy": "Pregnancy",
    "cardiac": "Heart-attack warning",
})
#: Teaching wording, deliberately not `widgets._common.URGENCY_WORDS` ("See a provider",
#: "Incomplete"): learners pick these as quiz answers and read them inside sentences, so each
#: says what to do (or why no decision is possible yet). Kept here too because this module is
#: pure and must not import the ipywidgets dashboards.
URGENCY_LABELS: Mapping[str, str] = MappingProxyType({
    "ambulance": "Call an ambulance now",
    "emergency": "Emergency department now",
    "urgent": "Seen by a clinician today",
    "see_provider": "See a healthcare provider within days",
    "incomplete": "Cannot decide yet: red-flag questions unanswered",
    "self_care": "Self-care at home",
})
#: Non-drug care before medicines at the same invasiveness (ACP 2017), as the engine ranks.
CATEGORY_ORDER: Mapping[str, int] = MappingProxyType(
    {"non_drug": 0, "medication": 1, "procedure_surgery": 2})
#: Points for naming the engine's urgency in the case quiz (each expected cause is worth one).
URGENCY_POINTS = 2

_TABLES = ("teaching_cases", "teaching_case_answers", "teaching_case_causes")


def cite(kb: m.KnowledgeBase, source_id: str | None) -> str:
    """A source as learners see it cited: its short name, flagged when not re-checked."""
    return citation(kb, source_id)


# --- Teaching cases -------------------------------------------------------------------------

@dataclass(frozen=True)
class TeachingCase:
    """A patient story, the checklist answers it implies and the causes a learner should name."""

    case_id: str
    display_order: int
    title: str
    vignette: str
    expected_urgency: m.Urgency
    teaching_point: str
    source_id: str
    answers: Mapping[str, bool]
    expected_causes: tuple[str, ...]


def load_cases(kb: m.KnowledgeBase) -> tuple[TeachingCase, ...]:
    """The teaching cases in display order, from the knowledge base's extra tables."""
    missing = [t for t in _TABLES if t not in kb.extra_tables]
    if missing:
        raise KnowledgeBaseError([Problem(
            "datapackage.json", f"resource '{t}' is not declared, so there are no teaching "
            "cases: restore it (and its CSV) from version control") for t in missing], kb.folder)
    answers: dict[str, dict[str, bool]] = defaultdict(dict)
    for r in kb.extra_tables["teaching_case_answers"]:
        answers[str(r["case_id"])][str(r["finding_id"])] = bool(r["answer"])
    causes: dict[str, list[str]] = defaultdict(list)
    for r in kb.extra_tables["teaching_case_causes"]:
        causes[str(r["case_id"])].append(str(r["condition_id"]))
    cases = [
        TeachingCase(
            case_id=str(r["case_id"]), display_order=int(str(r["display_order"])),
            title=str(r["title"]), vignette=str(r["vignette"]),
            expected_urgency=str(r["expected_urgency"]),  # type: ignore[arg-type]
            teaching_point=str(r["teaching_point"]), source_id=str(r["source_id"]),
            answers=MappingProxyType(answers.get(str(r["case_id"]), {})),
            expected_causes=tuple(causes.get(str(r["case_id"]), ())),
        )
        for r in kb.extra_tables["teaching_cases"]
    ]
    return tuple(sorted(cases, key=lambda c: (c.display_order, c.case_id)))


@dataclass(frozen=True)
class CaseCheck:
    """Whether a stored case still agrees with the engine (for tests and the answer key)."""

    case_id: str
    engine_urgency: m.Urgency
    leading: tuple[str, ...]
    urgency_agrees: bool
    causes_missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.urgency_agrees and not self.causes_missing


def check_case(case: TeachingCase, kb: m.KnowledgeBase) -> CaseCheck:
    """Run the case through the engine: same urgency, expected causes among the leading ones."""
    a = assess(case.answers, kb)
    # a can't-miss cause flagged by the engine counts, even below the benign leading ones
    leading = (*a.leading(), *(c.condition_id for c in a.cant_miss if c.condition_id
                              not in a.leading()))
    return CaseCheck(case.case_id, a.urgency, leading, a.urgency == case.expected_urgency,
                     tuple(c for c in case.expected_causes if c not in leading))


# --- Explanations (shared by the drill, the case quiz and the answer key) --------------------

@dataclass(frozen=True)
class Reason:
    """One line of an explanation, with the source that backs it."""

    text: str
    source: str


def explain(a: Assessment, kb: m.KnowledgeBase) -> tuple[Reason, ...]:
    """Why the engine decided what it did: fired rules, or the open questions, then causes."""
    out = [Reason(f"Rule \u201c{r.label}\u201d ({URGENCY_LABELS[r.urgency].lower()}): "
                  f"{r.rationale}", cite(kb, r.source_id)) for r in a.fired]
    if a.urgency == "incomplete":
        open_ = ", ".join(kb.findings[f].label for f in a.unanswered_red_flags)
        out.append(Reason(f"No rule has fired, but these red-flag questions are still open: "
                          f"{open_}", cite(kb, a.advice_source_id)))
    elif a.urgency == "self_care":
        out.append(Reason("Every red-flag rule was ruled out by a \u201cno\u201d answer.",
                          cite(kb, a.advice_source_id)))
    for c in a.candidates[:LEADING_CAUSES]:
        def said(e: Any) -> str:
            return (f"{e.label.rstrip('?')} answered {'yes' if e.answer else 'no'} "
                    f"(LR {e.likelihood_ratio:g}: {e.note})")

        why = "; ".join(said(e) for e in c.supporting) or "its prior alone"
        against = "; ".join(said(e) for e in c.against)
        text = (f"Possible cause: {c.name}, estimated {round(c.probability * 100, 1)}% "
                f"(basis: {c.basis.replace('_', ' ')}). For: {why}")
        if against:
            text += f". Against: {against}"
        out.append(Reason(text, cite(kb, c.source_id)))
    return tuple(out)


# --- The "would you send this patient to the emergency room?" drill -------------------------

@dataclass(frozen=True)
class DrillItem:
    """One drill question: a patient who answers yes to this rule's findings and no to every
    other red-flag question, so the emergency screen is complete and the answer is honest (an
    unasked question is never treated as a "no")."""

    item_id: str
    findings: tuple[str, ...]
    labels: tuple[str, ...]
    rule_id: str
    rule_label: str
    urgency: m.Urgency  # what the engine says for `answers`
    rationale: str
    source_id: str
    #: Emergency rules these findings are part of: (rule id, labels of the missing partners).
    escalations: tuple[tuple[str, tuple[str, ...]], ...]
    #: The whole red-flag screen: this rule's findings True, every other rule finding False.
    answers: Mapping[str, bool]
    #: Labels of the red-flag questions answered no, in checklist order.
    answered_no: tuple[str, ...]

    @property
    def send_to_er(self) -> bool:
        """Emergency care now: an ambulance or the emergency department."""
        return m.urgency_rank(self.urgency) >= m.urgency_rank("emergency")


def drill_answers(kb: m.KnowledgeBase, rule: m.TriageRule) -> dict[str, bool]:
    """A complete red-flag screen for a drill item: the rule's findings yes, every finding of
    every other triage rule no."""
    screen = {f for r in kb.rules.values() for f in r.findings}
    # the age questions must agree with each other: as old as the rule needs, else 30
    years = max([30, *((kb.findings[f].min_age or 0) for f in rule.findings)])
    return {f: (years >= (kb.findings[f].min_age or 0)) if kb.findings[f].min_age is not None
            else f in rule.findings for f in screen}


def drill_items(kb: m.KnowledgeBase) -> tuple[DrillItem, ...]:
    """One item per triage rule, in a fixed mixed order (a stable hash of the rule id), so the
    emergency and see-a-provider items interleave without randomness in tests."""
    order = [f.finding_id for f in kb.findings_in_order()]
    items = []
    for rule in kb.rules.values():
        if not rule.findings:
            continue
        answers = drill_answers(kb, rule)
        urgency = assess(answers, kb).urgency
        present = set(rule.findings)
        escalations = tuple(
            (other.rule_id, tuple(kb.findings[f].label for f in other.findings if f not in present))
            for other in sorted(kb.rules.values(), key=lambda r: r.rule_id)
            if m.urgency_rank(other.urgency) >= m.urgency_rank("emergency")
            and present < set(other.findings)
        )
        items.append(DrillItem(
            rule.rule_id, rule.findings, tuple(kb.findings[f].label for f in rule.findings),
            rule.rule_id, rule.label, urgency, rule.rationale, rule.source_id, escalations,
            MappingProxyType(answers),
            tuple(kb.findings[f].label for f in order if answers.get(f) is False)))
    return tuple(sorted(items, key=lambda i: hashlib.sha256(i.item_id.encode()).hexdigest()))


@dataclass(frozen=True)
class DrillFeedback:
    correct: bool
    verdict: str
    reasons: tuple[Reason, ...]


def check_drill(item: DrillItem, send_to_er: bool, kb: m.KnowledgeBase) -> DrillFeedback:
    """Feedback on one drill answer: what the engine says, the rule, its reason and source."""
    correct = send_to_er == item.send_to_er
    if item.send_to_er:
        verdict = ("Yes: this patient needs emergency care now." if correct else
                   "This one is an emergency: the findings below meet an emergency rule.")
    else:
        where = URGENCY_LABELS[item.urgency].lower()
        screened = f"With every other red-flag question answered no, the engine says: {where}."
        verdict = (f"Right: not the emergency room. {screened}" if correct else
                   f"Not an emergency. {screened}")
    reasons = [Reason(f"Rule \u201c{item.rule_label}\u201d: {item.rationale}",
                      cite(kb, item.source_id))]
    if item.send_to_er and len(item.findings) > 1:
        reasons.append(Reason("It takes the combination: each finding alone is not an emergency "
                              "rule, together they are.", cite(kb, item.source_id)))
    for rule_id, partners in item.escalations:
        rule = kb.rules[rule_id]
        reasons.append(Reason(f"Watch for: it becomes an emergency (\u201c{rule.label}\u201d) "
                              "when the patient also has: "
                              + "; ".join(p.rstrip("?") for p in partners)
                              + ". This patient answered no to that.", cite(kb, rule.source_id)))
    return DrillFeedback(correct, verdict, tuple(reasons))


def score_line(correct: int, answered: int) -> str:
    """The drill tally, worded as progress rather than a grade."""
    if answered == 0:
        return "No answers yet."
    return f"{correct} of {answered} answered in line with the rules so far."


# --- The case quiz ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseResult:
    """Scored feedback on one case: urgency and likely causes, with the engine's reasons."""

    case_id: str
    points: int
    max_points: int
    urgency_correct: bool
    chosen_urgency: m.Urgency
    engine_urgency: m.Urgency
    urgency_message: str
    named: tuple[str, ...]  # expected causes the learner named (or a parent/child of)
    missed: tuple[str, ...]  # expected causes not named
    extra: tuple[str, ...]  # named causes the engine does not rank among the leading ones
    cause_messages: tuple[str, ...]
    reasons: tuple[Reason, ...]
    teaching_point: str


def _related(kb: m.KnowledgeBase, a: str, b: str) -> bool:
    """A parent and its refinement count as the same answer (e.g. fracture / osteoporotic one)."""
    return a == b or kb.conditions[a].parent == b or kb.conditions[b].parent == a


def score_case(case: TeachingCase, chosen_urgency: str, chosen_causes: Iterable[str],
               kb: m.KnowledgeBase) -> CaseResult:
    """Score a learner's answer against the engine (not against stored text).

    Urgency: URGENCY_POINTS when it matches the engine. Causes: one point per expected cause
    named (a parent or refinement of it counts), minus one per named cause the engine does not
    rank among its leading causes, never below zero, so ticking everything does not pay.
    """
    if chosen_urgency not in m.URGENCIES:
        raise AnswerError(f"choose an urgency: one of {', '.join(m.URGENCIES)}")
    chosen = tuple(dict.fromkeys(chosen_causes))
    unknown = [c for c in chosen if c not in kb.conditions]
    if unknown:
        raise AnswerError(f"unknown cause id: {', '.join(unknown)}")
    a = assess(case.answers, kb)
    leading = list(a.leading())
    expected = case.expected_causes or tuple(leading[:1])
    leading += [c.condition_id for c in a.cant_miss if c.condition_id not in leading]
    engine = a.urgency
    urgency_ok = chosen_urgency == engine
    got, want = m.urgency_rank(chosen_urgency), m.urgency_rank(engine)
    if urgency_ok:
        umsg = f"Your urgency matches the engine: {URGENCY_LABELS[engine].lower()}."
    elif got < want:
        umsg = (f"The engine says {URGENCY_LABELS[engine].lower()}, more urgent than your "
                "choice: the rule below is why, and missing it could delay care.")
    else:
        umsg = (f"The engine says {URGENCY_LABELS[engine].lower()}. Your choice is more "
                "cautious than the rules require; the reasons below show what was ruled out.")
    # Exact picks first; then a parent or refinement may stand in, each pick counting once.
    used = {e for e in expected if e in chosen}
    named_set = set(used)
    for e in expected:
        if e not in named_set:
            stand_in = next((c for c in chosen if c not in used and _related(kb, e, c)), None)
            if stand_in is not None:
                used.add(stand_in)
                named_set.add(e)
    named = tuple(e for e in expected if e in named_set)
    missed = tuple(e for e in expected if e not in named_set)
    extra = tuple(c for c in chosen if c not in used
                  and not any(_related(kb, c, x) for x in (*leading, *expected)))
    msgs = [f"You named {kb.conditions[e].name}: it is among the engine's leading causes."
            for e in named]
    msgs += [f"Worth considering: {kb.conditions[e].name} ({kb.conditions[e].description})"
             for e in missed]
    msgs += [f"{kb.conditions[c].name} is not among the engine's leading causes for these "
             "answers: none or few of its findings are present." for c in extra]
    points = (URGENCY_POINTS if urgency_ok else 0) + max(0, len(named) - len(extra))
    return CaseResult(
        case.case_id, points, URGENCY_POINTS + len(expected), urgency_ok,
        chosen_urgency, engine, umsg,
        named, missed, extra, tuple(msgs), explain(a, kb), case.teaching_point)


def case_answer_summary(case: TeachingCase, kb: m.KnowledgeBase) -> tuple[tuple[str, ...],
                                                                          tuple[str, ...], int]:
    """What the story tells the engine: labels answered yes, labels of red flags answered no,
    and how many red-flag questions were not asked."""
    order = [f.finding_id for f in kb.findings_in_order()]
    yes = tuple(kb.findings[f].label for f in order if case.answers.get(f) is True)
    no = tuple(kb.findings[f].label for f in order if case.answers.get(f) is False)
    screen = {f for r in kb.rules.values() for f in r.findings}
    return yes, no, len([f for f in screen if f not in case.answers])


# --- Data views behind the charts ------------------------------------------------------------

def causes_by_group(kb: m.KnowledgeBase) -> tuple[tuple[str, tuple[m.Condition, ...]], ...]:
    """Top-level causes per group in teaching order (refinements follow their parent)."""
    out = []
    groups = [*GROUPS, *sorted({c.group for c in kb.conditions.values()} - set(GROUPS))]
    for g in groups:
        rows: list[m.Condition] = []
        for c in kb.conditions.values():
            if c.group == g and not c.parent:
                rows.append(c)
                rows += [k for k in kb.conditions.values()
                         if k.parent == c.condition_id and k.group == g]
        # a refinement filed under another group than its parent is still listed
        rows += [c for c in kb.conditions.values() if c.group == g and c.parent
                 and kb.conditions[c.parent].group != g]
        if rows:
            out.append((g, tuple(rows)))
    return tuple(out)


@dataclass(frozen=True)
class StrengthMatrix:
    """Findings (rows) by causes (columns); each cell is the positive likelihood ratio of the
    link (how much a yes multiplies the odds; 0 = no link)."""

    finding_ids: tuple[str, ...]
    finding_labels: tuple[str, ...]
    condition_ids: tuple[str, ...]
    condition_names: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]


def strength_matrix(kb: m.KnowledgeBase, group: str | None = None, kind: str | None = None,
                    top_level_only: bool = False) -> StrengthMatrix:
    """The finding x cause matrix of positive likelihood ratios, filtered by cause group and
    finding kind. Only findings linked to at least one shown cause are kept, in checklist
    order."""
    conds = [c for _, cs in causes_by_group(kb) for c in cs
             if (group is None or c.group == group) and not (top_level_only and c.parent)]
    cids = [c.condition_id for c in conds]
    strength = {(x.finding_id, x.condition_id): x.lr_positive for x in kb.condition_findings}
    fids = [f.finding_id for f in kb.findings_in_order()
            if (kind is None or f.kind == kind) and any((f.finding_id, c) in strength
                                                         for c in cids)]
    return StrengthMatrix(
        tuple(fids), tuple(kb.findings[f].label for f in fids), tuple(cids),
        tuple(c.name for c in conds),
        tuple(tuple(strength.get((f, c), 0.0) for c in cids) for f in fids))


def condition_links(kb: m.KnowledgeBase, condition_id: str) -> tuple[m.ConditionFinding, ...]:
    """The findings linked to a cause, the ones whose yes raises it most first."""
    order = {f.finding_id: i for i, f in enumerate(kb.findings_in_order())}
    return tuple(sorted((x for x in kb.condition_findings if x.condition_id == condition_id),
                        key=lambda x: (-x.lr_positive, order[x.finding_id])))


def tests_for(kb: m.KnowledgeBase, condition_id: str) -> tuple[m.TestCondition, ...]:
    """The tests that help answer "is it this cause?", baseline tests first."""
    return tuple(sorted((x for x in kb.test_conditions if x.condition_id == condition_id),
                        key=lambda x: (not kb.tests[x.test_id].baseline, x.test_id)))


def test_questions(kb: m.KnowledgeBase) -> tuple[tuple[m.DiagnosticTest,
                                                       tuple[m.TestCondition, ...]], ...]:
    """Each test with the causes it helps confirm or exclude (baseline tests first)."""
    by_test: dict[str, list[m.TestCondition]] = defaultdict(list)
    for x in kb.test_conditions:
        by_test[x.test_id].append(x)
    tests = sorted(kb.tests.values(), key=lambda t: (not t.baseline, t.category, t.test_id))
    return tuple((t, tuple(by_test.get(t.test_id, ()))) for t in tests)


def treatment_ladder(kb: m.KnowledgeBase) -> tuple[m.Treatment, ...]:
    """Treatments from least to most invasive (then medicines before other care)."""
    return tuple(sorted(kb.treatments.values(), key=lambda t: (
        t.invasiveness, CATEGORY_ORDER.get(t.category, 9), t.treatment_id)))


def do_not_offer(kb: m.KnowledgeBase, treatment_id: str) -> tuple[Reason, ...]:
    """When not to offer a treatment: each contraindicating finding with its reason and source,
    in checklist order."""
    order = {f.finding_id: i for i, f in enumerate(kb.findings_in_order())}
    contra = sorted((x for x in kb.contraindications if x.treatment_id == treatment_id),
                    key=lambda x: (order.get(x.finding_id, len(order)), x.finding_id))
    return tuple(Reason(f"{kb.findings[x.finding_id].label.rstrip('?')}: {x.reason}",
                        cite(kb, x.source_id)) for x in contra)


@dataclass(frozen=True)
class RiskProfile:
    """A learner-built risk profile: which factors, which can change, and where they point."""

    present: tuple[m.RiskFactor, ...]
    modifiable: tuple[m.RiskFactor, ...]
    fixed: tuple[m.RiskFactor, ...]
    #: Causes the factors' findings are linked to, with the combined likelihood ratio of the
    #: factors (the product of their LR+), largest first.
    causes: tuple[tuple[str, float], ...]


def risk_profile(kb: m.KnowledgeBase, risk_factor_ids: Iterable[str]) -> RiskProfile:
    """Profile for the chosen risk factors. Raises AnswerError for an unknown id."""
    ids = tuple(dict.fromkeys(risk_factor_ids))
    unknown = [r for r in ids if r not in kb.risk_factors]
    if unknown:
        raise AnswerError(f"unknown risk factor id: {', '.join(unknown)}")
    present = tuple(kb.risk_factors[r] for r in ids)
    findings = {r.finding_id for r in present if r.finding_id}
    totals: dict[str, float] = defaultdict(lambda: 1.0)
    for x in kb.condition_findings:
        if x.finding_id in findings:
            totals[x.condition_id] *= x.lr_positive
    causes = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return RiskProfile(present, tuple(r for r in present if r.modifiable),
                       tuple(r for r in present if not r.modifiable),
                       tuple((kb.conditions[c].name, s) for c, s in causes))


# --- The educator's answer key ---------------------------------------------------------------

@dataclass(frozen=True)
class KeyEntry:
    case: TeachingCase
    engine_urgency: m.Urgency
    expected_names: tuple[str, ...]
    leading_names: tuple[str, ...]
    reasons: tuple[Reason, ...]
    agrees: bool


def answer_key(kb: m.KnowledgeBase) -> tuple[KeyEntry, ...]:
    """Every case with the engine's answer and reasons, computed now (never stored text)."""
    out = []
    for case in load_cases(kb):
        a = assess(case.answers, kb)
        check = check_case(case, kb)
        out.append(KeyEntry(
            case, a.urgency, tuple(kb.conditions[c].name for c in case.expected_causes),
            tuple(c.name for c in a.candidates[:LEADING_CAUSES]), explain(a, kb), check.ok))
    return tuple(out)
