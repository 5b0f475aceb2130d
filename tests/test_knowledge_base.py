"""Loading and validating the knowledge base: the real data, and the ways an analyst breaks it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import upperback
from conftest import edit
from upperback import KnowledgeBaseError, Problem
from upperback._loader import RECORDS, check_record_fields, default_data_dir
from upperback._schema import read_descriptor

DATA = Path(__file__).resolve().parents[1] / "data"


def test_real_data_validates() -> None:
    assert upperback.validate_knowledge_base(DATA) == []


def test_issue_9_contract_ids_present(kb: upperback.KnowledgeBase) -> None:
    assert {"spinal_infection", "aortic_dissection", "pulmonary_embolism", "shingles",
            "pyelonephritis"} <= set(kb.conditions)
    assert {"sudden_severe_upper_back_pain", "pain_worse_on_breathing_in", "injected_drug_use",
            "immunosuppressed", "burning_band_pain_or_rash"} <= set(kb.findings)
    assert upperback.URGENCIES == ("ambulance", "emergency", "urgent", "see_provider",
                                   "incomplete", "self_care")
    assert set(kb.advice) == set(upperback.URGENCIES)
    # every condition has an all-ages prior; every number carries a basis and a source
    assert {p.condition_id for p in kb.priors if (p.age_min, p.age_max) == (0, 120)} == set(
        kb.conditions)
    assert all(x.basis and x.source_id in kb.sources for x in (*kb.priors,
                                                                *kb.condition_findings))
    # what is now screened has left the "not screened" list
    assert not {s.limit_id for s in kb.screening_limits} & {
        "aortic_dissection", "pulmonary_embolism", "spinal_infection", "shingles"}


def test_contract_ids_present(kb: upperback.KnowledgeBase) -> None:
    conditions = {"back_strain", "sprain", "traumatic_fracture", "thoracic_spondylosis",
                  "poor_posture", "degenerative_disc_disease", "compression_fracture",
                  "spinal_deformity", "arthritis", "spinal_stenosis", "spinal_tumor",
                  "organ_disease", "pregnancy", "heart_attack"}
    assert conditions <= set(kb.conditions)
    emergency = {"saddle_or_leg_numbness", "cannot_walk_or_stand", "bladder_bowel_control_loss",
                 "pain_radiates_to_abdomen", "sudden_severe_leg_or_low_back_pain",
                 "recent_trauma", "loss_of_consciousness", "chest_pain_or_pressure",
                 "shortness_of_breath"}
    assert emergency <= {f for f, x in kb.findings.items() if x.kind in ("ambulance", "emergency")}
    see = {"pain_over_two_weeks", "numbness_or_tingling", "otc_pain_relief_not_working",
           "leg_weakness_numbness_or_pain", "balance_or_walking_difficulty", "fever",
           "unintended_weight_loss"}
    assert see <= {f for f, x in kb.findings.items() if x.kind == "see_provider"}
    history = {"heavy_lifting", "whiplash_or_sudden_twist", "age_50_or_older",
               "visible_spinal_curvature", "poor_posture", "pain_at_night_or_rest", "pregnancy",
               "nausea_or_vomiting",
               "stiffness_worse_in_morning", "family_history_arthritis",
               "radiating_arm_or_rib_pain", "smoking", "excess_weight",
               "physically_demanding_job", "low_fitness", "depression_or_anxiety",
               "long_term_steroid_use", "acute_onset", "osteoporosis"}
    assert history <= {f for f, x in kb.findings.items() if x.kind == "history"}
    combos = {frozenset(r.findings) for r in kb.rules.values() if r.urgency == "emergency"}
    assert {"flank_pain_or_blood_in_urine", "pain_after_fatty_meal"} <= {
        f for f, x in kb.findings.items() if x.kind == "see_provider"}
    assert frozenset({"acute_onset", "osteoporosis"}) in combos
    assert frozenset({"acute_onset", "long_term_steroid_use"}) in combos


def test_every_clinical_row_cites_an_existing_source(kb: upperback.KnowledgeBase) -> None:
    rows: list[object] = [*kb.conditions.values(), *kb.findings.values(), *kb.rules.values(),
                          *kb.condition_findings, *kb.tests.values(), *kb.test_conditions,
                          *kb.treatments.values(), *kb.treatment_conditions,
                          *kb.contraindications, *kb.risk_factors.values(),
                          *kb.complications.values(), *kb.advice.values()]
    for row in rows:
        assert row.source_id in kb.sources, row


def test_version_is_descriptor_version_plus_content_hash(kb: upperback.KnowledgeBase) -> None:
    descriptor = json.loads((DATA / "datapackage.json").read_text())
    assert re.fullmatch(re.escape(descriptor["version"]) + r"\+[0-9a-f]{8}", kb.version)


def test_an_edit_changes_the_version(data_copy: Path, kb: upperback.KnowledgeBase) -> None:
    path = data_copy / "complications.csv"
    path.write_text(path.read_text().replace("leading cause", "major cause"))
    assert upperback.load_knowledge_base(data_copy).version != kb.version


def test_records_mirror_the_descriptor() -> None:
    assert check_record_fields(read_descriptor(DATA)) == []
    assert set(RECORDS) <= set(read_descriptor(DATA).tables)


def test_env_var_overrides_default(monkeypatch: pytest.MonkeyPatch, data_copy: Path) -> None:
    monkeypatch.setenv("UPPERBACK_DATA", str(data_copy))
    assert default_data_dir() == data_copy
    assert upperback.load_knowledge_base().folder == str(data_copy.resolve())


def test_knowledge_base_is_read_only(kb: upperback.KnowledgeBase) -> None:
    with pytest.raises(TypeError):
        kb.findings["x"] = kb.findings["fever"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        kb.version = "2"  # type: ignore[misc]


# --- breaking the data on purpose ---------------------------------------------------------

DATA = Path(__file__).resolve().parents[1] / "data"


def _line(name: str, text: str) -> int:
    """The 1-based line of the first occurrence of `text` in a shipped file."""
    return next(i for i, line in enumerate((DATA / name).read_text().splitlines(), 1)
                if text in line)


def _append_text(name: str, text: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        with (folder / name).open("a", encoding="utf-8") as fh:
            fh.write(text)
    return apply


def _edit(name: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    return lambda folder: edit(folder, name, old, new, count)


def _drop_column(name: str, column: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        import csv
        path = folder / name
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        i = rows[0].index(column)
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows([r[:i] + r[i + 1:] for r in rows])
    return apply


def _append_line(name: str, line_no: int) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / name
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(lines) + lines[line_no - 1], encoding="utf-8")
    return apply


def _latin1(name: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / name
        text = path.read_text(encoding="utf-8").replace("Back strain", "Back strain (dorsalgie é)")
        path.write_bytes(text.encode("latin-1"))
    return apply


def _remove_lines(name: str, pattern: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / name
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [x for x in lines if not re.match(pattern, x)]
        assert len(kept) < len(lines)
        path.write_text("".join(kept), encoding="utf-8")
    return apply


def _write(name: str, text: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / name).write_text(text, encoding="utf-8")
    return apply


def _delete(name: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / name).unlink()
    return apply


def _both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        for e in edits:
            e(folder)
    return apply


# (case id, edit, expected file, expected line (None: any), expected column, words in message)
BROKEN = [
    ("empty csv", _write("advice.csv", ""), "advice.csv", None, None, "empty"),
    ("deleted column", _drop_column("complications.csv", "name"), "complications.csv", None,
     "name", "missing"),
    ("renamed column",
     _edit("complications.csv", "complication_id,name,", "complication_id,title,"),
     "complications.csv", None, "name", "missing"),
    ("duplicate id", _append_line("sources.csv", 3), "sources.csv",
     len((DATA / "sources.csv").read_text().splitlines()) + 1, "source_id", "duplicate"),
    ("blank id", _edit("findings.csv", "\nsaddle_or_leg_numbness,", "\n,"), "findings.csv",
     _line("findings.csv", "saddle_or_leg_numbness,"),
     "finding_id", "required"),
    ("unknown condition id", _edit("treatment_conditions.csv", "oral_nsaid,back_strain",
                                   "oral_nsaid,back_stain"),
     "treatment_conditions.csv", None, "condition_id", "back_stain"),
    ("value outside enum", _edit("findings.csv", ",history,", ",hystory,"), "findings.csv",
     _line("findings.csv", ",history,"),
     "kind", "allowed values"),
    ("not a boolean", _edit("safety_case_answers.csv", ",true\n", ",yes\n"),
     "safety_case_answers.csv", 2, "answer", "true or false"),
    ("bad number", _edit("condition_findings.csv", "back_strain,heavy_lifting,4,",
                         "back_strain,heavy_lifting,strong,"),
     "condition_findings.csv", _line("condition_findings.csv", "back_strain,heavy_lifting,"),
     "lr_positive", "number"),
    ("likelihood ratio out of range", _edit("condition_findings.csv",
                                            "back_strain,heavy_lifting,4,",
                                            "back_strain,heavy_lifting,0,"),
     "condition_findings.csv", _line("condition_findings.csv", "back_strain,heavy_lifting,"),
     "lr_positive", "minimum"),
    ("bad basis", _edit("condition_findings.csv", "back_strain,heavy_lifting,4,0.6,expert_estimate",
                        "back_strain,heavy_lifting,4,0.6,hunch"),
     "condition_findings.csv", _line("condition_findings.csv", "back_strain,heavy_lifting,"),
     "basis", "allowed values"),
    ("condition without an all-ages prior",
     _remove_lines("condition_priors.csv", r"back_strain,0,120,"),
     "conditions.csv", None, "condition_id", "no all-ages prior"),
    ("age counted twice", _append_text("condition_findings.csv",
                                       "compression_fracture,age_70_or_older,3,0.9,"
                                       "expert_estimate,x,downie_2013\n"),
     "condition_findings.csv", None, "finding_id", "counts age twice"),
    ("floor a yes could lower", _append_text("condition_findings.csv",
                                             "spinal_infection,poor_posture,0.5,1,"
                                             "expert_estimate,x,upperback_team\n"),
     "condition_findings.csv", None, "lr_positive", "a yes must never lower it"),
    ("teaching case contradicts the engine",
     _edit("teaching_cases.csv", ',emergency,osteoporotic_compression_fracture,"Sudden pain at 71',
           ',self_care,osteoporotic_compression_fracture,"Sudden pain at 71'),
     "teaching_cases.csv", None, "expected_urgency", "cough_osteoporosis"),
    ("not utf-8", _latin1("conditions.csv"), "conditions.csv", 2, None, "UTF-8"),
    ("undeclared csv", _write("notes.csv", "a,b\n1,2\n"), "notes.csv", None, None,
     "not declared"),
    ("declared file missing", _delete("complications.csv"), "complications.csv", None, None,
     "missing"),
    ("missing descriptor", _delete("datapackage.json"), "datapackage.json", None, None,
     "missing"),
    ("unreadable descriptor", _write("datapackage.json", "{not json"), "datapackage.json", None,
     None, "not a valid"),
    ("deleted red-flag rule",
     _both(_remove_lines("triage_rules.csv", r"em_recent_trauma,"),
           _remove_lines("rule_findings.csv", r"em_recent_trauma,")),
     "safety_cases.csv", None, "min_urgency", "case_em_recent_trauma"),
    ("deleted combined rule",
     _both(_remove_lines("triage_rules.csv", r"em_acute_onset_osteoporosis,"),
           _remove_lines("rule_findings.csv", r"em_acute_onset_osteoporosis,")),
     "safety_cases.csv", None, "min_urgency", "case_em_acute_onset_osteoporosis"),
    ("red flag removed with its protection",
     _both(_remove_lines("triage_rules.csv", r"em_recent_trauma,"),
           _remove_lines("rule_findings.csv", r"em_recent_trauma,"),
           _remove_lines("safety_cases.csv", r"case_(em_recent_trauma|trauma_everything_else_no),"),
           _remove_lines("safety_case_answers.csv",
                         r"case_(em_recent_trauma|trauma_everything_else_no),"),
           _edit("findings.csv", "sports collision?\",emergency,",
                 "sports collision?\",history,")),
     "triage_rules.csv", None, "urgency", "recent_trauma answered yes must give an emergency"),
    ("weakened red-flag rule", _edit("triage_rules.csv", "em_recent_trauma,emergency,",
                                     "em_recent_trauma,see_provider,"),
     "safety_cases.csv", None, "min_urgency", "must be at least emergency"),
    ("finding kind disagrees with rules",
     _edit("findings.csv", "Fever with the back pain?,see_provider,",
           "Fever with the back pain?,emergency,"),
     "findings.csv", None, "kind", "needs"),
    ("rule with no safety case",
     _both(_edit("triage_rules.csv", "\nsp_fever,", "\nsp_fever_weight,see_provider,x,y,"
                 "verywell_ubp\nsp_fever,"),
           _edit("rule_findings.csv", "\nsp_fever,",
                 "\nsp_fever_weight,fever\nsp_fever_weight,unintended_weight_loss\nsp_fever,")),
     "triage_rules.csv", None, "rule_id", "no safety case"),
    ("history finding made emergency",
     _edit("findings.csv", "pregnancy,Currently pregnant?,history",
           "pregnancy,Currently pregnant?,emergency"),
     "findings.csv", None, "kind", "pregnancy"),
    ("condition without findings", _remove_lines("condition_findings.csv", r"pregnancy,"),
     "conditions.csv", None, "condition_id", "never be suggested"),
]


@pytest.mark.parametrize(("edit", "file", "line", "column", "words"),
                         [pytest.param(*c[1:], id=c[0]) for c in BROKEN])
def test_broken_data_is_reported_precisely(
    data_copy: Path, edit: Callable[[Path], None], file: str, line: int | None,
    column: str | None, words: str,
) -> None:
    edit(data_copy)
    before = _snapshot(data_copy)
    with pytest.raises(KnowledgeBaseError) as info:
        upperback.load_knowledge_base(data_copy)
    problems = info.value.problems
    match = [p for p in problems if p.file == file and (line is None or p.line == line)
             and (column is None or p.column == column) and words in p.message]
    assert match, "\n".join(map(str, problems))
    assert all(isinstance(p, Problem) and p.message for p in problems)
    assert _snapshot(data_copy) == before, "validation must not write"


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_problems_are_all_reported_at_once(data_copy: Path) -> None:
    _edit("findings.csv", ",history,", ",hystory,")(data_copy)
    _append_line("sources.csv", 3)(data_copy)
    problems = upperback.validate_knowledge_base(data_copy)
    assert {p.file for p in problems} >= {"findings.csv", "sources.csv"}


def test_broken_file_is_reported_once_not_through_foreign_keys(data_copy: Path) -> None:
    _latin1("conditions.csv")(data_copy)
    problems = upperback.validate_knowledge_base(data_copy)
    assert [p.file for p in problems] == ["conditions.csv"]


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="is not a folder"):
        upperback.load_knowledge_base(tmp_path / "nope")


def test_message_lists_each_problem_with_location(data_copy: Path) -> None:
    _edit("findings.csv", ",history,", ",hystory,")(data_copy)
    with pytest.raises(KnowledgeBaseError) as info:
        upperback.load_knowledge_base(data_copy)
    line = _line("findings.csv", ",history,")
    assert f"findings.csv, line {line}, column 'kind': 'hystory'" in str(info.value)
