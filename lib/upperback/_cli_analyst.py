"""Analyst commands (diff, synth-cohort, cohort-triage, impact): registered by `cli.py`."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the analyst subcommands to the `upperback` parser (see issue 6)."""
