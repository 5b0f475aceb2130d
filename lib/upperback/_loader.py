"""Loading and validating the knowledge base: schema checks (from the descriptor), the
cross-table rules a schema cannot state, and the safety cases run through the engine.

Loading is not validating. Validation (frictionless, cross-table rules, safety cases) takes
seconds, so it leaves a stamp: a file in the user's cache named by the hash of the content it
passed and of the code that judged it. A later load of identical content reads the CSVs and
skips the checks; content without a stamp is validated first, so speed never skips a check.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import fields as dc_fields
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from . import _model as m
from ._errors import KnowledgeBaseError, Problem
from ._schema import (
    DESCRIPTOR,
    PackageSpec,
    TableSpec,
    _convert,
    read_descriptor,
    read_table,
    validate_schema,
)

#: Resource name -> record class. Resources not listed here load into `extra_tables`.
RECORDS: Mapping[str, type] = MappingProxyType({
    "sources": m.Source, "conditions": m.Condition, "condition_priors": m.ConditionPrior,
    "findings": m.Finding,
    "triage_rules": m.TriageRule, "condition_findings": m.ConditionFinding,
    "diagnostic_tests": m.DiagnosticTest, "test_conditions": m.TestCondition,
    "treatments": m.Treatment, "treatment_conditions": m.TreatmentCondition,
    "treatment_contraindications": m.Contraindication, "risk_factors": m.RiskFactor,
    "complications": m.Complication, "advice": m.Advice,
    "screening_limits": m.ScreeningLimit, "safety_cases": m.SafetyCase,
})
#: Link tables folded into their parent records.
FOLDED = ("rule_findings", "safety_case_answers")

T = TypeVar("T")


#: Where an installed wheel carries the knowledge base (pyproject maps the top-level data/
#: folder here); a checkout or editable install has none and uses the repository's data/.
PACKAGED_DATA = Path(__file__).resolve().parent / "data"
REPO_DATA = Path(__file__).resolve().parents[2] / "data"


def default_data_dir() -> Path:
    """`UPPERBACK_DATA` if set, else the knowledge base shipped in the package (a wheel), else
    the repository's `data/` folder (a checkout or editable install)."""
    env = os.environ.get("UPPERBACK_DATA")
    if env:
        return Path(env)
    return PACKAGED_DATA if (PACKAGED_DATA / DESCRIPTOR).is_file() else REPO_DATA


def content_version(folder: Path, spec: PackageSpec) -> str:
    """Descriptor version plus a short hash of the content, so an edit never passes for the old."""
    digest = hashlib.sha256()
    for name in sorted([DESCRIPTOR, *(t.path for t in spec.tables.values())]):
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return f"{spec.version}+{digest.hexdigest()[:8]}"


def _records(cls: Callable[..., T], rows: tuple[dict[str, object], ...]) -> tuple[T, ...]:
    names = {f.name for f in dc_fields(cls)}  # type: ignore[arg-type]
    return tuple(cls(**{k: v for k, v in r.items() if k in names}) for r in rows)


