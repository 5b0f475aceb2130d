"""Pieces every dashboard shares: page styles, the disclaimer/version footer, the error banner,
source citations, and the guard that turns a callback exception into a visible message."""

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
    INVASIVENESS_WORDS,
    URGENCY_ICON,
    URGENCY_WORDS,
)

__all__ = [
    "ACCESS_WORDS",
    "CATEGORY_WORDS",
    "INVASIVENESS_WORDS",
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
    "show_error",
    "style",
]

# Only error *types* are logged, never values: answers must not reach a log.
log = logging.getLogger("upperback.widgets")

F = TypeVar("F", bound=Callable[..., Any])

# Colours are paired with words and icons everywhere (never colour alone); contrast >= 4.5:1.
STYLE = """<style>
.ub-app{max-width:1400px;font-size:14px;color:#111}
.ub-app h2,.ub-app h3{margin:.6em 0 .3em}
.ub-app .widget-html-content{line-height:1.35}
.ub-app ul{margin:.2em 0;padding-left:1.3em}
.ub-banner{border:3px solid #000;border-radius:6px;padding:.6em .9em;margin:.2em 0}
.ub-banner .ub-word{font-size:1.35em;font-weight:700;letter-spacing:.02em}
.ub-u-ambulance{background:#fbd0d0;border-color:#7a0014;color:#4a000c;border-width:3px}
.ub-u-emergency{background:#fde2e1;border-color:#b00020;color:#5a0010}
.ub-u-urgent{background:#ffe4cc;border-color:#9a4a00;color:#3d1c00}
.ub-u-see_provider{background:#fff1cc;border-color:#8a5a00;color:#3d2800}
.ub-u-incomplete{background:#e8eaf6;border-color:#303f9f;color:#1a237e}
.ub-u-self_care{background:#e3f4e6;border-color:#1b5e20;color:#0d3311}
.ub-warn{border-left:6px solid #b00020;background:#fff5f5;padding:.4em .7em;margin:.4em 0}
.ub-error{border:2px solid #b00020;background:#fff5f5;color:#5a0010;padding:.5em .8em}
.ub-ok{border:1px solid #1b5e20;background:#e3f4e6;padding:.4em .8em}
.ub-footer{border-top:1px solid #888;margin-top:1em;padding-top:.4em;font-size:.95em}
.ub-src{color:#444;font-size:.9em}
.ub-section-ambulance,.ub-section-emergency{border:2px solid #b00020;border-radius:6px;
  padding:.3em .6em;background:#fff8f8}
.ub-section-urgent,.ub-section-see_provider{border:2px solid #8a5a00;border-radius:6px;
  padding:.3em .6em;background:#fffbf0}
.ub-section-history{border:1px solid #999;border-radius:6px;padding:.3em .6em}
.ub-question{border-bottom:1px solid #ddd;padding:.25em 0;align-items:center}
.ub-question .widget-html{flex:1 1 auto}
/* The results column scrolls on its own and stays in view while the long checklist is
   answered, so the banner is never out of sight. */
.ub-results{align-self:flex-start;position:sticky;top:0;max-height:100vh;overflow-y:auto}
.ub-results>*{flex-shrink:0} /* else the capped column squeezes its parts over each other */
/* sticky needs every ancestor up to the page to let overflow through */
.jp-OutputArea:has(.ub-columns),.jp-OutputArea-child:has(.ub-columns),
.jp-OutputArea-output:has(.ub-columns),
.ub-app:has(.ub-columns),.ub-columns{overflow:visible !important}
.ub-more summary{cursor:pointer;font-weight:600;margin:.3em 0}
.ub-badge{display:inline-block;border:1px solid #b00020;color:#5a0010;border-radius:3px;
  padding:0 .3em;font-size:.8em;font-weight:600;margin-right:.3em}
.ub-help{color:#333;font-size:.9em}
.ub-app button:focus-visible,.ub-app input:focus-visible,.ub-app textarea:focus-visible,
.ub-app select:focus-visible,.ub-app a:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}
.ub-dl a{display:inline-block;border:1px solid #333;border-radius:4px;padding:.3em .7em;
  margin:.2em .4em .2em 0;background:#f4f4f4;color:#111;text-decoration:none}
.ub-card{border:1px solid #bbb;border-radius:6px;padding:.4em .8em;margin:.4em 0}
</style>"""


def style() -> w.HTML:
    return w.HTML(STYLE)


def cite(kb: KnowledgeBase, source_id: str | None) -> str:
    """A short HTML citation (full reference on hover); unchecked sources are flagged."""
    return citation_html(kb, source_id)


def footer(kb: KnowledgeBase) -> w.HTML:
    """Disclaimer and knowledge-base version: on every screen."""
    box = w.HTML(f"<div class='ub-footer' role='note'><strong>{escape(DISCLAIMER)}</strong> "
                 f"Knowledge base version <code>{escape(kb.version)}</code>.</div>")
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


def guard(banner: w.HTML) -> Callable[[F], F]:
    """Route any exception from a widget callback to `banner` (Voilà would swallow it)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except UpperbackError as exc:
                log.warning("%s in %s", type(exc).__name__, fn.__name__)
                show_error(banner, str(exc))
            except Exception as exc:
                log.error("unexpected %s in %s", type(exc).__name__, fn.__name__)
                show_error(banner, f"Unexpected error ({type(exc).__name__}). The screen may be "
                           "out of date: press Reset and try again, and report this problem.")
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
