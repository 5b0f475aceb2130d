"""Shared fixtures: the real knowledge base, and throw-away copies of it to break on purpose."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import upperback
from upperback import KnowledgeBase

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
#: The level just below emergency: what a downgrade of an emergency rule turns it into.
LOWER = upperback.URGENCIES[upperback.URGENCIES.index("emergency") + 1]


def edit(folder: Path, name: str, old: str, new: str, count: int = 1) -> None:
    """Replace `old` by `new` in one CSV of a data copy; the test fails if `old` is absent,
    so an edit that silently does nothing cannot make a test pass."""
    path = folder / name
    data = path.read_bytes()
    assert old.encode() in data, f"test edit: {old!r} not in {name}"
    path.write_bytes(data.replace(old.encode(), new.encode(), count))


def downgrade_cancer_balance(folder: Path) -> None:
    """Lower the protected rule em_cancer_balance and its safety case to `LOWER`."""
    edit(folder, "triage_rules.csv", "em_cancer_balance,emergency,",
         f"em_cancer_balance,{LOWER},")
    edit(folder, "safety_cases.csv", "case_em_cancer_balance,emergency,",
         f"case_em_cancer_balance,{LOWER},")


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return upperback.load_knowledge_base(DATA)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of data/ that a test may edit."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


def walk(widget: Any) -> Iterator[Any]:
    """A widget and all its descendants."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def find(root: Any, css: str) -> Any:
    """The first widget under `root` carrying the CSS class `css` (fails if none)."""
    hits = [x for x in walk(root) if css in getattr(x, "_dom_classes", ())]
    assert hits, f"no widget with class {css}"
    return hits[0]


def ages(kb: KnowledgeBase, years: int) -> dict[str, bool]:
    """The "aged N or older" answers of someone `years` old."""
    return {f: years >= (x.min_age or 0) for f, x in kb.findings.items() if x.min_age is not None}


@pytest.fixture(scope="session")
def screen_all_no(kb: KnowledgeBase) -> dict[str, bool]:
    """Every finding that takes part in a triage rule answered no: the red-flag screen done
    (for a 30-year-old: the age questions are answered as such)."""
    return {**{f: False for r in kb.rules.values() for f in r.findings}, **ages(kb, 30)}


@pytest.fixture(scope="session")
def everything_no(kb: KnowledgeBase) -> dict[str, bool]:
    """A complete checklist: every question answered no (age questions left to the test)."""
    return {f: False for f, x in kb.findings.items() if x.min_age is None}