def _build(
    folder: Path, spec: PackageSpec,
    raw: Mapping[str, tuple[dict[str, object], ...]] | None = None,
    version: str | None = None,
) -> tuple[m.KnowledgeBase, dict[str, dict[str, int]]]:
    """Typed knowledge base plus, per table, the line of each row's key (for messages).
    `raw` and `version`, when given, come from a snapshot of the files (see `_Snapshot`)."""
    if raw is None:
        raw = {name: read_table(folder, t) for name, t in spec.tables.items()}
    lines: dict[str, dict[str, int]] = {}
    for name, t in spec.tables.items():
        lines[name] = {
            "|".join(str(r[k]) for k in t.primary_key): i + 2 for i, r in enumerate(raw[name])
        }
    rule_findings: dict[str, list[str]] = defaultdict(list)
    for r in raw["rule_findings"]:
        rule_findings[str(r["rule_id"])].append(str(r["finding_id"]))
    case_answers: dict[str, dict[str, bool]] = defaultdict(dict)
    for r in raw["safety_case_answers"]:
        case_answers[str(r["case_id"])][str(r["finding_id"])] = bool(r["answer"])

    def keyed(name: str, key: str) -> Mapping[str, Any]:
        return MappingProxyType({getattr(x, key): x for x in _records(RECORDS[name], raw[name])})

    rules = MappingProxyType({
        str(r["rule_id"]): m.TriageRule(
            **{k: v for k, v in r.items()},  # type: ignore[arg-type]
            findings=tuple(rule_findings.get(str(r["rule_id"]), ())),
        )
        for r in raw["triage_rules"]
    })
    cases = MappingProxyType({
        str(r["case_id"]): m.SafetyCase(
            **{k: v for k, v in r.items()},  # type: ignore[arg-type]
            answers=MappingProxyType(case_answers.get(str(r["case_id"]), {})),
        )
        for r in raw["safety_cases"]
    })
    extra = {
        name: tuple(MappingProxyType(r) for r in rows)
        for name, rows in raw.items() if name not in RECORDS and name not in FOLDED
    }
    kb = m.KnowledgeBase(
        folder=str(folder),
        version=version or content_version(folder, spec),
        sources=keyed("sources", "source_id"),
        conditions=keyed("conditions", "condition_id"),
        priors=_records(m.ConditionPrior, raw["condition_priors"]),
        findings=keyed("findings", "finding_id"),
        rules=rules,
        condition_findings=_records(m.ConditionFinding, raw["condition_findings"]),
        tests=keyed("diagnostic_tests", "test_id"),
        test_conditions=_records(m.TestCondition, raw["test_conditions"]),
        treatments=keyed("treatments", "treatment_id"),
        treatment_conditions=_records(m.TreatmentCondition, raw["treatment_conditions"]),
        contraindications=_records(m.Contraindication, raw["treatment_contraindications"]),
        risk_factors=keyed("risk_factors", "risk_factor_id"),
        complications=keyed("complications", "complication_id"),
        advice=keyed("advice", "urgency"),
        screening_limits=_records(m.ScreeningLimit, raw["screening_limits"]),
        safety_cases=cases,
        extra_tables=MappingProxyType(extra),
    )
    return kb, lines


