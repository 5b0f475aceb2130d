"""Loading is not validating: stamps of validated content, the fast path, and the default folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

import upperback
from upperback import KnowledgeBaseError, _loader

REPO = Path(__file__).resolve().parents[1]
#: Modules only validation needs; the runtime path must never import them.
VALIDATION_ONLY = ("frictionless", "jsonschema", "pandas", "numpy", "pyarrow")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty stamp cache, and no knowledge base remembered in this process."""
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    _loader._cached.cache_clear()
    yield home / "upperback" / "validated"
    _loader._cached.cache_clear()


def _no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> list[upperback.Problem]:
        raise AssertionError("validated although the content was stamped")

    monkeypatch.setattr(_loader, "validate_schema", refuse)


def test_first_load_validates_and_stamps(cache: Path, data_copy: Path) -> None:
    assert not cache.exists()
    kb = upperback.load_knowledge_base(data_copy)
    (stamp,) = cache.iterdir()
    assert json.loads(stamp.read_text())["digest"] == stamp.name
    assert kb.version.startswith(json.loads((REPO / "data" / "datapackage.json").read_text())
                                 ["version"] + "+")


def test_stamped_content_loads_without_validating(
    cache: Path, data_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated = upperback.load_knowledge_base(data_copy)
    _loader._cached.cache_clear()
    _no_validation(monkeypatch)
    fast = upperback.load_knowledge_base(data_copy)
    for field in fields(validated):  # the same typed knowledge base, field by field
        assert getattr(fast, field.name) == getattr(validated, field.name), field.name


def test_changed_content_is_validated_before_use(cache: Path, data_copy: Path) -> None:
    upperback.load_knowledge_base(data_copy)  # stamped
    findings = data_copy / "findings.csv"
    text = findings.read_text(encoding="utf-8")
    row = text.splitlines()[1].split(",")
    findings.write_text(text.replace(f"{row[0]},{row[1]},", f"{row[0]},nonsense_kind,", 1),
                        encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as err:
        upperback.load_knowledge_base(data_copy)
    assert any(p.file == "findings.csv" and p.line == 2 for p in err.value.problems)
    assert len(list(cache.iterdir())) == 1  # broken content is never stamped


def test_undeclared_csv_added_after_validation_is_caught(cache: Path, data_copy: Path) -> None:
    upperback.load_knowledge_base(data_copy)
    (data_copy / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"notes\.csv"):
        upperback.load_knowledge_base(data_copy)


def test_stamp_follows_content_not_folder(
    cache: Path, data_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upperback.load_knowledge_base(data_copy)
    moved = data_copy.rename(tmp_path / "elsewhere")
    _no_validation(monkeypatch)
    assert upperback.load_knowledge_base(moved).folder == str(moved.resolve())


def test_code_change_makes_stamps_stale(
    cache: Path, data_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upperback.load_knowledge_base(data_copy)
    _loader._cached.cache_clear()
    monkeypatch.setattr(_loader, "_judges_digest", lambda: b"a newer engine")
    calls: list[Path] = []
    real = _loader.validate_schema

    def spy(folder: Path, spec: object) -> list[upperback.Problem]:
        calls.append(folder)
        return real(folder, spec)  # type: ignore[arg-type]

    monkeypatch.setattr(_loader, "validate_schema", spy)
    upperback.load_knowledge_base(data_copy)
    assert calls == [data_copy.resolve()]
    assert len(list(cache.iterdir())) == 2


def test_validate_always_checks(
    cache: Path, data_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upperback.load_knowledge_base(data_copy)
    _no_validation(monkeypatch)
    with pytest.raises(AssertionError, match="validated"):
        upperback.load_knowledge_base(data_copy, validate=True)
    with pytest.raises(AssertionError, match="validated"):
        upperback.validate_knowledge_base(data_copy)


def test_edit_during_validation_is_not_stamped(
    cache: Path, data_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _loader._load

    def edit_meanwhile(folder: Path) -> upperback.KnowledgeBase:
        kb = real(folder)
        advice = folder / "advice.csv"
        advice.write_text(advice.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        return kb

    monkeypatch.setattr(_loader, "_load", edit_meanwhile)
    upperback.validate_knowledge_base(data_copy)
    assert not cache.exists() or not list(cache.iterdir())


def test_unwritable_cache_still_loads(
    data_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    _loader._cached.cache_clear()
    assert upperback.load_knowledge_base(data_copy).findings
    _loader._cached.cache_clear()


def test_default_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("UPPERBACK_DATA", raising=False)
    monkeypatch.setattr(_loader, "PACKAGED_DATA", tmp_path / "absent")
    assert _loader.default_data_dir() == REPO / "data"  # a checkout or editable install
    packaged = tmp_path / "upperback" / "data"
    packaged.mkdir(parents=True)
    (packaged / "datapackage.json").write_text("{}")
    monkeypatch.setattr(_loader, "PACKAGED_DATA", packaged)
    assert _loader.default_data_dir() == packaged  # an installed wheel
    monkeypatch.setenv("UPPERBACK_DATA", str(tmp_path / "mine"))
    assert _loader.default_data_dir() == tmp_path / "mine"


def _modules_after(code: str) -> list[str]:
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1")
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json\n"
         "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"],
        capture_output=True, text=True, check=True, env=env, cwd=REPO)
    return [m for m in json.loads(out.stdout.splitlines()[-1]) if m in VALIDATION_ONLY]


@pytest.mark.parametrize("code", [
    "import upperback",
    "import upperback; upperback.assess({'fever': True})",
    "from upperback.cli import main\n"
    "import contextlib, io\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    main(['assess', '--answers', '{answers}', '--json'])",
    "from upperback.widgets import build_assessment; build_assessment()",
])
def test_runtime_path_never_imports_validation(code: str, tmp_path: Path) -> None:
    upperback.validate_knowledge_base(REPO / "data")  # the real stamp, as `make test` leaves it
    answers = tmp_path / "answers.json"
    answers.write_text('{"fever": true}')
    assert _modules_after(code.replace("{answers}", str(answers))) == []
