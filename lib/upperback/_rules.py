"""The one definition of triage: a rule plan compiled once per knowledge base and used by
`assess`, `triage`, "what would change the decision" and cohort triage alike.

A rule fires when all its findings are answered yes, is ruled out by any no, and is otherwise
open. The urgency is the most urgent of the fired rules and of the causes whose estimated
probability passes their threshold (`conditions.min_urgency`); with nothing fired it is
`incomplete` while any rule is open, `self_care` only once none is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from . import _model as m

if TYPE_CHECKING:  # numpy is imported lazily: single assessments never need it
    import numpy as np
    import numpy.typing as npt

FIRED, OPEN, RULED_OUT = "fired", "undecided", "ruled_out"
_SEE_PROVIDER = m.urgency_rank("see_provider")
_INCOMPLETE = m.urgency_rank("incomplete")
_SELF_CARE = m.urgency_rank("self_care")


@dataclass(frozen=True)
class Floor:
    """A cause that raises the urgency to `rank` once its log-odds reach `log_odds`."""

    condition_id: str
    condition: int  # position in RulePlan.conditions
    rank: int
    log_odds: float


@dataclass(frozen=True)
class RulePlan:
    """Rules and cause floors as positions into `finding_ids`, most urgent rule first."""

    finding_ids: tuple[str, ...]
    rules: tuple[m.TriageRule, ...]
    rule_rank: tuple[int, ...]
    rule_columns: tuple[tuple[int, ...], ...]
    rules_by_finding: Mapping[str, tuple[int, ...]]
    conditions: tuple[str, ...]
    #: Per condition: (finding column, log LR+, log LR-) of each link.
    links: tuple[tuple[tuple[int, float, float], ...], ...]
    conditions_by_finding: Mapping[str, tuple[int, ...]]
    #: finding -> ((condition position, log LR+, log LR-), ...)
    finding_links: Mapping[str, tuple[tuple[int, float, float], ...]]
    floors: tuple[Floor, ...]
    #: condition position -> its floors
    floors_by_condition: Mapping[int, tuple[Floor, ...]]
    #: Findings meaning "aged N or older": finding id -> N.
    min_age: Mapping[str, int]
    #: Prior rows: (condition position, age_min, age_max, log-odds of the prior).
    priors: tuple[tuple[int, int, int, float], ...]
    #: Prior log-odds per age interval, filled on first use (the plan lives as long as its KB).
    prior_cache: dict[tuple[int, int], list[float]] = field(
        default_factory=dict, compare=False, repr=False)


_PLANS: WeakKeyDictionary[m.KnowledgeBase, RulePlan] = WeakKeyDictionary()


def compile_plan(kb: m.KnowledgeBase) -> RulePlan:
    """The plan of `kb`, compiled once and cached for the life of the knowledge base."""
    plan = _PLANS.get(kb)
    if plan is None:
        plan = _compile(kb)
        _PLANS[kb] = plan
    return plan


def _compile(kb: m.KnowledgeBase) -> RulePlan:
    fids = tuple(f.finding_id for f in kb.findings_in_order())
    col = {f: i for i, f in enumerate(fids)}
    rules = tuple(sorted(kb.rules.values(),
                         key=lambda r: (-m.urgency_rank(r.urgency), r.rule_id)))
    by_finding: dict[str, list[int]] = {}
    for i, r in enumerate(rules):
        for f in r.findings:
            by_finding.setdefault(f, []).append(i)
    conds = tuple(kb.conditions)
    links: dict[str, list[tuple[int, float, float]]] = {c: [] for c in conds}
    cond_by_finding: dict[str, list[int]] = {}
    finding_links: dict[str, list[tuple[int, float, float]]] = {}
    for x in kb.condition_findings:
        lpos, lneg = math.log(x.lr_positive), math.log(x.lr_negative)
        links[x.condition_id].append((col[x.finding_id], lpos, lneg))
        cond_by_finding.setdefault(x.finding_id, []).append(conds.index(x.condition_id))
        finding_links.setdefault(x.finding_id, []).append(
            (conds.index(x.condition_id), lpos, lneg))
    floors = tuple(
        Floor(c.condition_id, conds.index(c.condition_id), m.urgency_rank(c.min_urgency),
              _logit(c.urgency_threshold))
        for c in kb.conditions.values()
        if c.min_urgency is not None and c.urgency_threshold is not None
    )
    return RulePlan(
        finding_ids=fids, rules=rules,
        rule_rank=tuple(m.urgency_rank(r.urgency) for r in rules),
        rule_columns=tuple(tuple(col[f] for f in r.findings) for r in rules),
        rules_by_finding={k: tuple(v) for k, v in by_finding.items()},
        conditions=conds, links=tuple(tuple(links[c]) for c in conds),
        conditions_by_finding={k: tuple(sorted(set(v))) for k, v in cond_by_finding.items()},
        finding_links={k: tuple(v) for k, v in finding_links.items()},
        floors=floors,
        floors_by_condition={f.condition: tuple(g for g in floors if g.condition == f.condition)
                             for f in floors},
        min_age={f.finding_id: f.min_age for f in kb.findings.values() if f.min_age is not None},
        priors=tuple((conds.index(p.condition_id), p.age_min, p.age_max, _logit(p.prior))
                     for p in kb.priors),
    )


def _logit(p: float) -> float:
    if p <= 0:
        return -math.inf
    if p >= 1:
        return math.inf
    return math.log(p / (1 - p))


# ------------------------------------------------------------------ priors by age band


def age_interval(plan: RulePlan, answers: Mapping[str, bool], age: int | None) -> tuple[int, int]:
    """The ages the answers allow: the age itself, or what the "aged N or older" answers say."""
    if age is not None:
        return age, age
    lo, hi = m.AGE_RANGE
    for fid, n in plan.min_age.items():
        v = answers.get(fid)
        if v is True:
            lo = max(lo, n)
        elif v is False:
            hi = min(hi, n - 1)
    return lo, hi


_PRIORS: WeakKeyDictionary[m.KnowledgeBase, dict[tuple[int, int], dict[str, m.ConditionPrior]]] = (
    WeakKeyDictionary())


def priors_for(kb: m.KnowledgeBase, lo: int, hi: int) -> Mapping[str, m.ConditionPrior]:
    """Every condition's prior row for the age interval [lo, hi]: the rows `prior_logits` uses,
    for showing (cached per interval)."""
    cache = _PRIORS.setdefault(kb, {})
    got = cache.get((lo, hi))
    if got is None:
        plan = compile_plan(kb)
        got = cache[(lo, hi)] = {}
        for ci, i in enumerate(_bands(plan, lo, hi)):
            cid = plan.conditions[ci]
            got[cid] = kb.priors[i] if i is not None else m.ConditionPrior(
                cid, *m.AGE_RANGE, 1e-9, "expert_estimate", kb.conditions[cid].source_id,
                "missing: validation reports it")
    return got


def prior_logits(plan: RulePlan, lo: int, hi: int) -> list[float]:
    """Log-odds of each condition's prior (plan order) for ages [lo, hi]."""
    got = plan.prior_cache.get((lo, hi))
    if got is None:
        got = plan.prior_cache[(lo, hi)] = [plan.priors[i][3] if i is not None else -math.inf
                                            for i in _bands(plan, lo, hi)]
    return got