def _cross_checks(kb: m.KnowledgeBase, lines: dict[str, dict[str, int]]) -> list[Problem]:
    """The rules a schema cannot state. Each names the file, line and column to fix."""
    out: list[Problem] = []

    def add(table: str, key: str, column: str | None, msg: str, value: str | None = None) -> None:
        out.append(Problem(f"{table}.csv", msg, lines[table].get(key), column, value))

    kind_rank: dict[str, int] = {"history": 0,
                                 **{u: m.urgency_rank(u) for u in m.RULE_URGENCIES}}
    single: dict[str, set[str]] = defaultdict(set)
    for rule in kb.rules.values():
        if not rule.findings:
            add("triage_rules", rule.rule_id, "rule_id",
                f"rule '{rule.rule_id}' has no findings: list them in rule_findings.csv",
                rule.rule_id)
            continue
        if len(rule.findings) == 1:
            single[rule.findings[0]].add(rule.urgency)
        for fid in rule.findings:
            finding = kb.findings[fid]
            if kind_rank[finding.kind] > m.urgency_rank(rule.urgency):
                add("rule_findings", f"{rule.rule_id}|{fid}", "finding_id",
                    f"'{fid}' is a {finding.kind} finding, more urgent than rule "
                    f"'{rule.rule_id}' ({rule.urgency}): the rule can never matter; remove it "
                    "or raise its urgency", fid)
    for f in kb.findings.values():
        urgencies = single.get(f.finding_id, set())
        if f.kind == "history" and urgencies:
            add("findings", f.finding_id, "kind",
                f"'{f.finding_id}' is a history item but is a rule by itself "
                f"({', '.join(sorted(urgencies))}): set its kind to that urgency", f.kind)
        elif f.kind != "history" and urgencies != {f.kind}:
            add("findings", f.finding_id, "kind",
                f"'{f.finding_id}' is marked {f.kind}, so it needs a {f.kind} rule with it as "
                f"the only finding (found: {', '.join(sorted(urgencies)) or 'none'}); restore "
                "that rule in triage_rules.csv and rule_findings.csv, or change the kind", f.kind)
    used = (
        {fid for r in kb.rules.values() for fid in r.findings}
        | {link.finding_id for link in kb.condition_findings}
        | {r.finding_id for r in kb.risk_factors.values() if r.finding_id}
        | {c.finding_id for c in kb.contraindications}
    )
    for fid in kb.findings:
        if fid not in used:
            add("findings", fid, "finding_id", f"'{fid}' is used by no rule, condition link, "
                "risk factor or contraindication: link it or remove it", fid)
    linked = {link.condition_id for link in kb.condition_findings}
    for c in kb.conditions.values():
        if c.condition_id not in linked:
            add("conditions", c.condition_id, "condition_id", f"'{c.condition_id}' has no "
                "findings in condition_findings.csv, so it can never be suggested", c.condition_id)
        if not c.icd10cm and not c.icd10cm_note:
            add("conditions", c.condition_id, "icd10cm_note",
                f"'{c.condition_id}' has no ICD-10-CM code: say why in icd10cm_note")
        seen, parent = {c.condition_id}, c.parent
        while parent:
            if parent in seen:
                add("conditions", c.condition_id, "parent",
                    f"'{c.condition_id}' is its own ancestor: break the parent loop", c.parent)
                break
            seen.add(parent)
            parent = kb.conditions[parent].parent if parent in kb.conditions else None
    for t in kb.treatments.values():
        if bool(t.evidence_note) != bool(t.evidence_source_id):
            add("treatments", t.treatment_id, "evidence_source_id",
                f"'{t.treatment_id}': an evidence note and its source go together: fill both "
                "or neither")
    out += _differential_checks(kb, lines)
    for t in kb.treatments.values():
        if t.requires_finding and t.requires_finding not in kb.findings:
            add("treatments", t.treatment_id, "requires_finding",
                f"'{t.requires_finding}' is not a finding id", t.requires_finding)
    for urgency in m.URGENCIES:
        if urgency not in kb.advice:
            out.append(Problem("advice.csv", f"no advice for '{urgency}': add a row for it",
                               None, "urgency"))
    return out


