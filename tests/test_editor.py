"""The knowledge-base editor: nothing written while a problem remains, atomic publish, backups."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import upperback.editor as editor_mod
from upperback import Problem, PublishError
from upperback.editor import (
    DEFAULT_BACKUPS,
    DEFAULT_CHANGELOG,
    WorkingCopy,
    default_backup_root,
    default_changelog,
    list_backups,
    restore_backup,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def copy(data_copy: Path, tmp_path: Path) -> Iterator[WorkingCopy]:
    wc = WorkingCopy(data_copy, backup_root=tmp_path / "kb-backups",
                     changelog=tmp_path / "kb-changelog.md")
    yield wc
    wc.close()


def test_unchanged_tables_render_byte_identical(copy: WorkingCopy) -> None:
    for name in copy.tables():
        t = copy._table(name)
        assert t.render() == (copy.published / t.path).read_text(encoding="utf-8"), name


def test_noop_publish_is_byte_identical(copy: WorkingCopy, tmp_path: Path) -> None:
    before = snapshot(copy.published)
    copy.set_cell("triage_rules", 0, "label", copy.rows("triage_rules")[0]["label"])  # same
    result = copy.publish(note="nothing")
    assert not result.published
    assert "nothing was written" in result.message
    assert snapshot(copy.published) == before
    assert not (tmp_path / "kb-backups").exists()
    assert not (tmp_path / "kb-changelog.md").exists()


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
    result = copy.publish()
    assert not result.published
    assert result.problems
    located = [(p.file, p.column) for p in result.problems]
    assert (where[0], where[2]) in located
    if where[1] is not None:
        assert any(p.line == where[1] for p in result.problems if p.file == where[0])
    assert snapshot(copy.published) == before
    assert not (tmp_path / "kb-backups").exists()
    assert not (tmp_path / "kb-changelog.md").exists()


def test_good_publish_backup_changelog_and_restore(copy: WorkingCopy, tmp_path: Path) -> None:
    original = snapshot(copy.published)
    copy.set_cell("triage_rules", 0, "label", "Numbness, saddle or legs")
    copy.set_cell("condition_findings", 0, "lr_positive", "1.2")
    assert copy.changed_files() == ["condition_findings.csv", "triage_rules.csv"]
    assert {t.table for t in copy.diff().tables} == {"condition_findings", "triage_rules"}
    result = copy.publish(note="clearer wording\nand weaker link", editor="A. Analyst")
    assert result.published, result.problems
    after = snapshot(copy.published)
    assert {n for n in after if after[n] != original[n]} == {"condition_findings.csv",
                                                             "triage_rules.csv"}
    # Only the edited lines differ; every other line keeps its exact text.
    old_lines = original["triage_rules.csv"].decode().splitlines()
    new_lines = after["triage_rules.csv"].decode().splitlines()
    assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b] == [1]
    assert not list(copy.published.glob(".*.tmp"))
    backups = list_backups(tmp_path / "kb-backups")
    assert len(backups) == 1
    assert backups[0].version == result.old_version
    assert snapshot(backups[0].path) == original
    log = (tmp_path / "kb-changelog.md").read_text()
    assert f"{result.old_version} -> {result.new_version}" in log
    assert "Tables changed: condition_findings, triage_rules" in log
    assert "Note: clearer wording and weaker link" in log
    assert "Editor: A. Analyst" in log

    restored = restore_backup(backups[0].name, copy.published,
                              backup_root=tmp_path / "kb-backups",
                              changelog=tmp_path / "kb-changelog.md")
    assert restored.published
    assert snapshot(copy.published) == original
    assert len(list_backups(tmp_path / "kb-backups")) == 2
    assert (tmp_path / "kb-changelog.md").read_text().count("\n## ") == 2


def test_restore_refuses_an_invalid_backup(copy: WorkingCopy, tmp_path: Path) -> None:
    root = tmp_path / "kb-backups"
    bad = root / "broken"
    bad.mkdir(parents=True)
    for name, data in snapshot(copy.published).items():
        (bad / name).write_bytes(data)
    text = (bad / "findings.csv").read_text()
    (bad / "findings.csv").write_text(text.replace(",emergency,", ",emergancy,", 1))
    before = snapshot(copy.published)
    result = restore_backup("broken", copy.published, backup_root=root,
                            changelog=tmp_path / "log.md")
    assert not result.published
    assert result.problems
    assert snapshot(copy.published) == before
    with pytest.raises(PublishError, match="no backup 'nope'"):
        restore_backup("nope", copy.published, backup_root=root, changelog=tmp_path / "log.md")


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
    assert (diff.added, len(diff.removed)) == (("stiffness",), 1)
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
    with pytest.raises(PublishError, match="changed since"):
        copy.publish()



def _edit_two_files(copy: WorkingCopy) -> None:
    copy.set_cell("triage_rules", 0, "label", "Numbness, saddle or legs")
    copy.set_cell("condition_findings", 0, "lr_positive", "1.2")
    assert copy.changed_files() == ["condition_findings.csv", "triage_rules.csv"]


@pytest.mark.parametrize(("fail_on", "error", "raised"), [
    ("triage_rules.csv", OSError(28, "No space left on device"), PublishError),
    ("triage_rules.csv", RuntimeError("boom"), PublishError),
    ("triage_rules.csv", KeyboardInterrupt(), KeyboardInterrupt),
    ("kb-changelog.md", OSError(13, "Permission denied"), PublishError),
])
def test_failed_install_rolls_back_every_file(copy: WorkingCopy, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, fail_on: str,
                                              error: BaseException,
                                              raised: type[BaseException]) -> None:
    """The publish is all or nothing: the second file's replace (or the changelog's) fails after
    the first file was already replaced, and every file is put back byte for byte."""
    changelog = tmp_path / "kb-changelog.md"
    changelog.write_text("# earlier entries\n", encoding="utf-8")
    log_before = changelog.read_bytes()
    before = snapshot(copy.published)
    _edit_two_files(copy)
    replaced: list[str] = []
    real_replace = Path.replace

    def replace(self: Path, target: str | os.PathLike[str]) -> Path:
        target = Path(target)
        if target.parent in (copy.published, tmp_path):
            if target.name == fail_on:
                raise error
            replaced.append(target.name)
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    with pytest.raises(raised) as info:
        copy.publish(note="half")
    monkeypatch.undo()
    assert "condition_findings.csv" in replaced  # the first file really was replaced ...
    assert snapshot(copy.published) == before  # ... and put back, like every other file
    assert changelog.read_bytes() == log_before
    assert not list(copy.published.glob(".*.tmp"))
    if raised is PublishError:
        assert "previous files were put back" in str(info.value)
    # The working copy keeps the edits, so the analyst can publish again.
    assert copy.changed_files() == ["condition_findings.csv", "triage_rules.csv"]
    assert copy.publish().published
    assert snapshot(copy.published) != before


def test_install_that_does_not_validate_is_rolled_back(copy: WorkingCopy, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(copy.published)
    _edit_two_files(copy)
    real_validate = editor_mod.validate_knowledge_base

    def validate(path: Path) -> list[Problem]:
        if Path(path) == copy.published:
            return [Problem("triage_rules.csv", "damaged while installing", line=2)]
        return real_validate(path)

    monkeypatch.setattr(editor_mod, "validate_knowledge_base", validate)
    result = copy.publish()
    assert not result.published
    assert [p.message for p in result.problems] == ["damaged while installing"]
    assert "put back" in result.message
    assert snapshot(copy.published) == before
    assert not (tmp_path / "kb-changelog.md").exists()


def test_backups_and_changelog_default_beside_the_published_folder(
        data_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_backup_root(DATA) == DEFAULT_BACKUPS
    assert default_changelog(DATA) == DEFAULT_CHANGELOG
    repo_log = DEFAULT_CHANGELOG.read_bytes() if DEFAULT_CHANGELOG.is_file() else None
    repo_backups = sorted(DEFAULT_BACKUPS.iterdir()) if DEFAULT_BACKUPS.is_dir() else None
    monkeypatch.setenv("UPPERBACK_DATA", str(data_copy))
    beside = data_copy.parent
    assert default_backup_root() == beside / "kb-backups"
    assert default_changelog() == beside / "kb-changelog.md"
    with WorkingCopy() as wc:
        assert wc.published == data_copy
        assert (wc.backup_root, wc.changelog) == (beside / "kb-backups",
                                                  beside / "kb-changelog.md")
        wc.set_cell("triage_rules", 0, "label", "Numbness, saddle or legs")
        result = wc.publish(note="on a copy")
    assert result.published
    assert result.backup is not None
    assert result.backup.parent == beside / "kb-backups"
    assert "Note: on a copy" in (beside / "kb-changelog.md").read_text(encoding="utf-8")
    backups = list_backups()
    assert [b.path for b in backups] == [result.backup]
    assert restore_backup(backups[0].name).published
    assert (beside / "kb-changelog.md").read_text(encoding="utf-8").count("\n## ") == 2
    # The repository's changelog and backups were not touched.
    assert (DEFAULT_CHANGELOG.read_bytes() if DEFAULT_CHANGELOG.is_file() else None) == repo_log
    assert (sorted(DEFAULT_BACKUPS.iterdir()) if DEFAULT_BACKUPS.is_dir() else None) \
        == repo_backups