def _bands(plan: RulePlan, lo: int, hi: int) -> list[int | None]:
    """Per condition, the position in `plan.priors` (= `kb.priors`) of the narrowest age band
    that contains [lo, hi]. Only a broken table (a condition without its all-ages row, which
    validation reports) falls back to the condition's widest band, or to None."""
    best: dict[int, tuple[int, int, int]] = {}
    widest: dict[int, tuple[int, int]] = {}
    for i, (ci, a, b, _) in enumerate(plan.priors):
        if a <= lo and hi <= b and (ci not in best or (b - a, a) < best[ci][:2]):
            best[ci] = (b - a, a, i)
        if ci not in widest or b - a > widest[ci][0]:
            widest[ci] = (b - a, i)
    return [best[ci][2] if ci in best else widest[ci][1] if ci in widest else None
            for ci in range(len(plan.conditions))]


def log_odds(kb: m.KnowledgeBase, plan: RulePlan, answers: Mapping[str, bool],
             age: int | None) -> list[float]:
    """Posterior log-odds of every condition (plan order): prior odds times the likelihood
    ratio of every answered linked finding (unanswered findings leave the odds alone)."""
    lo, hi = age_interval(plan, answers, age)
    out = list(prior_logits(plan, lo, hi))
    # checklist order, whatever order the answers came in: the sums (floating point) and so
    # the ranking must not depend on it
    links = plan.finding_links
    for fid in plan.finding_ids:
        v = answers.get(fid)
        if v is not None:
            for ci, lpos, lneg in links.get(fid, ()):
                out[ci] += lpos if v else lneg
    return out


