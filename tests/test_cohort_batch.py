"""The column-wise batch triage (`_rules.triage_columns`, what cohort triage runs) against the
single-patient triage, for the shipped knowledge base: same urgency, same rule statuses, and
cause log-odds summed in the same order, so the floors agree bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import upperback
from upperback import urgency_rank
from upperback._rules import (
    FIRED,
    OPEN,
    compile_plan,
    log_odds,
    rule_status,
    triage_batch_detail,
    triage_one,
)

KB = upperback.load_knowledge_base()
PLAN = compile_plan(KB)
FIDS = PLAN.finding_ids


def consistent(answers: dict[str, bool]) -> bool:
    """No "aged N or older" yes above a "aged M or older" no (assess refuses those)."""
    yes = [n for f, n in PLAN.min_age.items() if answers.get(f) is True]
    no = [n for f, n in PLAN.min_age.items() if answers.get(f) is False]
    return not (yes and no and max(yes) >= min(no))


people = st.lists(
    st.tuples(st.dictionaries(st.sampled_from(FIDS), st.booleans()),
              # ages past the usual range too: the prior lookup must stay exact for any key
              st.none() | st.integers(0, 120) | st.integers(121, 3000)),
    min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(people)
def test_columns_equal_single_patients(group: list[tuple[dict[str, bool], int | None]]) -> None:
    group = [(a, age) for a, age in group if consistent(a)]
    if not group:
        return
    yes = np.array([[a.get(f) is True for f in FIDS] for a, _ in group], dtype=bool)
    no = np.array([[a.get(f) is False for f in FIDS] for a, _ in group], dtype=bool)
    ages = np.array([-1 if age is None else age for _, age in group])
    ranks, fired, undecided = triage_batch_detail(PLAN, yes, no, ages)
    for i, (answers, age) in enumerate(group):
        assert ranks[i] == urgency_rank(triage_one(KB, answers, age))
        status = rule_status(PLAN, answers)
        assert list(fired[i]) == [s == FIRED for s in status]
        assert list(undecided[i]) == [s == OPEN for s in status]


def test_floor_log_odds_match_bit_for_bit() -> None:
    """The batch sums start from the prior and add each answered finding in checklist order,
    as `log_odds` does: equal floats, not merely close ones."""
    from upperback._rules import _column_log_odds

    rng = np.random.default_rng(11)
    codes = rng.integers(-1, 2, size=(400, len(FIDS)))
    ages = rng.integers(-1, 121, size=400)
    rows = [({f: bool(c == 1) for f, c in zip(FIDS, row, strict=True) if c >= 0}, int(age))
            for row, age in zip(codes, ages, strict=True)]
    keep = [i for i, (a, _) in enumerate(rows) if consistent(a)]
    yes = [np.ascontiguousarray(codes[keep, j] == 1) for j in range(len(FIDS))]
    no = [np.ascontiguousarray(codes[keep, j] == 0) for j in range(len(FIDS))]
    odds = _column_log_odds(PLAN, len(keep), yes, no, ages[keep])
    assert odds
    for k, i in enumerate(keep):
        answers, age = rows[i]
        single = log_odds(KB, PLAN, answers, None if age < 0 else age)
        for ci, column in odds.items():
            assert column[k] == single[ci]
