"""Teaching logic: the teaching cases, the emergency-room drill, quiz scoring, and the data views
behind the teaching charts. Pure and typed: no widgets, no display. Every fact comes from the
knowledge base, so an analyst's edit flows into the teaching material."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from . import _model as m
from ._citation import citation
from ._engine import LEADING_CAUSES, Assessment, assess
from ._errors import AnswerError, KnowledgeBaseError, Problem
from ._render import answer_lr, word
from .lookup import contraindications_of, findings_of, rules_in_order, treatment_ladder

#: Cause families in teaching order; the heart-attack warning comes last, set apart.
GROUPS: tuple[str, ...] = (
    "mechanical", "degenerative", "structural", "systemic_organ", "infection", "pregnancy",
    "vascular", "cardiac",
)
#: Groups shown apart, as warnings: never to be treated as back pain.
WARNING_GROUPS: tuple[str, ...] = ("vascular", "cardiac")
#: Points for naming the engine's urgency in the case quiz (each expected cause is worth one).
URGENCY_POINTS = 2


def urgency_label(urgency: str) -> str:
    """The teaching wording of an urgency level, from the faces kit's one wording map
    (`_render.TEACHING_URGENCY_WORDS`: sentences a learner can pick; words when unmapped)."""
    return word("teaching_urgency", urgency)


def group_label(group: str) -> str:
    """The teaching name of a family of causes (`_render.TEACHING_GROUP_WORDS`)."""
    return word("teaching_group", group)


def urgencies() -> tuple[str, ...]:
    """The urgency levels in the engine's order, most urgent first."""
    return tuple(m.URGENCIES)


def sends_to_hospital(urgency: str) -> bool:
    """Emergency care or more urgent (an ambulance level, when the engine has one)."""
    return m.urgency_rank(urgency) >= m.urgency_rank("emergency")


def cite(kb: m.KnowledgeBase, source_id: str | None) -> str:
    """A source as learners see it cited: its short name, flagged when not re-checked."""
    return citation(kb, source_id)


# --- Teaching cases -------------------------------------------------------------------------

#: teaching_cases.csv holds one row per case (the form a teacher fills). Its `answers` cell
#: lists the story's checklist answers as "finding_id=yes; finding_id=no"; `other_red_flags`
#: says what happened to the red-flag questions not listed: "no" (asked, answered no) or
#: "unasked" (the story leaves them open); `expected_causes` lists condition ids, "; " apart.
CASES_FILE = "teaching_cases.csv"
OTHER_RED_FLAGS = ("no", "unasked")


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


def parse_answers(text: str) -> dict[str, bool]:
    """"a=yes; b=no" -> {"a": True, "b": False}. Raises ValueError saying what to write."""
    out: dict[str, bool] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        fid, sep, value = (x.strip() for x in part.partition("="))
        if not sep or value.lower() not in ("yes", "no") or not fid:
            raise ValueError(f"'{part}' is not an answer: write finding_id=yes or finding_id=no,"
                             " separated by ';'")
        if fid in out:
            raise ValueError(f"'{fid}' is answered twice: keep one answer")
        out[fid] = value.lower() == "yes"
    return out


def format_answers(answers: Mapping[str, bool]) -> str:
    """The inverse of `parse_answers`, in the given order."""
    return "; ".join(f"{f}={'yes' if v else 'no'}" for f, v in answers.items())


def screen_findings(kb: m.KnowledgeBase) -> set[str]:
    """Every finding some triage rule asks about: the red-flag screen."""
    return {f for r in kb.rules.values() for f in r.findings}


def expand_answers(kb: m.KnowledgeBase, listed: Mapping[str, bool],
                   other_red_flags: str) -> dict[str, bool]:
    """The answers a case gives the engine: those listed, plus, when `other_red_flags` is "no",
    every other red-flag question answered no (age bands consistent with the listed ones)."""
    answers = dict(listed)
    if other_red_flags == "no":
        for f in screen_findings(kb):
            answers.setdefault(f, False)
        answers = _consistent_ages(kb, answers, keep=set(listed))
    return answers