# ------------------------------------------------------------------ one patient


def rule_status(plan: RulePlan, answers: Mapping[str, bool]) -> list[str]:
    """FIRED, OPEN or RULED_OUT for each rule of the plan."""
    return rule_status_subset(plan, answers, range(len(plan.rules)))


def rule_status_subset(plan: RulePlan, answers: Mapping[str, bool], rules: Sequence[int],
                       yes: str | None = None) -> list[str]:
    """`rule_status` for the given rule positions only (with finding `yes` taken as yes)."""
    fids = plan.finding_ids
    out = []
    for i in rules:
        state = FIRED
        for c in plan.rule_columns[i]:
            f = fids[c]
            v = True if f == yes else answers.get(f)
            if v is False:
                state = RULED_OUT
                break
            if v is None:
                state = OPEN
        out.append(state)
    return out


def rule_counts(plan: RulePlan, answers: Mapping[str, bool]) -> list[tuple[int, int]]:
    """(answered yes, answered no) among each rule's findings: enough to say how one more
    yes changes the rule without reading its other findings again."""
    fids = plan.finding_ids
    out = []
    for cols in plan.rule_columns:
        yes = no = 0
        for c in cols:
            v = answers.get(fids[c])
            if v is True:
                yes += 1
            elif v is False:
                no += 1
        out.append((yes, no))
    return out


def floor_rank(plan: RulePlan, odds: Sequence[float]) -> int:
    """The most urgent level the causes' probabilities call for (-1 for none)."""
    return max((f.rank for f in plan.floors if odds[f.condition] >= f.log_odds), default=-1)


def decide(plan: RulePlan, status: Sequence[str], floor: int) -> m.Urgency:
    """The urgency from rule statuses and the causes' floor."""
    top = max((r for r, s in zip(plan.rule_rank, status, strict=True) if s == FIRED),
              default=-1)
    top = max(top, floor)
    if top >= _SEE_PROVIDER:
        return m.URGENCIES[len(m.URGENCIES) - 1 - top]
    return "incomplete" if OPEN in status else "self_care"


def triage_one(kb: m.KnowledgeBase, answers: Mapping[str, bool], age: int | None = None
               ) -> m.Urgency:
    plan = compile_plan(kb)
    return decide(plan, rule_status(plan, answers), floor_rank(plan, log_odds(kb, plan, answers,
                                                                            age)))


# ------------------------------------------------------------------ many patients


def triage_batch(kb: m.KnowledgeBase | RulePlan, yes: npt.NDArray[Any], no: npt.NDArray[Any],
                 age: npt.NDArray[Any] | None = None) -> npt.NDArray[np.int8]:
    """Urgency ranks (`m.urgency_rank`) for many patients at once.

    `yes` and `no` are boolean arrays (patients x `plan.finding_ids`); a cell that is neither is
    unanswered. `age` is an integer array with -1 for unknown. Same answers as `triage_one`
    row by row: a property test holds the two together.
    """
    return triage_batch_detail(kb, yes, no, age)[0]