def _differential_checks(kb: m.KnowledgeBase, lines: dict[str, dict[str, int]]) -> list[Problem]:
    """Priors and likelihood ratios: one all-ages prior per condition, no age counted twice,
    and floors that a "yes" can never lower."""
    out: list[Problem] = []

    def add(table: str, key: str, column: str | None, msg: str, value: str | None = None) -> None:
        out.append(Problem(f"{table}.csv", msg, lines[table].get(key), column, value))

    lo, hi = m.AGE_RANGE
    bands: dict[str, list[m.ConditionPrior]] = defaultdict(list)
    for p in kb.priors:
        bands[p.condition_id].append(p)
        if p.age_min > p.age_max:
            add("condition_priors", f"{p.condition_id}|{p.age_min}|{p.age_max}", "age_max",
                f"'{p.condition_id}': age_max is below age_min: swap them", str(p.age_max))
    age_findings = {f.finding_id for f in kb.findings.values() if f.min_age is not None}
    for c in kb.conditions.values():
        rows = bands.get(c.condition_id, [])
        if not any(p.age_min == lo and p.age_max == hi for p in rows):
            add("conditions", c.condition_id, "condition_id",
                f"'{c.condition_id}' has no all-ages prior: add a row {c.condition_id},{lo},{hi},"
                "... to condition_priors.csv (with its basis and source)", c.condition_id)
        banded = any((p.age_min, p.age_max) != (lo, hi) for p in rows)
        if not ((c.min_urgency is None) == (c.urgency_threshold is None)
                == (c.threshold_basis is None) == (c.threshold_source_id is None)):
            add("conditions", c.condition_id, "urgency_threshold",
                f"'{c.condition_id}': min_urgency, urgency_threshold, threshold_basis and "
                "threshold_source_id go together: fill all four or none")
        for x in kb.condition_findings:
            if x.condition_id != c.condition_id:
                continue
            key = f"{x.condition_id}|{x.finding_id}"
            if banded and x.finding_id in age_findings:
                add("condition_findings", key, "finding_id",
                    f"'{c.condition_id}' has age-banded priors, so a link to '{x.finding_id}' "
                    "counts age twice: remove the link or the bands", x.finding_id)
            if c.min_urgency is not None and (x.lr_positive < 1 or x.lr_negative > 1):
                add("condition_findings", key, "lr_positive",
                    f"'{c.condition_id}' sets a minimum urgency, so a yes must never lower it: "
                    "lr_positive must be at least 1 and lr_negative at most 1 "
                    f"(found {x.lr_positive} and {x.lr_negative})")
    return out


#: The emergency red flags the suite promises (from the article and the safety rules). Data
#: can add rules, but an edit that removes or weakens one of these (together with its safety
#: cases) must still fail validation: each set answered yes must give an emergency.
SAFETY_FLOOR: tuple[frozenset[str], ...] = tuple(frozenset(s) for s in (
    {"saddle_or_leg_numbness"}, {"cannot_walk_or_stand"}, {"bladder_bowel_control_loss"},
    {"pain_radiates_to_abdomen"}, {"sudden_severe_leg_or_low_back_pain"}, {"recent_trauma"},
    {"loss_of_consciousness"}, {"chest_pain_or_pressure"}, {"shortness_of_breath"},
    {"acute_onset", "osteoporosis"}, {"acute_onset", "long_term_steroid_use"},
))


def _safety_checks(kb: m.KnowledgeBase, lines: dict[str, dict[str, int]]) -> list[Problem]:
    """Run every safety case and the safety floor; ask that every red-flag rule has a case."""
    from ._engine import assess

    out: list[Problem] = []
    for required in SAFETY_FLOOR:
        missing = sorted(required - set(kb.findings))
        if missing or m.urgency_rank(assess(dict.fromkeys(required, True), kb).urgency) < (
                m.urgency_rank("emergency")):
            out.append(Problem(
                "triage_rules.csv",
                f"{' + '.join(sorted(required))} answered yes must give an emergency department "
                "or an ambulance (a red flag "
                "the suite promises"
                + (f"; missing finding {', '.join(missing)}" if missing else "")
                + "): restore its emergency rule in triage_rules.csv and rule_findings.csv",
                None, "urgency"))
    for case in kb.safety_cases.values():
        got = assess(kb.case_answers(case), kb).urgency
        if case.max_urgency and m.urgency_rank(got) > m.urgency_rank(case.max_urgency):
            out.append(Problem(
                "safety_cases.csv",
                f"safety case '{case.case_id}' must be at most {case.max_urgency} but now gives "
                f"{got} ({case.description}): a rule over-triages it; check the rules that fire",
                lines["safety_cases"].get(case.case_id), "max_urgency", case.max_urgency))
        if m.urgency_rank(got) < m.urgency_rank(case.min_urgency):
            out.append(Problem(
                "safety_cases.csv",
                f"safety case '{case.case_id}' must be at least {case.min_urgency} but now gives "
                f"{got} ({case.description}). A red-flag rule it protects was deleted or "
                "weakened: restore it in triage_rules.csv / rule_findings.csv",
                lines["safety_cases"].get(case.case_id), "min_urgency", case.min_urgency))
    for rule in kb.rules.values():
        protected = any(
            case.min_urgency == rule.urgency
            and all(case.answers.get(f) is True for f in rule.findings)
            for case in kb.safety_cases.values()
        )
        if not protected and rule.findings:
            out.append(Problem(
                "triage_rules.csv",
                f"rule '{rule.rule_id}' has no safety case: add one to safety_cases.csv with its "
                f"findings answered true and min_urgency {rule.urgency}",
                lines["triage_rules"].get(rule.rule_id), "rule_id", rule.rule_id))
    out += _teaching_checks(kb, lines)
    return out


