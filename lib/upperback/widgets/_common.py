"""The widget half of the faces kit, used by every face (clinician, teaching, analyst): the one
stylesheet, the footer (decision support, not a diagnosis + KB version), the error banner, the
one callback guard and the knowledge-base loader that explains instead of raising. Wording maps
and templates live in `upperback._render` (no widgets there) and are re-exported here.

Public through `upperback.widgets.kit`; keep these names stable.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from html import escape
from typing import Any, TypeVar

import ipywidgets as w

from .._citation import citation_html
from .._errors import KnowledgeBaseError, UpperbackError
from .._model import DISCLAIMER, KnowledgeBase
from .._render import (  # the word maps live with the shared renderer; re-exported here
    ACCESS_WORDS,
    CATEGORY_WORDS,
    GROUP_WORDS,
    INVASIVENESS_WORDS,
    STYLESHEET,
    URGENCY_ICON,
    URGENCY_WORDS,
    footer_html,
    render,
    word,
)

__all__ = [
    "ACCESS_WORDS",
    "CATEGORY_WORDS",
    "GROUP_WORDS",
    "INVASIVENESS_WORDS",
    "RETRY_HINT",
    "STYLE",
    "URGENCY_ICON",
    "URGENCY_WORDS",
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

# Only error *types* are logged, never values: answers must not reach a log.
log = logging.getLogger("upperback.widgets")

F = TypeVar("F", bound=Callable[..., Any])

#: The one stylesheet as a `<style>` element (see `templates/upperback.css`).
STYLE = f"<style>{STYLESHEET}</style>"

#: What the guard tells the user after an unexpected error, unless a face says otherwise.
RETRY_HINT = "The screen may be out of date: press Reset and try again, and report this problem."


def style() -> w.HTML:
    box = w.HTML(STYLE)
    box.add_class("ub-style")
    return box


def cite(kb: KnowledgeBase, source_id: str | None) -> str:
    """A short HTML citation (full reference on hover); unchecked sources are flagged."""
    return citation_html(kb, source_id)


def footer(kb: KnowledgeBase | str) -> w.HTML:
    """Disclaimer and knowledge-base version: on every screen."""
    box = w.HTML(footer_html(kb))
    box.add_class("ub-footer-box")
    return box


def error_banner() -> w.HTML:
    box = w.HTML("")
    box.add_class("ub-error-box")
    return box


def show_error(banner: w.HTML, message: str) -> None:
    banner.value = (f"<div class='ub-error' role='alert'><strong>Problem:</strong> "
                    f"{escape(message)}</div>")


def clear_error(banner: w.HTML) -> None:
    banner.value = ""


def guard(banner: w.HTML, *, hint: str = RETRY_HINT,
          clear_first: bool = False) -> Callable[[F], F]:
    """Route any exception from a widget callback to `banner` (Voilà would swallow it).

    Errors of the library show their message (it says what to fix); anything else shows its
    type and `hint`. Only the type reaches the log, never a value. With `clear_first`, a
    message left by an earlier failure goes away when the next call starts.
    """

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if clear_first:
                clear_error(banner)
            try:
                return fn(*args, **kwargs)
            except UpperbackError as exc:
                log.warning("%s in %s", type(exc).__name__, fn.__name__)
                show_error(banner, str(exc))
            except Exception as exc:
                log.error("unexpected %s in %s", type(exc).__name__, fn.__name__)
                show_error(banner, f"Unexpected error ({type(exc).__name__}). {hint}")
            return None

        return inner  # type: ignore[return-value]

    return wrap


def load_or_message(loader: Callable[[], KnowledgeBase]) -> KnowledgeBase | w.VBox:
    """The knowledge base, or a box explaining why it cannot be loaded (no traceback)."""
    try:
        return loader()
    except KnowledgeBaseError as exc:
        log.error("knowledge base failed to load: %d problems", len(exc.problems))
        items = "".join(f"<li>{escape(str(p))}</li>" for p in exc.problems[:50])
        msg = (f"<div class='ub-error' role='alert'><strong>The knowledge base cannot be "
               f"loaded</strong>, so no assessment can be offered. Ask the analyst to run "
               f"<code>upperback validate</code>.<ul>{items}</ul>"
               f"<p>{escape(DISCLAIMER)}</p></div>")
    except UpperbackError as exc:
        msg = f"<div class='ub-error' role='alert'>{escape(str(exc))}</div>"
    box = w.VBox([style(), w.HTML(msg)])
    box.add_class("ub-app")
    return box