def _case_row(kb: m.KnowledgeBase, r: Mapping[str, object], line: int,
              problems: list[Problem]) -> TeachingCase | None:
    cid = str(r["case_id"])

    def bad(column: str, message: str) -> None:
        problems.append(Problem(CASES_FILE, f"case '{cid}': {message}", line, column,
                                str(r.get(column, ""))))

    try:
        listed = parse_answers(str(r.get("answers") or ""))
    except ValueError as exc:
        bad("answers", str(exc))
        return None
    unknown = [f for f in listed if f not in kb.findings]
    if unknown:
        bad("answers", f"unknown finding id {', '.join(unknown)}: use an id from findings.csv "
            "(`upperback findings` lists them)")
    if not any(listed.values()):
        bad("answers", "no finding is answered yes: say what the story tells the checklist")
    other = str(r.get("other_red_flags") or "")
    if other not in OTHER_RED_FLAGS:
        bad("other_red_flags", f"write one of {', '.join(OTHER_RED_FLAGS)}")
    causes = tuple(dict.fromkeys(c.strip() for c in str(r.get("expected_causes") or "")
                                 .split(";") if c.strip()))
    wrong = [c for c in causes if c not in kb.conditions]
    if wrong or not causes:
        bad("expected_causes", (f"unknown condition id {', '.join(wrong)}" if wrong else
                                "no cause given") + ": list condition ids from conditions.csv "
            "separated by ';' (`upperback conditions` lists them)")
    if unknown or wrong or not causes or other not in OTHER_RED_FLAGS or not any(listed.values()):
        return None
    return TeachingCase(
        case_id=cid, display_order=int(str(r["display_order"])), title=str(r["title"]),
        vignette=str(r["vignette"]),
        expected_urgency=str(r["expected_urgency"]),  # type: ignore[arg-type]
        teaching_point=str(r["teaching_point"]), source_id=str(r["source_id"]),
        answers=MappingProxyType(expand_answers(kb, listed, other)), expected_causes=causes)


def read_cases(kb: m.KnowledgeBase) -> tuple[tuple[TeachingCase, ...], list[Problem]]:
    """The cases that parse, in display order, and the problems of those that do not."""
    if "teaching_cases" not in kb.extra_tables:
        return (), [Problem("datapackage.json", "resource 'teaching_cases' is not declared, so "
                            "there are no teaching cases: restore it (and its CSV) from version "
                            "control")]
    problems: list[Problem] = []
    cases = [c for i, r in enumerate(kb.extra_tables["teaching_cases"])
             if (c := _case_row(kb, r, i + 2, problems)) is not None]
    return tuple(sorted(cases, key=lambda c: (c.display_order, c.case_id))), problems


def load_cases(kb: m.KnowledgeBase) -> tuple[TeachingCase, ...]:
    """The teaching cases in display order. Raises KnowledgeBaseError naming the row and the
    column of every case that cannot be read."""
    cases, problems = read_cases(kb)
    if problems:
        raise KnowledgeBaseError(problems, kb.folder)
    return cases


def case_problems(kb: m.KnowledgeBase) -> list[Problem]:
    """What `upperback validate` reports about the teaching cases: rows that cannot be read,
    and cases whose expected urgency the engine does not give (they would teach the wrong
    answer), each naming the case, its line and the column to fix. A knowledge base without
    teaching cases has nothing to check here."""
    if "teaching_cases" not in kb.extra_tables:
        return []
    cases, problems = read_cases(kb)
    lines = {str(r["case_id"]): i + 2 for i, r in enumerate(kb.extra_tables.get(
        "teaching_cases", ()))}
    for case in cases:
        got = assess(case.answers, kb).urgency
        if got != case.expected_urgency:
            problems.append(Problem(
                CASES_FILE, f"case '{case.case_id}' expects {case.expected_urgency} but the "
                f"engine gives {got} for its answers: fix its answers or its expected_urgency",
                lines.get(case.case_id), "expected_urgency", case.expected_urgency))
    return problems


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
    leading = leading_causes(a)
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
    out = [Reason(f"Rule \u201c{r.label}\u201d ({urgency_label(r.urgency).lower()}): "
                  f"{r.rationale}", cite(kb, r.source_id)) for r in a.fired]
    if a.urgency == "incomplete":
        open_ = ", ".join(kb.findings[f].label for f in a.unanswered_red_flags)
        out.append(Reason(f"No rule has fired, but these red-flag questions are still open: "
                          f"{open_}", cite(kb, a.advice_source_id)))
    elif a.urgency == "self_care":
        out.append(Reason("Every red-flag rule was ruled out by a \u201cno\u201d answer.",
                          cite(kb, a.advice_source_id)))
    for c in a.candidates[:LEADING_CAUSES]:
        # for and against are by effect: a "no" can raise a cause and a "yes" lower one
        why = "; ".join(f"{e.label.rstrip('?')} ({answer_lr(e)}: {e.note})"
                        for e in c.supporting) or "no answer points to it specifically"
        against = "; ".join(f"{e.label.rstrip('?')} ({answer_lr(e)})" for e in c.against)
        text = (f"Likely cause: {c.name}, estimated {c.probability:.0%} (from a starting "
                f"probability of {c.prior:.0%}). For: {why}")
        if against:
            text += f". Against: {against}"
        out.append(Reason(text, cite(kb, c.source_id)))
    return tuple(out)


