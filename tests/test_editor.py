"""The knowledge-base editor: a working copy that keeps each file's exact text, and publishing it
(nothing written while a problem remains; history, changelog and restore)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from upperback import URGENCIES, PublishError
from upperback.editor import (
    DEFAULT_BACKUPS,
    SignOff,
    WorkingCopy,
    default_backup_root,
    list_backups,
    restore_backup,
)

DATA = Path(__file__).resolve().parents[1] / "data"
BOM = b"\xef\xbb\xbf"
#: The level just below emergency (see_provider today; urgent once the engine has six levels).
LOWER = URGENCIES[URGENCIES.index("emergency") + 1]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def changelog(folder: Path) -> list[dict[str, str]]:
    with (folder / "changelog.csv").open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def copy(data_copy: Path, tmp_path: Path) -> Iterator[WorkingCopy]:
    wc = WorkingCopy(data_copy, backup_root=tmp_path / "kb-backups")
    yield wc
    wc.close()


def index_of(copy: WorkingCopy, table: str, key: str) -> int:
    return next(i for i in range(len(copy.rows(table))) if copy.key_of(table, i) == key)


def test_unchanged_tables_render_byte_identical(copy: WorkingCopy) -> None:
    for name in copy.tables():
        t = copy._table(name)
        assert t.render() == (copy.published / t.path).read_text(encoding="utf-8"), name


@pytest.mark.parametrize(("bom", "newline"), [(False, b"\r\n"), (True, b"\n"), (True, b"\r\n")])
def test_an_edit_keeps_bom_and_line_endings(data_copy: Path, tmp_path: Path, bom: bool,
                                            newline: bytes) -> None:
    path = data_copy / "triage_rules.csv"
    path.write_bytes((BOM if bom else b"") + path.read_bytes().replace(b"\n", newline))
    original = path.read_bytes()
    with WorkingCopy(data_copy, backup_root=tmp_path / "b") as wc:
        assert wc.columns("triage_rules")[0] == "rule_id"  # the BOM is not part of a name
        wc.set_cell("triage_rules", 0, "label", "Numbness, saddle or legs")
        edited = (wc.folder / "triage_rules.csv").read_bytes()
        assert edited.startswith(BOM) == bom
        old_lines, new_lines = original.split(newline), edited.split(newline)
        assert len(old_lines) == len(new_lines)
        assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True))
                if a != b] == [1]  # one line differs; every line keeps its ending
        if newline == b"\n":
            assert b"\r" not in edited
        wc.add_row("triage_rules", {"rule_id": "x"})
        assert (wc.folder / "triage_rules.csv").read_bytes().endswith(b"," + newline)


def test_noop_publish_writes_nothing(copy: WorkingCopy, tmp_path: Path) -> None:
    before = snapshot(copy.published)
    copy.set_cell("triage_rules", 0, "label", copy.rows("triage_rules")[0]["label"])  # same
    result = copy.publish(note="nothing")
    assert not result.published
    assert "nothing was written" in result.message
    assert snapshot(copy.published) == before
    assert not (tmp_path / "kb-backups").exists()


@pytest.mark.parametrize(("table", "column", "value", "where"), [
    ("findings", "kind", "hystory", ("findings.csv", 2, "kind")),
    ("treatment_conditions", "condition_id", "back_strian", ("treatment_conditions.csv", 2,
                                                             "condition_id")),
    ("triage_rules", "urgency", "see_provider", ("safety_cases.csv", None, "min_urgency")),
])
def test_bad_edit_blocks_publish(copy: WorkingCopy, tmp_path: Path, table: str, column: str,
                                 value: str, where: tuple[str, int | None, str]) -> None:
    before = snapshot(copy.published)
    copy.set_cell(table, 0, column, value)
    result = copy.publish(note="a bad edit")
    assert not result.published
    assert result.problems
    located = [(p.file, p.column) for p in result.problems]
    assert (where[0], where[2]) in located
    if where[1] is not None:
        assert any(p.line == where[1] for p in result.problems if p.file == where[0])
    assert snapshot(copy.published) == before
    assert list_backups(tmp_path / "kb-backups") == []


def test_a_reason_is_required(copy: WorkingCopy) -> None:
    before = snapshot(copy.published)
    copy.set_cell("triage_rules", 0, "label", "Numbness, saddle or legs")
    result = copy.publish(note="  ")
    assert not result.published
    assert "say why" in result.message
    assert snapshot(copy.published) == before


def test_good_publish_history_changelog_and_restore(copy: WorkingCopy, tmp_path: Path) -> None:
    original = snapshot(copy.published)
    copy.set_cell("triage_rules", 0, "label", "Numbness, saddle or legs")
    copy.set_cell("condition_findings", 0, "note", "A weaker link.")
    assert copy.changed_files() == ["condition_findings.csv", "triage_rules.csv"]
    assert {t.table for t in copy.diff().tables} == {"condition_findings", "triage_rules"}
    result = copy.publish(note="clearer wording\nand weaker link", editor="A. Analyst")
    assert result.published, result.problems
    after = snapshot(copy.published)
    assert {n for n in after if after[n] != original[n]} == {
        "condition_findings.csv", "triage_rules.csv", "changelog.csv"}
    # Only the edited lines differ; every other line keeps its exact text.
    old_lines = original["triage_rules.csv"].decode().splitlines()
    new_lines = after["triage_rules.csv"].decode().splitlines()
    assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b] == [1]
    assert after["changelog.csv"].startswith(original["changelog.csv"])
    last = changelog(copy.published)[-1]
    assert last["editor"] == "A. Analyst"
    assert last["reason"] == "clearer wording and weaker link"
    assert last["from_version"] == result.old_version
    assert (last["signed_off_by"], last["signed_off"]) == ("", "")
    backups = list_backups(tmp_path / "kb-backups")
    assert [b.version for b in backups] == [result.old_version]
    assert snapshot(backups[0].path) == original
    assert copy.base_version == result.new_version  # the copy follows what it published

    restored = restore_backup(backups[0].name, copy.published,
                              backup_root=tmp_path / "kb-backups", note="undo")
    assert restored.published, restored.problems
    now = snapshot(copy.published)
    assert {n for n in now if now[n] != original[n]} == {"changelog.csv"}
    log = changelog(copy.published)
    assert [r["reason"] for r in log[-2:]] == ["clearer wording and weaker link",
                                               f"Restored backup {backups[0].name}: undo"]
    assert len(list_backups(tmp_path / "kb-backups")) == 2


def test_restore_refuses_an_invalid_backup(copy: WorkingCopy, tmp_path: Path) -> None:
    root = tmp_path / "kb-backups"
    bad = root / "broken"
    bad.mkdir(parents=True)
    for name, data in snapshot(copy.published).items():
        (bad / name).write_bytes(data)
    text = (bad / "findings.csv").read_text()
    (bad / "findings.csv").write_text(text.replace(",emergency,", ",emergancy,", 1))
    before = snapshot(copy.published)
    result = restore_backup("broken", copy.published, backup_root=root)
    assert not result.published
    assert result.problems
    assert snapshot(copy.published) == before
    with pytest.raises(PublishError, match="no backup 'nope'"):
        restore_backup("nope", copy.published, backup_root=root)


def test_add_and_delete_rows(copy: WorkingCopy) -> None:
    n = len(copy.rows("complications"))
    i = copy.add_row("complications", {"complication_id": "stiffness", "name": "Stiffness",
                                       "description": "Reduced movement.",
                                       "source_id": "verywell_ubp"})
    assert copy.key_of("complications", i) == "stiffness"
    copy.delete_row("complications", 0)
    assert len(copy.rows("complications")) == n
    assert copy.validate() == []
    diff = copy.diff().tables[0]
    assert ([r.key for r in diff.added], len(diff.removed)) == (["stiffness"], 1)
    assert dict(diff.added[0].cells)["name"] == "Stiffness"
    with pytest.raises(PublishError, match="no column 'colour'"):
        copy.add_row("complications", {"colour": "red"})
    with pytest.raises(PublishError, match="no row"):
        copy.delete_row("complications", 999)
    with pytest.raises(PublishError, match="no table"):
        copy.rows("nonsense")


def test_publish_refuses_when_published_changed_meanwhile(copy: WorkingCopy) -> None:
    copy.set_cell("triage_rules", 0, "label", "x")
    path = copy.published / "sources.csv"
    path.write_bytes(path.read_bytes().replace(b"Verywell", b"VeryWell", 1))
    before = snapshot(copy.published)
    with pytest.raises(PublishError, match="someone else published since"):
        copy.publish(note="late")
    assert snapshot(copy.published) == before


@pytest.mark.parametrize(("rule_id", "invalid"), [
    ("em_cancer_balance", False), ("em_cancer_leg_symptoms", False),
    ("em_cancer_numbness", False),
    # A single-finding red flag leaves its emergency finding without a rule: invalid anyway.
    ("em_recent_trauma", True),
    # The combinations the loader's safety floor names are refused by validation too.
    ("em_acute_onset_osteoporosis", True),
])
def test_deleting_a_protected_rule_with_its_case_needs_a_signoff(copy: WorkingCopy,
                                                                 rule_id: str,
                                                                 invalid: bool) -> None:
    """The hole of issue 15: deleting an emergency rule together with its safety case validated
    and published. It still validates, but publishing needs a clinical sign-off."""
    before = snapshot(copy.published)
    findings = [r["finding_id"] for r in copy.rows("rule_findings") if r["rule_id"] == rule_id]
    copy.delete_row("triage_rules", index_of(copy, "triage_rules", rule_id))
    for fid in findings:
        copy.delete_row("rule_findings", index_of(copy, "rule_findings", f"{rule_id}|{fid}"))
    case_ids = [c["case_id"] for c in copy.rows("safety_cases")
                if {a["finding_id"] for a in copy.rows("safety_case_answers")
                    if a["case_id"] == c["case_id"] and a["answer"] == "true"} == set(findings)]
    assert case_ids
    for case_id in case_ids:
        for a in [a for a in copy.rows("safety_case_answers") if a["case_id"] == case_id]:
            copy.delete_row("safety_case_answers", index_of(
                copy, "safety_case_answers", f"{case_id}|{a['finding_id']}"))
        copy.delete_row("safety_cases", index_of(copy, "safety_cases", case_id))
    assert bool(copy.validate()) == invalid
    if invalid:
        assert copy.publish(note="remove", signoff=SignOff("Dr Lee", "x")).problems
        assert snapshot(copy.published) == before
        return
    tokens = {c.token for c in copy.protected()}
    assert f"rule:{rule_id}" in tokens
    refused = copy.publish(note="remove", editor="A. Analyst")
    assert not refused.published
    assert "clinical sign-off" in refused.message
    assert {p.value for p in refused.problems} == tokens
    assert snapshot(copy.published) == before
    done = copy.publish(note="NICE NG234 review: folded into another rule", editor="A. Analyst",
                        signoff=SignOff("Dr Lee", "reviewed"))
    assert done.published, done.problems
    last = changelog(copy.published)[-1]
    assert last["signed_off_by"] == "Dr Lee"
    assert last["reason"] == ("NICE NG234 review: folded into another rule "
                              "(sign-off: reviewed)")
    assert {item.split()[0] for item in last["signed_off"].split(";")} == tokens


def test_downgrading_a_protected_rule_and_its_case_needs_a_signoff(copy: WorkingCopy) -> None:
    copy.set_cell("triage_rules", index_of(copy, "triage_rules", "em_cancer_balance"), "urgency",
                  LOWER)
    copy.set_cell("safety_cases", index_of(copy, "safety_cases", "case_em_cancer_balance"),
                  "min_urgency", LOWER)
    assert copy.validate() == []
    result = copy.publish(note="downgrade")
    assert not result.published
    assert f"rule:em_cancer_balance downgraded emergency -> {LOWER}" in result.message
    assert copy.publish(note="downgrade", signoff=SignOff("Dr Lee", "ok")).published


def test_history_defaults_beside_the_published_folder(data_copy: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_backup_root(DATA) == DEFAULT_BACKUPS
    repo_backups = sorted(DEFAULT_BACKUPS.iterdir()) if DEFAULT_BACKUPS.is_dir() else None
    monkeypatch.setenv("UPPERBACK_DATA", str(data_copy))
    beside = data_copy.parent
    assert default_backup_root() == beside / "kb-backups"
    with WorkingCopy() as wc:
        assert wc.published == data_copy
        assert wc.backup_root == beside / "kb-backups"
        wc.set_cell("triage_rules", 0, "label", "Numbness, saddle or legs")
        result = wc.publish(note="on a copy")
    assert result.published
    assert result.backup is not None
    assert result.backup.parent == beside / "kb-backups"
    backups = list_backups()
    assert [b.path for b in backups] == [result.backup]
    assert restore_backup(backups[0].name).published
    assert (sorted(DEFAULT_BACKUPS.iterdir()) if DEFAULT_BACKUPS.is_dir() else None) \
        == repo_backups