def triage_batch_detail(
    kb: m.KnowledgeBase | RulePlan, yes: npt.NDArray[Any], no: npt.NDArray[Any],
    age: npt.NDArray[Any] | None = None,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """`triage_batch` plus the rule statuses behind it (patients x `plan.rules`, in the plan's
    order): which rules fired and which are still open."""
    import numpy as np

    # the plan alone is enough (and picklable), so a worker never loads the knowledge base
    plan = kb if isinstance(kb, RulePlan) else compile_plan(kb)
    yes_cols = [np.ascontiguousarray(yes[:, j], dtype=bool) for j in range(yes.shape[1])]
    no_cols = [np.ascontiguousarray(no[:, j], dtype=bool) for j in range(no.shape[1])]
    ranks, fired, open_rules = triage_columns(plan, yes.shape[0], yes_cols, no_cols, age)
    return ranks, fired.T, open_rules.T


def triage_columns(
    plan: RulePlan, n: int, yes: Sequence[npt.NDArray[np.bool_]],
    no: Sequence[npt.NDArray[np.bool_]], age: npt.NDArray[Any] | None = None,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """`triage_batch_detail` on answer columns: `yes[j]` and `no[j]` are the boolean columns
    (n patients) of `plan.finding_ids[j]`. Returns the urgency ranks and the rule statuses as
    rules x patients (fired, open).

    Column by column, each step touches one contiguous column of n bytes: no patients x
    findings matrix is built, and the causes' log-odds are summed in checklist order starting
    from the prior, exactly as `log_odds` sums them for one patient.
    """
    import numpy as np

    k = len(plan.rules)
    fired = np.empty((k, n), dtype=bool)
    open_rules = np.empty((k, n), dtype=bool)
    ruled_out = np.empty(n, dtype=bool)
    for r, cols in enumerate(plan.rule_columns):
        f = fired[r]
        np.copyto(f, yes[cols[0]])
        np.copyto(ruled_out, no[cols[0]])
        for c in cols[1:]:
            f &= yes[c]
            ruled_out |= no[c]
        np.logical_or(f, ruled_out, out=open_rules[r])
        np.logical_not(open_rules[r], out=open_rules[r])
    # rules are sorted most urgent first: the first rank with a fired rule is the top one
    top = np.full(n, -1, dtype=np.int8)
    start = 0
    while start < k:
        rank = plan.rule_rank[start]
        end = start
        while end < k and plan.rule_rank[end] == rank:
            end += 1
        hit = fired[start:end].any(axis=0)
        np.copyto(top, np.int8(rank), where=hit & (top < 0))
        start = end
    if plan.floors:
        odds = _column_log_odds(plan, n, yes, no, age)
        for f_ in plan.floors:
            hit = odds[f_.condition] >= f_.log_odds
            np.copyto(top, np.int8(f_.rank), where=hit & (top < f_.rank))
    undecided = np.where(open_rules.any(axis=0), np.int8(_INCOMPLETE), np.int8(_SELF_CARE))
    ranks = np.where(top >= _SEE_PROVIDER, top, undecided).astype(np.int8)
    return ranks, fired, open_rules


def _column_log_odds(plan: RulePlan, n: int, yes: Sequence[npt.NDArray[np.bool_]],
                     no: Sequence[npt.NDArray[np.bool_]], age: npt.NDArray[Any] | None
                     ) -> dict[int, npt.NDArray[np.float64]]:
    """Log-odds of the conditions that have a floor, by condition position."""
    import numpy as np

    # the prior depends on the age interval: few distinct ones, so look each up once
    lo = np.full(n, m.AGE_RANGE[0], dtype=np.int64)
    hi = np.full(n, m.AGE_RANGE[1], dtype=np.int64)
    for fid, years in plan.min_age.items():
        c = plan.finding_ids.index(fid)
        np.maximum(lo, years, out=lo, where=yes[c])
        np.minimum(hi, years - 1, out=hi, where=no[c])
    bad = lo > hi  # contradictory age answers: single assessments refuse them; stay defined here
    lo[bad], hi[bad] = m.AGE_RANGE
    if age is not None:
        known = age >= 0
        np.copyto(lo, age, where=known, casting="unsafe")
        np.copyto(hi, age, where=known, casting="unsafe")
    span = int(hi.max()) + 1 if n else 1  # lo <= hi on every row
    key = lo * span + hi
    if span <= 1024:  # ages in years: counting the keys is far faster than sorting them
        present = np.flatnonzero(np.bincount(key))
        slot = np.zeros(int(present[-1]) + 1 if len(present) else 0, dtype=np.int64)
        slot[present] = np.arange(len(present))
        row = slot[key]
    else:
        present, row = np.unique(key, return_inverse=True)
    conditions = sorted({f.condition for f in plan.floors})
    # the prior of each row, one row per condition (a single gather for all of them)
    priors = np.array([[prior_logits(plan, int(p) // span, int(p) % span)[ci]
                        for p in present] for ci in conditions]).reshape(len(conditions), -1)
    start = np.take(priors, row.reshape(-1), axis=1)
    out: dict[int, npt.NDArray[np.float64]] = {}
    term = np.empty(n)
    for i, ci in enumerate(conditions):
        odds = start[i]
        # in checklist order, as `log_odds` adds them, so the sums match bit for bit: an
        # unanswered finding adds 0.0, which leaves a sum unchanged (log LRs are finite)
        for c, lpos, lneg in sorted(plan.links[ci], key=lambda link: link[0]):
            np.multiply(yes[c], lpos, out=term)
            odds += term
            np.multiply(no[c], lneg, out=term)
            odds += term
        out[ci] = odds
    return out
