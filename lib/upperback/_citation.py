"""How every face cites a source: a short name inline, the full reference on demand.

Sources whose claims were not re-checked against their text here are flagged wherever cited.
"""

from __future__ import annotations

from html import escape

from ._model import KnowledgeBase

NOT_RECHECKED = "not re-checked"


def reference(kb: KnowledgeBase, source_id: str) -> str:
    """The full reference as plain text: title, publisher, address."""
    src = kb.sources.get(source_id)
    if src is None:
        return source_id
    parts = [src.title, src.publisher, *([src.url] if src.url else [])]
    return ", ".join(parts)


def citation(kb: KnowledgeBase, source_id: str | None) -> str:
    """Short plain-text citation, e.g. `NICE NG59 (not re-checked)`."""
    if not source_id:
        return "no source recorded"
    src = kb.sources.get(source_id)
    if src is None:
        return source_id
    return src.short_name + ("" if src.checked_here else f" ({NOT_RECHECKED})")


def citation_html(kb: KnowledgeBase, source_id: str | None, css_class: str = "ub-src") -> str:
    """Short HTML citation; the full reference is its tooltip."""
    if not source_id:
        return ""
    src = kb.sources.get(source_id)
    if src is None:
        return f"<span class='{css_class}'>[{escape(source_id)}]</span>"
    flag = "" if src.checked_here else f", <em>{NOT_RECHECKED}</em>"
    full = f"{src.title}, {src.publisher}"  # no address: a report must not link out
    return (f"<span class='{css_class}' title='{escape(full, quote=True)}'>"
            f"[Source: {escape(src.short_name)}{flag}]</span>")
