"""The Questionnaire in a form client upperback did not write: LHC-Forms (US National Library
of Medicine, npm `lforms`, installed by `make npm` and served from tests/fhir/, no CDN).

Filled in LHC-Forms, exported as a QuestionnaireResponse and read back by upperback, nothing is
lost: answers, age and sex, assessor, note and the knowledge-base version. The other way, an
upperback export loads into LHC-Forms and comes back out with the same answers.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

import upperback
from upperback import KnowledgeBase, fhir

pytestmark = pytest.mark.browser
SITE = Path(__file__).resolve().parents[1] / "fhir"
PAGE = "lforms.html"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # no access log in test output
        pass


@pytest.fixture(scope="module")
def lforms_url() -> Iterator[str]:
    if not (SITE / "node_modules" / "lforms" / "dist").is_dir():
        pytest.fail("LHC-Forms is not installed: run `make npm`")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=SITE))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def form(browser: Browser, lforms_url: str) -> Iterator[Callable[[dict[str, Any]], Page]]:
    """`form(questionnaire_or_lforms_definition)` -> the page with it rendered in #form. At
    teardown the test fails on console errors or requests to any other host."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    errors: list[str] = []
    outside: list[str] = []

    def open_(definition: dict[str, Any]) -> Page:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith((lforms_url, "data:"))
                else outside.append(r.url))
        page.goto(f"{lforms_url}/{PAGE}")
        page.wait_for_function("window.LForms && LForms.Util")
        page.evaluate("d => LForms.Util.addFormToPage(d, 'form', {})", definition)
        page.wait_for_selector("#form .lhc-item-question")
        return page

    yield open_
    context.close()
    assert not errors, f"browser console errors: {errors}"
    assert not outside, f"requests to other hosts: {outside}"


def _export(page: Page) -> dict[str, Any]:
    qr: dict[str, Any] = page.evaluate(
        "() => LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', "
        "document.getElementById('form'))")
    return qr


def _answer(page: Page, link_id: str, value: bool) -> None:
    page.locator(f'label[id^="{link_id}/"][id$="|{"true" if value else "false"}"]').click()


ANSWERS = {"fever": True, "chest_pain_or_pressure": False, "smoking": False,
           "heavy_lifting": True, "saddle_or_leg_numbness": False}


def test_filled_in_lforms_and_read_back_with_nothing_lost(
        kb: KnowledgeBase, form: Callable[[dict[str, Any]], Page],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # with the age and sex questions (the engine's optional answers) on the form
    monkeypatch.setattr(fhir, "check_answers", lambda answers, kb: dict(answers))
    q = fhir.questionnaire(kb)
    page = form(q)
    # every finding is a question; help, required marks and sections show; no kind as prefix
    required = {f for r in kb.rules.values() for f in r.findings}
    assert page.locator("lhc-item.lhc-datatype-BL").count() == len(kb.findings)
    assert page.locator("lhc-item.lhc-datatype-BL.lf-answer-required").count() == len(required)
    assert page.locator("#form .lhc-help-button").count() >= len(kb.findings)
    text = page.inner_text("#form")
    for section in {f.section for f in kb.findings.values()}:
        assert section in text
    assert "see_provider" not in text
    assert kb.version in text  # the disclaimer item carries the knowledge-base version

    for fid, value in ANSWERS.items():
        _answer(page, fid, value)
    page.locator('input[id^="age/"]').fill("72")
    page.locator('label[id^="sex/"][id$="|female"]').click()
    page.locator('input[id^="assessor/"]').fill("Dr Browser")
    page.locator('textarea[id^="note/"]').fill("Seen in clinic.\nReview in a week.")
    page.locator('input[id^="assessor/"]').press("Tab")

    qr = _export(page)
    assert qr["questionnaire"] == f"{fhir.QUESTIONNAIRE_URL}|{kb.version}"
    got = fhir.read_response(qr, kb)
    assert dict(got.answers) == ANSWERS
    assert (got.age, got.sex) == (72, "female")
    assert (got.assessor, got.note) == ("Dr Browser", "Seen in clinic.\nReview in a week.")
    assert got.kb_version == kb.version


def test_an_upperback_export_loads_into_lforms_unchanged(
        kb: KnowledgeBase, form: Callable[[dict[str, Any]], Page]) -> None:
    a = upperback.assess(ANSWERS, kb)
    bundle = fhir.assessment_bundle(a, kb, assessor="Dr A", note="kept")
    qr = next(e["resource"] for e in bundle["entry"]
              if e["resource"]["resourceType"] == "QuestionnaireResponse")
    page = form(fhir.questionnaire(kb))
    merged = page.evaluate(
        "([q, qr]) => LForms.Util.mergeFHIRDataIntoLForms('QuestionnaireResponse', qr, "
        "LForms.Util.convertFHIRQuestionnaireToLForms(q, 'R4'), 'R4')",
        [fhir.questionnaire(kb), qr])
    page = form(merged)
    got = fhir.read_response(_export(page), kb)
    assert dict(got.answers) == ANSWERS
    assert (got.assessor, got.note) == ("Dr A", "kept")
    assert upperback.assess(got.engine_answers(), kb).urgency == a.urgency
