"""The one file-writing function: all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from upperback._io import save_atomic


@pytest.mark.parametrize("data", ["text é\n", b"\x00bytes"])
def test_writes_whole_file(tmp_path: Path, data: str | bytes) -> None:
    target = save_atomic(tmp_path / "out", data)
    expected = data.encode() if isinstance(data, str) else data
    assert target.read_bytes() == expected
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")

    def boom(self: Path, other: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
