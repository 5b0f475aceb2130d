"""Shared fixtures: the real knowledge base, and throw-away copies of it to break on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import upperback
from upperback import KnowledgeBase

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return upperback.load_knowledge_base(DATA)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of data/ that a test may edit."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


@pytest.fixture(scope="session")
def screen_all_no(kb: KnowledgeBase) -> dict[str, bool]:
    """Every finding that takes part in a triage rule answered no: the red-flag screen done."""
    return {f: False for r in kb.rules.values() for f in r.findings}
