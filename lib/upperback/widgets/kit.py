"""The faces kit for widget builders (clinician, teaching and analyst faces): one stylesheet,
one wording map, one footer, one callback guard, autoescaping templates. A stable, public
surface over `_common` and `upperback._render`."""

from __future__ import annotations

from .._render import REPORT, SCREEN, STYLESHEET, Face, word
from ._common import (
    ACCESS_WORDS,
    CATEGORY_WORDS,
    GROUP_WORDS,
    INVASIVENESS_WORDS,
    RETRY_HINT,
    STYLE,
    URGENCY_ICON,
    URGENCY_WORDS,
    cite,
    clear_error,
    error_banner,
    footer,
    guard,
    load_or_message,
    log,
    render,
    show_error,
    style,
)

__all__ = [
    "ACCESS_WORDS",
    "CATEGORY_WORDS",
    "GROUP_WORDS",
    "INVASIVENESS_WORDS",
    "REPORT",
    "RETRY_HINT",
    "SCREEN",
    "STYLE",
    "STYLESHEET",
    "URGENCY_ICON",
    "URGENCY_WORDS",
    "Face",
    "cite",
    "clear_error",
    "error_banner",
    "footer",
    "guard",
    "load_or_message",
    "log",
    "render",
    "show_error",
    "style",
    "word",
]
