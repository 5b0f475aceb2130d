"""Site configuration read from the environment (no patient data is ever read or written here)."""

from __future__ import annotations

import os

DEFAULT_EMERGENCY_NUMBER = "911"


def emergency_number() -> str:
    """The local emergency number named in advice: `UPPERBACK_EMERGENCY_NUMBER`, default 911."""
    return os.environ.get("UPPERBACK_EMERGENCY_NUMBER", "").strip() or DEFAULT_EMERGENCY_NUMBER
