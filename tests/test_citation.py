"""One way to cite a source across screens, reports and quizzes."""

from __future__ import annotations

from upperback import KnowledgeBase
from upperback._citation import citation, citation_html, reference


def test_checked_source_is_cited_by_short_name(kb: KnowledgeBase) -> None:
    assert citation(kb, "verywell_ubp") == "Verywell Health article"
    html = citation_html(kb, "verywell_ubp")
    assert "[Source: Verywell Health article]" in html
    assert "title='13 Causes of Upper Back Pain" in html


def test_unchecked_source_is_flagged(kb: KnowledgeBase) -> None:
    assert citation(kb, "nice_ng59") == "NICE NG59 (not re-checked)"
    assert "not re-checked" in citation_html(kb, "nice_ng59")
    assert "https://" not in citation_html(kb, "nice_ng59")
    assert reference(kb, "nice_ng59").endswith("https://www.nice.org.uk/guidance/ng59")


def test_missing_source(kb: KnowledgeBase) -> None:
    assert citation(kb, None) == "no source recorded"
    assert citation_html(kb, None) == ""
    assert citation(kb, "nope") == "nope"
