"""The knowledge-base editor: nothing written while a problem remains, atomic publish, backups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from upperback import PublishError
from upperback.editor import WorkingCopy, list_backups, restore_backup

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
    copy.set_cell("condition_findings", 0, "strength", "2")
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

