"""The one file-writing function: all or nothing."""

from __future__ import annotations

import os
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


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_replacing_a_file_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "findings.csv"
    target.write_text("old")
    target.chmod(mode)
    save_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == mode


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_file_gets_the_mode_the_umask_allows(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        target = save_atomic(tmp_path / "report.html", "x")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
