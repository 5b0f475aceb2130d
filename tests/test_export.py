"""Exports: the printable HTML report (the FHIR faces are tested in test_fhir.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import upperback
from upperback import KnowledgeBase, export

WHEN = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answers", "expect", "absent"),
    [
        ({"acute_onset": True, "osteoporosis": True},
         ["EMERGENCY", "Sudden pain with osteoporosis", "treatment options are secondary",
          "Emergency screen incomplete"], ["SELF-CARE"]),
        ("screen_all_no", ["SELF-CARE", "Not screened by this checklist"],
         ["Emergency screen incomplete", "secondary"]),
        ({"fever": True}, ["SEE A PROVIDER", "Emergency screen incomplete"], ["EMERGENCY:"]),
        ({"pregnancy": True, "heavy_lifting": True}, ["Withheld", "NSAIDs should be avoided",
                                                       "Back strain"], []),
    ],
)
def test_html_report_content(kb: KnowledgeBase, screen_all_no: dict[str, bool], answers: Any,
                             expect: list[str], absent: list[str]) -> None:
    if answers == "screen_all_no":
        answers = screen_all_no
    a = upperback.assess(answers, kb)
    html = export.render_html(a, kb, assessor="Dr <Smith>", note="first & only", when=WHEN)
    for text in [*expect, upperback.DISCLAIMER, kb.version, "2025-03-04 10:30",
                 "Dr &lt;Smith&gt;", "first &amp; only", "@media print",
                 f"data-urgency='{a.urgency}'"]:
        assert text in html
    for text in absent:
        assert text not in html
    assert "<Smith>" not in html
    assert "http://" not in html
    assert "https://" not in html.replace("https://www", "")


def test_html_report_escapes_knowledge_base_text(kb: KnowledgeBase) -> None:
    a = upperback.assess({"fever": True}, kb)
    from dataclasses import replace

    evil = replace(a, headline="<script>alert(1)</script>")
    html = export.render_html(evil, kb)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_html_report_matches_the_dashboard_wording(kb: KnowledgeBase) -> None:
    """Access in words, what each option is for, what to ask first, and the shared sections."""
    a = upperback.assess({"heavy_lifting": True}, kb)
    html = export.render_html(a, kb, when=WHEN)
    assert "(Over the counter)" in html
    assert "(otc)" not in html
    assert "For: Back strain" in html
    assert "<span class='ub-check-before'><strong>Ask first:</strong>" in html
    assert "class='ub-banner ub-u-incomplete'" in html
    assert "Safety net:" in html
    assert "data-condition='back_strain'" in html
    emergency = export.render_html(upperback.assess({"chest_pain_or_pressure": True}, kb), kb)
    assert "No single answer would raise the urgency." in emergency
    assert "href=" not in html + emergency  # a report does not link into a dashboard