def _teaching_checks(kb: m.KnowledgeBase, lines: dict[str, dict[str, int]]) -> list[Problem]:
    """A teaching case that cannot be read, or whose expected urgency the engine does not give,
    would teach the wrong answer: refuse it (the case form is parsed by `quiz`)."""
    from .quiz import case_problems

    return case_problems(kb)


def check_record_fields(spec: PackageSpec) -> list[Problem]:
    """The record classes must carry exactly the descriptor's columns."""
    out = []
    for name, cls in RECORDS.items():
        declared = [f.name for f in spec.tables[name].fields] if name in spec.tables else []
        modelled = [f.name for f in dc_fields(cls) if f.name not in ("findings", "answers")]
        if declared != modelled:
            out.append(Problem(DESCRIPTOR, f"resource '{name}' declares {declared} but the "
                               f"library models {modelled}: update lib/upperback/_model.py"))
    return out


def validate_knowledge_base(path: str | os.PathLike[str] | None = None) -> list[Problem]:
    """Every problem of the folder (schema, cross-table, safety cases), or [] when valid.

    Always runs every check (never trusts a stamp); a valid folder is stamped, so later loads
    of the same content are fast."""
    try:
        _validate(Path(path) if path is not None else default_data_dir())
    except KnowledgeBaseError as exc:
        return list(exc.problems)
    return []


def _validate(folder: Path) -> m.KnowledgeBase:
    """Every check, then a stamp for the content that passed them."""
    for _ in range(3):
        before = _Snapshot.take(folder)
        kb = _load(folder)
        # Stamp only what was on disk before and after the checks: an edit made while they
        # ran is never stamped as validated. A publish swapping the folder mid-read could give
        # a mix of old and new files: read again until the folder held still.
        if before is not None and before == _Snapshot.take(folder):
            _write_stamp(folder, before.digest)
            return kb
    return kb


def _load(folder: Path) -> m.KnowledgeBase:
    if not folder.is_dir():
        raise KnowledgeBaseError([Problem(str(folder), "is not a folder: point --data or "
                                          "UPPERBACK_DATA at the knowledge-base folder")])
    spec = read_descriptor(folder)
    missing = [n for n in (*RECORDS, *FOLDED) if n not in spec.tables]
    if missing:
        raise KnowledgeBaseError([Problem(DESCRIPTOR, f"resource '{n}' is not declared: restore "
                                          "it from version control") for n in missing], str(folder))
    problems = check_record_fields(spec) or validate_schema(folder, spec)
    if problems:
        raise KnowledgeBaseError(problems, str(folder))
    kb, lines = _build(folder, spec)
    # The schema guarantees every id the engine follows exists, so the safety cases can run
    # even when a cross-table rule is broken: report both, the cause and its consequence.
    problems = _cross_checks(kb, lines) + _safety_checks(kb, lines)
    if problems:
        raise KnowledgeBaseError(problems, str(folder))
    return kb


