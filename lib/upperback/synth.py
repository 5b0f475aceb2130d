"""Synthetic cohorts: reproducible, invented patients that exercise every rule and urgency.

No real patient is involved. Each finding is answered yes with a rate that suits its kind (red
flags are rare, history items common), some answers are left blank, some patients skip whole
stretches of the checklist, and a share of patients are built around one triage rule so even
rules with several findings fire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _model as m
from .cohort import ID_COLUMN

if TYPE_CHECKING:
    import pandas as pd

#: Probability that a finding of each kind is answered yes.
YES_RATE = {"ambulance": 0.005, "emergency": 0.01, "urgent": 0.02, "see_provider": 0.04,
            "history": 0.25}
BLANK_RATE = 0.04  # one answer in 25 left blank
SKIPPER_RATE = 0.05  # patients who left half of the checklist unanswered
PLANTED_RATE = 0.08  # patients built around one rule (all its findings yes)


def synthetic_cohort(n: int, seed: int, kb: m.KnowledgeBase) -> pd.DataFrame:
    """`patient_id`, then one column per finding (checklist order): "true", "false" or ""."""
    import pandas as pd

    if n < 0:
        raise ValueError("n must be 0 or more")
    rng = np.random.default_rng(seed)
    findings = kb.findings_in_order()
    ids = [f.finding_id for f in findings]
    col = {f: j for j, f in enumerate(ids)}
    rate = np.array([YES_RATE[f.kind] for f in findings])
    answers = (rng.random((n, len(ids))) < rate).astype(np.int8)  # 1 yes, 0 no

    open_ = rng.random((n, len(ids))) < BLANK_RATE
    skippers = rng.random(n) < SKIPPER_RATE
    open_[skippers] |= rng.random((int(skippers.sum()), len(ids))) < 0.5
    answers[open_] = 2  # blank; planted rules below overwrite it, so they do fire

    rules = sorted(kb.rules.values(), key=lambda r: r.rule_id)
    planted = np.flatnonzero(rng.random(n) < PLANTED_RATE)
    if n >= len(rules):  # small cohorts still see every rule fire at least once
        planted = np.union1d(planted, rng.choice(n, size=len(rules), replace=False))
    rng.shuffle(planted)
    which = np.arange(len(planted)) % max(len(rules), 1)
    for k, rule in enumerate(rules):
        rows = planted[which == k]
        for fid in rule.findings:
            answers[rows, col[fid]] = 1
    # the "aged N or older" answers of one patient must agree: draw an age, derive them, and
    # keep a planted yes (it raises the age) and the blanks as they are
    ages = rng.integers(18, 95, size=n)
    for f in findings:
        if f.min_age is not None:
            j = col[f.finding_id]
            ages = np.where(answers[:, j] == 1, np.maximum(ages, f.min_age), ages)
    for f in findings:
        if f.min_age is not None:
            j = col[f.finding_id]
            answers[:, j] = np.where(answers[:, j] == 2, 2, (ages >= f.min_age).astype(np.int8))

    words = np.array(["false", "true", ""], dtype=object)
    width = max(len(str(n)), 7)
    data: dict[str, pd.Series[str]] = {
        ID_COLUMN: pd.Series([f"SYN{i:0{width}d}" for i in range(1, n + 1)], dtype="str")}
    for j, fid in enumerate(ids):
        data[fid] = pd.Series(words[answers[:, j]], dtype="str")
    return pd.DataFrame(data)


def write_cohort(frame: pd.DataFrame, path: str) -> None:
    """CSV, gzip-compressed CSV or Parquet by extension, written atomically."""
    import gzip
    import io

    from ._errors import CohortError
    from ._io import save_atomic

    name = path.lower()
    if name.endswith(".csv"):
        save_atomic(path, frame.to_csv(index=False, lineterminator="\n"))
    elif name.endswith(".csv.gz"):
        # mtime=0: the same seed gives the same bytes
        save_atomic(path, gzip.compress(frame.to_csv(index=False, lineterminator="\n").encode(),
                                        mtime=0))
    elif name.endswith((".parquet", ".pq")):
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        save_atomic(path, buf.getvalue())
    else:
        raise CohortError(f"{path}: use a .csv, .csv.gz or .parquet file (the format follows "
                          "the extension)")