def leading_causes(a: Assessment) -> tuple[str, ...]:
    """The engine's leading causes as a learner may name them: the leading top-level causes
    with their subtypes, any cause whose estimate raised the urgency, and the can't-miss causes
    the engine shows because an answer points to them."""
    return tuple(dict.fromkeys([*a.leading(), *a.raised_by,
                                *(c.condition_id for c in a.cant_miss)]))


# --- The "would you send this patient to the emergency room?" drill -------------------------

@dataclass(frozen=True)
class DrillItem:
    """One drill question: a patient who answers yes to `findings` and no to every red-flag
    question not among them, so the emergency screen is complete and the answer is honest (an
    unasked question is never treated as a "no"). A rule item shows one triage rule's findings;
    a self-care item shows history findings only, with every red flag answered no."""

    item_id: str
    findings: tuple[str, ...]
    labels: tuple[str, ...]
    rule_id: str  # blank for a self-care item
    rule_label: str
    urgency: m.Urgency  # what the engine says for `answers`
    rationale: str
    source_id: str
    #: Emergency rules these findings are part of: (rule id, labels of the missing partners).
    escalations: tuple[tuple[str, tuple[str, ...]], ...]
    #: The whole red-flag screen (and, for a self-care item, its history findings).
    answers: Mapping[str, bool]
    #: Labels of the red-flag questions answered no, in checklist order.
    answered_no: tuple[str, ...]

    @property
    def send_to_er(self) -> bool:
        return sends_to_hospital(self.urgency)


def drill_answers(kb: m.KnowledgeBase, rule: m.TriageRule) -> dict[str, bool]:
    """A complete red-flag screen for a drill item: the rule's findings yes, every finding of
    every other triage rule no."""
    screen = {f for r in kb.rules.values() for f in r.findings}
    return _consistent_ages(kb, {f: f in rule.findings for f in screen})


def _consistent_ages(kb: m.KnowledgeBase, answers: dict[str, bool],
                     keep: Iterable[str] = ()) -> dict[str, bool]:
    """Age bands answered as one age would: "65 or older" yes makes "50 or older" yes too, so
    a patient is never a contradiction the engine refuses. Answers in `keep` stay as given."""
    kept = set(keep)
    bands = {f: x.min_age for f, x in kb.findings.items() if x.min_age is not None}
    oldest = max((bands[f] for f, v in answers.items() if v and f in bands), default=None)
    for f, years in bands.items():
        if f not in kept and (f in answers or oldest is not None):
            answers[f] = oldest is not None and years <= oldest
    return answers