def load_knowledge_base(
    path: str | os.PathLike[str] | None = None, *, validate: bool = False
) -> m.KnowledgeBase:
    """Load a knowledge base folder (default: `default_data_dir()`).

    Content that a validation has stamped loads without the checks; any other content is fully
    validated first (and stamped when valid). `validate=True` runs every check regardless.
    Raises `KnowledgeBaseError` listing every problem, with file, line and column.
    """
    folder = Path(path) if path is not None else default_data_dir()
    if validate:
        return _validate(folder)
    return _cached(str(folder.resolve()), _stat_key(folder))


def _stat_key(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Changes whenever a file in the folder changes, so the cache never serves stale data."""
    if not folder.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()))


@lru_cache(maxsize=8)
def _cached(folder: str, stat_key: tuple[tuple[str, int, int], ...]) -> m.KnowledgeBase:
    path = Path(folder)
    snap = _Snapshot.take(path)
    if snap is None or not _is_stamped(path, snap.digest):
        return _validate(path)
    # Built from the very bytes the digest covers: a file edited meanwhile cannot slip in.
    kb, _ = _build(path, snap.spec, snap.rows(), snap.version)
    return kb


# -- validation stamps ------------------------------------------------------------------------

#: The modules whose code decides what is valid: a change to any of them makes every stamp stale.
_JUDGES = ("_loader.py", "_schema.py", "_engine.py", "_rules.py", "_model.py")


@lru_cache(maxsize=1)
def _judges_digest() -> bytes:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _JUDGES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    return digest.digest()


class _Snapshot:
    """The bytes of a folder's descriptor and tables, read once, and their digest."""

    def __init__(self, spec: PackageSpec, files: dict[str, bytes], csvs: tuple[str, ...]):
        self.spec, self.files = spec, files
        digest = hashlib.sha256(_judges_digest())
        # Undeclared CSV files are a validation problem, so their names belong in the digest.
        digest.update("\0".join(csvs).encode() + b"\0")
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + files[name] + b"\0")
        self.digest = digest.hexdigest()
        short = hashlib.sha256()
        for name in sorted(files):  # the same recipe as `content_version`
            short.update(name.encode() + b"\0" + files[name] + b"\0")
        self.version = f"{spec.version}+{short.hexdigest()[:8]}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Snapshot) and other.digest == self.digest

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def take(cls, folder: Path) -> _Snapshot | None:
        """None when the folder cannot be read as a package: validation will say why."""
        try:
            spec = read_descriptor(folder)
            names = [DESCRIPTOR, *(t.path for t in spec.tables.values())]
            files = {name: (folder / name).read_bytes() for name in names}
            csvs = tuple(sorted(p.name for p in folder.glob("*.csv")))
        except (KnowledgeBaseError, OSError):
            return None
        return cls(spec, files, csvs)

    def rows(self) -> dict[str, tuple[dict[str, object], ...]]:
        return {name: _rows(self.files[t.path], t) for name, t in self.spec.tables.items()}


def _rows(data: bytes, table: TableSpec) -> tuple[dict[str, object], ...]:
    """`read_table` over bytes already read (and validated)."""
    types = {f.name: f.type for f in table.fields}
    # utf-8-sig: files saved by Excel start with a byte-order mark, accepted everywhere
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return tuple({k: _convert(v, types[k]) for k, v in row.items()} for row in reader)


def stamp_path(digest: str) -> Path:
    """The stamp of validated content: a file named by its digest in the user's cache (never in
    the knowledge-base folder, so stamps do not travel into copies, backups or diffs, and a
    read-only folder such as an installed wheel's is stamped too)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "upperback" / "validated" / digest


def _is_stamped(folder: Path, digest: str) -> bool:
    return stamp_path(digest).is_file()


def _write_stamp(folder: Path, digest: str) -> None:
    """Best effort: without a stamp the next load simply validates again."""
    from . import __version__
    from ._io import save_atomic

    target = stamp_path(digest)
    text = json.dumps({"digest": digest, "folder": str(folder.resolve()),
                       "validated_by": f"upperback {__version__}"}) + "\n"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        save_atomic(target, text)
    except OSError:
        pass