def _stable(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


#: Cause families a self-care drill patient's story may point to.
EVERYDAY_GROUPS: tuple[str, ...] = ("mechanical", "degenerative")
#: How many self-care patients join the rule items in a drill round.
SELF_CARE_ITEMS = 5


def _self_care_items(kb: m.KnowledgeBase, order: list[str]) -> list[DrillItem]:
    """Patients with an ordinary story (one history finding linked to a cause) and every
    red-flag question answered no, kept only when the engine says self-care for them."""
    screen = {f for r in kb.rules.values() for f in r.findings}
    groups: dict[str, set[str]] = defaultdict(set)
    for x in kb.condition_findings:
        groups[x.finding_id].add(kb.conditions[x.condition_id].group)
    # only stories that point to everyday causes: an organ or heart pattern with no red flag
    # is still not a self-care lesson to teach
    history = sorted((f for f, gs in groups.items() if kb.findings[f].kind == "history"
                      and f not in screen and gs <= set(EVERYDAY_GROUPS)), key=_stable)
    out = []
    for fid in history:
        answers = _consistent_ages(kb, {f: False for f in screen} | {fid: True})
        a = assess(answers, kb)
        if a.urgency != "self_care":
            continue
        out.append(DrillItem(
            f"self_care:{fid}", (fid,), (kb.findings[fid].label,), "", "",
            a.urgency, "Every red-flag rule was ruled out by a \u201cno\u201d answer, so this "
            "patient can start with self-care and a plan for when to come back.",
            a.advice_source_id, (), MappingProxyType(answers),
            tuple(kb.findings[f].label for f in order if answers.get(f) is False)))
        if len(out) == SELF_CARE_ITEMS:
            break
    return out


def drill_items(kb: m.KnowledgeBase) -> tuple[DrillItem, ...]:
    """One item per triage rule plus a few self-care patients, in a fixed order (a stable hash
    of the item id); `DrillRound` shuffles them for a learner."""
    order = [f.finding_id for f in kb.findings_in_order()]
    items = []
    for rule in kb.rules.values():
        if not rule.findings:
            continue
        answers = drill_answers(kb, rule)
        urgency = assess(answers, kb).urgency
        # the rule's findings, then any age band they imply
        said = (*rule.findings, *(f for f in order if answers.get(f) and f not in rule.findings))
        present = set(said)
        escalations = tuple(
            (other.rule_id, tuple(kb.findings[f].label for f in other.findings if f not in present))
            for other in sorted(kb.rules.values(), key=lambda r: r.rule_id)
            if sends_to_hospital(other.urgency) and present < set(other.findings)
        )
        items.append(DrillItem(
            rule.rule_id, said, tuple(kb.findings[f].label for f in said),
            rule.rule_id, rule.label, urgency, rule.rationale, rule.source_id, escalations,
            MappingProxyType(answers),
            tuple(kb.findings[f].label for f in order if answers.get(f) is False)))
    items += _self_care_items(kb, order)
    return tuple(sorted(items, key=lambda i: _stable(i.item_id)))


@dataclass(frozen=True)
class DrillFeedback:
    correct: bool
    verdict: str
    reasons: tuple[Reason, ...]


def check_drill(item: DrillItem, send_to_er: bool, kb: m.KnowledgeBase) -> DrillFeedback:
    """Feedback on one drill answer: what the engine says, the rule, its reason and source."""
    correct = send_to_er == item.send_to_er
    where = urgency_label(item.urgency).lower()
    if item.send_to_er:
        # "needs call an ambulance now" read badly: the level is quoted, as in the No branch
        verdict = (f"Yes: the emergency room. The engine says: {where}." if correct else
                   f"This one is an emergency ({where}): the findings below meet a rule.")
    else:
        screened = f"With every other red-flag question answered no, the engine says: {where}."
        verdict = (f"Right: not the emergency room. {screened}" if correct else
                   f"Not an emergency. {screened}")
    if not item.rule_id:
        return DrillFeedback(correct, verdict, (Reason(item.rationale, cite(kb, item.source_id)),))
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


#: A missed patient comes back after this many others (or at the end of the round).
RETRY_GAP = 3


@dataclass(frozen=True)
class DrillSummary:
    """The end of a round: first-time answers, and the patients that needed another look."""

    patients: int
    right_first_time: int
    missed: tuple[DrillItem, ...]  # answered against the rules at least once
    still_missed: tuple[DrillItem, ...]  # never answered in line with the rules this round

    def text(self) -> str:
        line = (f"Round complete: {self.right_first_time} of {self.patients} patients answered "
                "in line with the rules first time.")
        if not self.missed:
            return line + " Nothing to review."
        fixed = len(self.missed) - len(self.still_missed)
        return (line + f" {len(self.missed)} came back for a second look; {fixed} of them "
                "answered in line with the rules the second time.")


#: Patients in one drill round: a lesson's worth; each new round draws another mix.
ROUND_SIZE = 15


class DrillRound:
    """One learner's round: `size` patients drawn from the items (every self-care patient and
    a random choice of the rule patients), shuffled; each missed patient queued again a few
    patients later; a tally, and a summary at the end. `reset()` starts a fresh round (a new
    draw and order, tally zero). State lives in this object only, never on disk."""

    def __init__(self, items: Iterable[DrillItem], rng: random.Random | None = None,
                 size: int = ROUND_SIZE) -> None:
        self._pool = tuple(items)
        self._rng = rng if rng is not None else random.Random()
        self._size = size
        self.reset()

    def reset(self) -> None:
        calm = [i for i in self._pool if not i.rule_id]
        rules = [i for i in self._pool if i.rule_id]
        take = max(0, min(len(rules), self._size - len(calm)))
        self._items = tuple(calm[: self._size] + self._rng.sample(rules, take))
        self.queue = list(self._items)
        self._rng.shuffle(self.queue)
        self.answered = 0
        self.correct = 0
        self._first: dict[str, bool] = {}
        self._last: dict[str, bool] = {}
        self.awaiting_next = False

    @property
    def current(self) -> DrillItem | None:
        return self.queue[0] if self.queue else None

    @property
    def done(self) -> bool:
        return not self.queue

    @property
    def position(self) -> tuple[int, int]:
        """(patients seen first time so far, patients in the round), for "patient 3 of 27"."""
        return len(self._first) + (0 if self.awaiting_next or self.done else 1), len(self._items)

    @property
    def is_retry(self) -> bool:
        item = self.current
        return item is not None and item.item_id in self._first and not self.awaiting_next

    def answer(self, send_to_er: bool, kb: m.KnowledgeBase) -> DrillFeedback:
        item = self.current
        if item is None or self.awaiting_next:
            raise AnswerError("this patient is already answered: go to the next patient")
        fb = check_drill(item, send_to_er, kb)
        self.answered += 1
        self.correct += fb.correct
        self._first.setdefault(item.item_id, fb.correct)
        self._last[item.item_id] = fb.correct
        self.awaiting_next = True
        return fb

    def next(self) -> None:
        """Move on; a patient just answered against the rules comes back later in the round."""
        if not self.awaiting_next or not self.queue:
            return
        item = self.queue.pop(0)
        if not self._last[item.item_id]:
            self.queue.insert(min(RETRY_GAP, len(self.queue)), item)
        self.awaiting_next = False

    def summary(self) -> DrillSummary:
        missed = tuple(i for i in self._items if self._first.get(i.item_id) is False)
        return DrillSummary(len(self._items), sum(self._first.values()), missed,
                            tuple(i for i in missed if not self._last.get(i.item_id)))


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


def _lineage(kb: m.KnowledgeBase, condition_id: str) -> tuple[str, ...]:
    """The cause and its parents, up to the top-level cause."""
    out = [condition_id]
    while (parent := kb.conditions[out[-1]].parent) and parent not in out:
        out.append(parent)
    return tuple(out)


def _full_code(c: m.Condition) -> str | None:
    """A complete ICD-10-CM code (not blank, not a category ending in "-")."""
    return c.icd10cm if c.icd10cm and not c.icd10cm.endswith("-") else None


def same_answer(kb: m.KnowledgeBase, a: str, b: str) -> bool:
    """Two causes count as one answer when one refines the other (a subtype is credited as its
    parent, e.g. scoliosis for spinal deformity) or ICD-10-CM codes them alike (spinal
    osteoarthritis is coded as spondylosis)."""
    if a in _lineage(kb, b) or b in _lineage(kb, a):
        return True
    code = _full_code(kb.conditions[a])
    return code is not None and code == _full_code(kb.conditions[b])


def answer_groups(kb: m.KnowledgeBase, expected: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    """The expected causes merged into the distinct answers a learner is asked for: causes
    that are the same answer (`same_answer`) form one group, worth one point."""
    groups: list[list[str]] = []
    for e in dict.fromkeys(expected):
        hits = [g for g in groups if any(same_answer(kb, e, x) for x in g)]
        merged = [x for g in hits for x in g] + [e]
        groups = [g for g in groups if g not in hits] + [merged]
    return tuple(tuple(g) for g in groups)


def score_case(case: TeachingCase, chosen_urgency: str, chosen_causes: Iterable[str],
               kb: m.KnowledgeBase) -> CaseResult:
    """Score a learner's answer against the engine (not against stored text).

    Urgency: URGENCY_POINTS when it matches the engine. Causes: one point per expected answer
    named (`answer_groups`: a subtype, a parent or a same-coded cause counts), minus one per
    named cause the engine does not rank among its leading causes, never below zero, so
    ticking everything does not pay.
    """
    if chosen_urgency not in m.URGENCIES:
        raise AnswerError(f"choose an urgency: one of {', '.join(m.URGENCIES)}")
    chosen = tuple(dict.fromkeys(chosen_causes))
    unknown = [c for c in chosen if c not in kb.conditions]
    if unknown:
        raise AnswerError(f"unknown cause id: {', '.join(unknown)}")
    a = assess(case.answers, kb)
    leading = leading_causes(a)
    expected = case.expected_causes or tuple(leading[:1])
    engine = a.urgency
    urgency_ok = chosen_urgency == engine
    got, want = m.urgency_rank(chosen_urgency), m.urgency_rank(engine)
    if urgency_ok:
        umsg = f"Your urgency matches the engine: {urgency_label(engine).lower()}."
    elif got < want:
        umsg = (f"The engine says {urgency_label(engine).lower()}, more urgent than your "
                "choice: the rule below is why, and missing it could delay care.")
    else:
        umsg = (f"The engine says {urgency_label(engine).lower()}. Your choice is more "
                "cautious than the rules require; the reasons below show what was ruled out.")
    groups = answer_groups(kb, expected)
    credited = [g for g in groups if any(same_answer(kb, c, x) for c in chosen for x in g)]
    named = tuple(x for g in credited for x in g)
    missed_groups = [g for g in groups if g not in credited]
    missed = tuple(x for g in missed_groups for x in g)
    extra = tuple(c for c in chosen
                  if not any(same_answer(kb, c, x) for x in (*leading, *expected)))
    msgs = [f"You named {' / '.join(kb.conditions[x].name for x in g)}: among the engine's "
            "leading causes." for g in credited]
    for g in missed_groups:
        c = kb.conditions[max(g, key=lambda x: len(_lineage(kb, x)))]  # the precise one
        msgs.append(f"Worth considering: {c.name} ({c.description})")
    msgs += [f"{kb.conditions[c].name} is not among the engine's leading causes for these "
             "answers: none or few of its findings are present." for c in extra]
    points = (URGENCY_POINTS if urgency_ok else 0) + max(0, len(credited) - len(extra))
    return CaseResult(
        case.case_id, points, URGENCY_POINTS + len(groups), urgency_ok,
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


#: Conventional bands for how much a likelihood ratio moves the probability (Jaeschke,
#: Guyatt, Sackett, JAMA 1994;271:703-7): (lower bound of LR+, words), weakest first.
LR_BANDS: tuple[tuple[float, str], ...] = (
    (1.0, "minimal (1 to 2)"), (2.0, "small (2 to 5)"), (5.0, "moderate (5 to 10)"),
    (10.0, "large (above 10)"))
LR_BANDS_SOURCE = ("Jaeschke, Guyatt, Sackett. JAMA 1994;271:703-7 (users' guide to "
                   "diagnostic tests)")


def lr_band(lr_positive: float) -> int:
    """0 for no link (or an LR+ of 1 or less), else 1..len(LR_BANDS) by `LR_BANDS`."""
    return sum(lr_positive > 1.0 and lr_positive >= low for low, _ in LR_BANDS)


@dataclass(frozen=True)
class LinkMatrix:
    """Findings (rows) by causes (columns); each cell is the link's LR+ (0 = no link)."""

    finding_ids: tuple[str, ...]
    finding_labels: tuple[str, ...]
    condition_ids: tuple[str, ...]
    condition_names: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]


def link_matrix(kb: m.KnowledgeBase, group: str | None = None, kind: str | None = None,
                top_level_only: bool = False) -> LinkMatrix:
    """The finding x cause matrix of LR+, filtered by cause group and finding kind. Only
    findings linked to at least one shown cause are kept, in checklist order."""
    conds = [c for _, cs in causes_by_group(kb) for c in cs
             if (group is None or c.group == group) and not (top_level_only and c.parent)]
    cids = [c.condition_id for c in conds]
    lr = {(x.finding_id, x.condition_id): x.lr_positive for x in kb.condition_findings}
    fids = [f.finding_id for f in kb.findings_in_order()
            if (kind is None or f.kind == kind) and any((f.finding_id, c) in lr for c in cids)]
    return LinkMatrix(
        tuple(fids), tuple(kb.findings[f].label for f in fids), tuple(cids),
        tuple(c.name for c in conds),
        tuple(tuple(lr.get((f, c), 0.0) for c in cids) for f in fids))


def test_questions(kb: m.KnowledgeBase) -> tuple[tuple[m.DiagnosticTest,
                                                       tuple[m.TestCondition, ...]], ...]:
    """Each test with the causes it helps confirm or exclude (baseline tests first)."""
    by_test: dict[str, list[m.TestCondition]] = defaultdict(list)
    for x in kb.test_conditions:
        by_test[x.test_id].append(x)
    tests = sorted(kb.tests.values(), key=lambda t: (not t.baseline, t.category, t.test_id))
    return tuple((t, tuple(by_test.get(t.test_id, ()))) for t in tests)


def do_not_offer(kb: m.KnowledgeBase, treatment_id: str) -> tuple[Reason, ...]:
    """When not to offer a treatment: each contraindicating finding with its reason and source,
    in the core's order ("avoid" before "caution", then checklist order)."""
    return tuple(Reason(f"{kb.findings[x.finding_id].label.rstrip('?')}: {x.reason}",
                        cite(kb, x.source_id)) for x in contraindications_of(kb, treatment_id))


@dataclass(frozen=True)
class RiskProfile:
    """A learner-built risk profile: which factors, which can change, and where they point."""

    present: tuple[m.RiskFactor, ...]
    modifiable: tuple[m.RiskFactor, ...]
    fixed: tuple[m.RiskFactor, ...]
    #: Causes the factors' findings are linked to, with the product of their LR+ (how many
    #: times the odds rise when all are present, taken as independent), largest first.
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


# --- Likelihood ratios ------------------------------------------------------------------------

def post_test_probability(prior: float, likelihood_ratio: float) -> float:
    """Bayes' rule in odds form: post-test odds = pre-test odds x likelihood ratio."""
    if not 0 < prior < 1 or likelihood_ratio <= 0:
        raise AnswerError("a probability is between 0 and 1 and a likelihood ratio above 0")
    odds = prior / (1 - prior) * likelihood_ratio
    return odds / (1 + odds)


# --- Self-checks (lessons 2, 4, 5 and the must-not-miss lesson) -----------------------------

#: The must-not-miss causes of thoracic pain, taught in their own lesson: the ids the knowledge
#: base uses, shown only when present (a knowledge base without one simply omits it).
MUST_NOT_MISS: tuple[str, ...] = (
    "aortic_dissection", "pulmonary_embolism", "heart_attack", "spinal_infection",
    "pyelonephritis", "spinal_metastasis", "shingles")
#: Findings that should make a clinician think of them.
MUST_NOT_MISS_FINDINGS: tuple[str, ...] = (
    "sudden_severe_upper_back_pain", "pain_worse_on_breathing_in", "injected_drug_use",
    "immunosuppressed", "burning_band_pain_or_rash")
#: A finding "points to" a must-not-miss cause from this LR+ on (moderate, in `LR_BANDS`).
MUST_NOT_MISS_MIN_LR = 5.0
#: Topics of the self-checks, one per lesson that has one.
CHECK_TOPICS: tuple[str, ...] = ("causes", "workup", "risk", "must_not_miss")
#: Questions per self-check: enough to practise, short enough for a lesson.
CHECK_LENGTH = 6


@dataclass(frozen=True)
class SelfCheck:
    """A multiple-choice question built from the knowledge base, with its explanation."""

    check_id: str
    question: str
    options: tuple[tuple[str, str], ...]  # (label, value), in a stable mixed order
    answer: str
    explanation: str
    source: str


def _mix(key: str, options: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Options in an order fixed by the question (so tests and handouts are stable), but with
    the right one not always first."""
    return tuple(sorted(options, key=lambda o: _stable(key + o[1])))


def _pick(key: str, pool: Iterable[str], n: int) -> list[str]:
    return sorted(dict.fromkeys(pool), key=lambda x: _stable(key + x))[:n]


def _finding_question(kb: m.KnowledgeBase, cid: str, key: str) -> SelfCheck | None:
    links = findings_of(kb, cid)
    if not links:
        return None
    best = links[0]
    linked = {x.finding_id for x in links}
    others = _pick(key, (f for f in kb.findings if f not in linked), 3)
    c = kb.conditions[cid]
    return SelfCheck(
        f"{key}:{cid}", f"Which finding points most strongly to {c.name.lower()}?",
        _mix(key, [(kb.findings[f].label, f) for f in (best.finding_id, *others)]),
        best.finding_id, f"{kb.findings[best.finding_id].label.rstrip('?')}: {best.note}",
        cite(kb, best.source_id))


def _causes_checks(kb: m.KnowledgeBase) -> list[SelfCheck]:
    out: list[SelfCheck] = []
    tops = [c.condition_id for _, cs in causes_by_group(kb) for c in cs if not c.parent]
    for cid in _pick("causes", tops, CHECK_LENGTH):
        c = kb.conditions[cid]
        if len(out) % 2:
            q = _finding_question(kb, cid, "causes")
            if q is not None:
                out.append(q)
                continue
        groups = [g for g, _ in causes_by_group(kb)]
        out.append(SelfCheck(
            f"group:{cid}", f"Which family of causes does {c.name.lower()} belong to?",
            _mix(cid, [(group_label(g), g) for g in groups]), c.group,
            f"{c.name}: {c.description}", cite(kb, c.source_id)))
    return out


def _workup_checks(kb: m.KnowledgeBase) -> list[SelfCheck]:
    out: list[SelfCheck] = []
    ladder = treatment_ladder(kb)
    if ladder:
        first = ladder[0]
        later = [t.treatment_id for t in ladder if t.category != first.category]
        opts = [first.treatment_id, *_pick("ladder", later, 3)]
        out.append(SelfCheck(
            "ladder", "A patient has a back strain and no red flags. Which comes first on the "
            "treatment ladder?", _mix("ladder", [(kb.treatments[t].name, t) for t in opts]),
            first.treatment_id, f"Start with care without medicine: {first.name}: "
            f"{first.description}", cite(kb, first.source_id)))
    specific = [x for x in kb.test_conditions if not kb.tests[x.test_id].baseline]
    for x in [next(y for y in specific if y.condition_id == cid) for cid in
              _pick("tests", (y.condition_id for y in specific), CHECK_LENGTH - 2)]:
        linked = {y.test_id for y in kb.test_conditions if y.condition_id == x.condition_id}
        others = _pick(x.condition_id, (t for t in kb.tests if t not in linked), 3)
        out.append(SelfCheck(
            f"test:{x.condition_id}", "Which test helps answer \u201cis it "
            f"{kb.conditions[x.condition_id].name.lower()}?\u201d",
            _mix(x.condition_id, [(kb.tests[t].name, t) for t in (x.test_id, *others)]),
            x.test_id, f"{kb.tests[x.test_id].name}: {x.reason}", cite(kb, x.source_id)))
    contra = _pick("contra", (f"{x.treatment_id}|{x.finding_id}" for x in kb.contraindications), 1)
    for key in contra:
        tid, fid = key.split("|")
        ci = next(y for y in kb.contraindications
                  if y.treatment_id == tid and y.finding_id == fid)
        barred = {y.finding_id for y in kb.contraindications if y.treatment_id == tid}
        others = _pick(key, (f for f in kb.findings if f not in barred), 3)
        out.append(SelfCheck(
            f"contra:{key}", f"When should you not offer {kb.treatments[tid].name.lower()}?",
            _mix(key, [(kb.findings[f].label, f) for f in (fid, *others)]), fid,
            f"{kb.findings[fid].label.rstrip('?')}: {ci.reason}", cite(kb, ci.source_id)))
    return out


def _risk_checks(kb: m.KnowledgeBase) -> list[SelfCheck]:
    rfs = list(kb.risk_factors.values())
    changeable = _pick("risk+", (r.risk_factor_id for r in rfs if r.modifiable), CHECK_LENGTH // 2)
    fixed = _pick("risk-", (r.risk_factor_id for r in rfs if not r.modifiable), CHECK_LENGTH // 2)
    out = []
    for rid in sorted([*changeable, *fixed], key=lambda r: _stable("risk" + r)):
        r = kb.risk_factors[rid]
        answer = "yes" if r.modifiable else "no"
        out.append(SelfCheck(
            f"risk:{rid}", f"Can a patient change this risk factor: {r.name.lower()}?",
            (("Yes, it can be changed", "yes"), ("No, it cannot be changed", "no")), answer,
            f"{r.explanation} {r.prevention_advice}", cite(kb, r.source_id)))
    return out


def must_not_miss(kb: m.KnowledgeBase) -> tuple[m.Condition, ...]:
    """The must-not-miss causes this knowledge base has, in teaching order."""
    return tuple(kb.conditions[c] for c in MUST_NOT_MISS if c in kb.conditions)


def must_not_miss_rules(kb: m.KnowledgeBase) -> tuple[m.TriageRule, ...]:
    """Triage rules that catch a must-not-miss cause: a rule using a finding that raises the
    odds of one of them at least moderately (LR+ 5 or more), or one of the must-not-miss
    findings; most urgent first."""
    ids = {c.condition_id for c in must_not_miss(kb)}
    linked = {x.finding_id for x in kb.condition_findings
              if x.condition_id in ids and x.lr_positive >= MUST_NOT_MISS_MIN_LR}
    linked |= {f for f in MUST_NOT_MISS_FINDINGS if f in kb.findings}
    return tuple(r for r in rules_in_order(kb) if linked & set(r.findings))


def _must_not_miss_checks(kb: m.KnowledgeBase) -> list[SelfCheck]:
    out: list[SelfCheck] = []
    for c in must_not_miss(kb):
        q = _finding_question(kb, c.condition_id, "mnm")
        if q is not None:
            out.append(q)
    out = out[: CHECK_LENGTH - 2]
    levels = [(urgency_label(u), u) for u in m.URGENCIES if u != "incomplete"]
    for r in must_not_miss_rules(kb)[:2]:
        answers = drill_answers(kb, r)
        urgency = assess(answers, kb).urgency
        said = "; ".join(kb.findings[f].label.rstrip("?") for f in r.findings)
        out.append(SelfCheck(
            f"mnm-rule:{r.rule_id}", f"A patient with upper back pain answers yes to: {said}, "
            "and no to every other red-flag question. How urgent is it?", tuple(levels), urgency,
            f"Rule \u201c{r.label}\u201d: {r.rationale}", cite(kb, r.source_id)))
    return out


def self_checks(kb: m.KnowledgeBase, topic: str) -> tuple[SelfCheck, ...]:
    """The questions of one lesson's self-check, built now from the knowledge base."""
    build = {"causes": _causes_checks, "workup": _workup_checks, "risk": _risk_checks,
             "must_not_miss": _must_not_miss_checks}
    if topic not in build:
        raise AnswerError(f"unknown self-check topic '{topic}': one of {', '.join(CHECK_TOPICS)}")
    return tuple(build[topic](kb))


def check_answer(q: SelfCheck, value: str | None) -> DrillFeedback:
    """Kind feedback on a self-check answer, with the reason and its source either way."""
    if value is None:
        raise AnswerError("choose an answer first")
    right = dict((v, label) for label, v in q.options)[q.answer]
    correct = value == q.answer
    verdict = ("Yes, that is it." if correct else
               f"Not quite: the answer is \u201c{right.rstrip('?')}\u201d.")
    return DrillFeedback(correct, verdict, (Reason(q.explanation, q.source),))


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
