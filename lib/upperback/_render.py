"""The faces kit: how every face (dashboards, printable report, teaching, analyst) shows things.

One stylesheet (`STYLESHEET`, from `templates/upperback.css`), one wording map per code list
(urgencies, categories, access, invasiveness, condition groups), one footer, and autoescaping
Jinja2 templates (`templates/*.html.j2`) shared by the assessment dashboard and the printable
report, so the screen and the paper say the same things.

No widgets here (the report must work without ipywidgets). Jinja2 escapes every value from the
knowledge base, the engine or the user; only the citation helper returns markup, which it
escapes itself. A `Face` says how the sections are dressed for where they are shown: heading
level, citation class, whether questions link back to the checklist and whether the long tail
of causes starts collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from ._citation import NOT_RECHECKED, citation_html, reference
from ._engine import Assessment, Candidate, Evidence
from ._model import DISCLAIMER, URGENCIES, KnowledgeBase

__all__ = [
    "ACCESS_WORDS",
    "BASIS_WORDS",
    "CATEGORY_WORDS",
    "GROUP_WORDS",
    "INVASIVENESS_WORDS",
    "REPORT",
    "SCREEN",
    "SEX_WORDS",
    "SHOWN_CAUSES",
    "STYLESHEET",
    "SUMMARY_CAUSES",
    "TEACHING_GROUP_WORDS",
    "TEACHING_URGENCY_WORDS",
    "URGENCY_ICON",
    "URGENCY_WORDS",
    "Face",
    "answer_lr",
    "answers_html",
    "banner_html",
    "causes_html",
    "complications_html",
    "details_html",
    "estimate",
    "footer_html",
    "macro",
    "not_screened_html",
    "render",
    "report_body_html",
    "report_html",
    "results_html",
    "risk_factors_html",
    "summary_html",
    "treatments_html",
    "word",
    "word_count",
    "workup_html",
    "would_change_html",
]

# -- the one wording map ----------------------------------------------------------------------
# Codes never reach a screen: every face goes through `word()`. Urgencies the engine knows but
# this map does not yet name fall back to a readable form of the code (never the raw id).
URGENCY_WORDS = {
    "ambulance": "Ambulance now",
    "emergency": "Emergency department now",
    "urgent": "Urgent: today",
    "see_provider": "See a provider within days",
    "incomplete": "Incomplete",
    "self_care": "Self-care",
}
URGENCY_ICON = {"ambulance": "!!!", "emergency": "!!", "urgent": "!", "see_provider": "i",
                "incomplete": "?", "self_care": "OK"}
CATEGORY_WORDS = {
    "medication": "Medication",
    "non_drug": "Non-drug care",
    "procedure_surgery": "Procedures and surgery",
}
ACCESS_WORDS = {
    "otc": "Over the counter",
    "prescription": "Prescription",
    "clinician": "Given by a clinician",
    "self_care": "Self-care",
}
INVASIVENESS_WORDS = {0: "0 non-invasive", 1: "1 hands-on", 2: "2 minimally invasive",
                      3: "3 surgery"}
GROUP_WORDS = {
    "cardiac": "Heart and vessels",
    "degenerative": "Wear and tear",
    "mechanical": "Muscles, joints and posture",
    "pregnancy": "Pregnancy",
    "structural": "Bone and spine structure",
    "systemic_organ": "Internal organs and whole-body illness",
    "infection": "Infection",
    "malignancy": "Cancer",
    "vascular": "Blood vessels",
    "neurological": "Nerves",
}
SEX_WORDS = {"female": "Female", "male": "Male"}
# The teaching face's wording, on purpose longer than the dashboards': learners pick urgencies
# as quiz answers and read them inside sentences, so each says what to do (or why no decision
# is possible yet); cause families keep their textbook name with a plain gloss, because
# learning that name is the point of the lesson.
TEACHING_URGENCY_WORDS = {
    "ambulance": "Call an ambulance now",
    "emergency": "Emergency department now",
    "urgent": "Seen by a clinician today",
    "see_provider": "See a healthcare provider within days",
    "incomplete": "Cannot decide yet: red-flag questions unanswered",
    "self_care": "Self-care at home",
}
TEACHING_GROUP_WORDS = {
    "mechanical": "Mechanical (muscles, ligaments, posture)",
    "degenerative": "Degenerative (wear of discs and joints)",
    "structural": "Structural (fractures and deformities)",
    "systemic_organ": "Systemic and organ causes",
    "infection": "Infections",
    "pregnancy": "Pregnancy",
    "vascular": "Blood-vessel emergencies",
    "cardiac": "Heart-attack warning",
}
_MAPS: dict[str, Mapping[Any, str]] = {
    "urgency": URGENCY_WORDS, "category": CATEGORY_WORDS, "access": ACCESS_WORDS,
    "invasiveness": INVASIVENESS_WORDS, "group": GROUP_WORDS, "sex": SEX_WORDS,
    "teaching_urgency": TEACHING_URGENCY_WORDS, "teaching_group": TEACHING_GROUP_WORDS,
}


def word(kind: str, code: Any) -> str:
    """The words for a code of one list (`urgency`, `category`, `access`, `invasiveness`,
    `group`, `sex`, and the teaching face's `teaching_urgency`, `teaching_group`); an unmapped
    code is shown as words (`systemic_organ` -> `Systemic organ`)."""
    got = _MAPS[kind].get(code)
    if got is not None:
        return got
    text = str(code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


#: Causes listed in full in the details; the rest sit in a collapsed list below them.
SHOWN_CAUSES = 5
#: Causes on the first screen.
SUMMARY_CAUSES = 3


@dataclass(frozen=True)
class Face:
    """How the shared sections are dressed for one place they are shown."""

    #: Level of section headings (`h3` on screen); sub-headings are one level deeper.
    heading: int = 3
    #: CSS class of source citations.
    cite_class: str = "ub-src"
    #: Questions are links to their checklist row (`#q-<finding id>`): only on screen.
    link_findings: bool = False
    #: The lower-scoring causes start collapsed; a printed page shows them open.
    collapse_causes: bool = True


#: The assessment dashboard.
SCREEN = Face(heading=3, cite_class="ub-src", link_findings=True, collapse_causes=True)
#: The printable report: no links out of the page, nothing hidden from the printer.
REPORT = Face(heading=2, cite_class="src", link_findings=False, collapse_causes=False)


# -- the template environment -----------------------------------------------------------------
def _cite(kb: KnowledgeBase, source_id: str | None, face: Face) -> Markup:
    return Markup(citation_html(kb, source_id, css_class=face.cite_class))


def _cites(kb: KnowledgeBase, source_ids: Iterable[str], face: Face) -> Markup:
    return Markup(" ").join(_cite(kb, s, face) for s in dict.fromkeys(source_ids))


def _label(kb: KnowledgeBase, finding_id: str) -> str:
    f = kb.findings.get(finding_id)
    return f.label if f else finding_id


BASIS_WORDS = {"published": "published figures", "guideline": "guideline",
               "expert_estimate": "expert estimate"}


def _percent(p: float) -> str:
    """An estimate as a percentage, never falsely precise."""
    if p < 0.001:
        return "under 0.1%"
    if p < 0.01:
        return f"{p * 100:.1f}%"
    return f"{round(p * 100)}%"


def _lr(e: Evidence) -> str:
    """The likelihood ratio an answer applied, named for the answer: LR+ for a yes, LR- for a
    no (a no can raise a cause and a yes can lower one)."""
    name = "LR+" if e.answer else "LR\u2212"
    return f"{name} {e.likelihood_ratio:g}"


def answer_lr(e: Evidence) -> str:
    """An answer with the likelihood ratio it applied: "yes, LR+ 5" or "no, LR\u2212 0.2"."""
    return f"{'yes' if e.answer else 'no'}, {_lr(e)}"


def _basis(code: str) -> str:
    return BASIS_WORDS.get(code, word("group", code).lower())


def _find_candidate(a: Assessment, condition_id: str) -> Candidate | None:
    """A cause of the assessment by id, subtypes included."""
    todo = list(a.candidates)
    while todo:
        c = todo.pop(0)
        if c.condition_id == condition_id:
            return c
        todo.extend(c.subtypes)
    return None


#: Treatment categories in the order shown: non-drug care first (ACP 2017).
TREATMENT_ORDER = ("non_drug", "medication", "procedure_surgery")


def estimate(c: Candidate) -> str:
    """A cause's estimate as shown next to its name: rounded probability and its basis."""
    return f"{_percent(c.probability)} ({_basis(c.basis)})"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("upperback", "templates"),
        autoescape=True,  # every template, whatever its name: nothing reaches HTML unescaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals.update(
        cite=_cite, cites=_cites, label=_label, word=word, estimate=estimate, plural=_plural,
        percent=_percent, lr=_lr, basis=_basis, find_candidate=_find_candidate,
        TREATMENT_ORDER=TREATMENT_ORDER,
        reference=reference, NOT_RECHECKED=NOT_RECHECKED, DISCLAIMER=DISCLAIMER,
        URGENCIES=URGENCIES, URGENCY_ICON=URGENCY_ICON, CATEGORY_WORDS=CATEGORY_WORDS,
        SHOWN_CAUSES=SHOWN_CAUSES, SUMMARY_CAUSES=SUMMARY_CAUSES,
    )
    return env


def render(template: str, **values: Any) -> str:
    """Render one of the kit's templates (autoescaped) to HTML text."""
    return _env().get_template(template).render(**values)


def macro(template: str, name: str, *args: Any, face: Face = SCREEN) -> str:
    """Call one macro of a kit template (autoescaped) with `face` in its context."""
    module = _env().get_template(template).make_module({"face": face})
    return str(getattr(module, name)(*args))


def _macro(name: str, *args: Any) -> str:
    """Call one macro of `assessment.html.j2`: each section is a macro there."""
    module = _env().get_template("assessment.html.j2").module
    return str(getattr(module, name)(*args))


def _read_css() -> str:
    return resources.files("upperback").joinpath("templates", "upperback.css").read_text(
        encoding="utf-8")


#: The one stylesheet, as CSS text (dashboards wrap it in `<style>`; the report inlines it).
STYLESHEET = _read_css()


# -- the urgency block and the first screen ---------------------------------------------------
def banner_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """The full urgency banner: word and icon, headline, advice, the rules that fired (with
    their answers and sources), the emergency-screen-incomplete box, unanswered
    see-a-provider questions and the safety net."""
    return _macro("banner", a, kb, face)


def summary_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """The first screen, readable in ten seconds: the urgency (word, headline, what led
    there in a line), the top causes with their estimate, and the next steps."""
    return _macro("summary", a, kb, face)


def details_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Everything else, one click away: why (rules and sources), the open questions, the
    safety net, every cause, work-up, treatments, risk factors, what would change it and
    what is not screened."""
    return _macro("details", a, kb, face)


# -- the explained results --------------------------------------------------------------------
def causes_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Likely causes with the answers for and against each; after the first `SHOWN_CAUSES`,
    the rest sit in a `<details>` list (collapsed on screen)."""
    return _macro("causes", a, kb, face)


def workup_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    return _macro("workup", a, kb, face)


def treatments_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Treatment options by category (access, what they are for, what to ask first, evidence),
    then those withheld by an answer; secondary in an emergency."""
    return _macro("treatments", a, kb, face)


def risk_factors_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Risk factors answered yes, with prevention advice; nothing when there are none."""
    return _macro("risk_factors", a, kb, face)


def would_change_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """The answers that would raise the urgency beyond the open questions the banner already
    lists, or a sentence saying there are none."""
    return _macro("would_change", a, kb, face)


def complications_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Complications of back pain to watch for (each cause's course is shown with it)."""
    return _macro("complications", a, kb, face)


def not_screened_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """What this checklist does not screen for, and why it matters."""
    return _macro("not_screened", a, kb, face)


def results_html(a: Assessment, kb: KnowledgeBase, face: Face = SCREEN) -> str:
    """Every section below the banner, in screen order."""
    return _macro("results", a, kb, face)


def answers_html(a: Assessment, kb: KnowledgeBase, face: Face = REPORT) -> str:
    """Every checklist question with its answer; unanswered ones are marked as such."""
    return _macro("answers", a, kb, face)


def footer_html(kb: KnowledgeBase | str) -> str:
    """The footer of every screen: decision support, not a diagnosis, and the KB version.
    Takes the knowledge base or only its version (the analyst screens show a folder they do
    not load: it may be broken, and they are there to mend it)."""
    return render("footer.html.j2", version=kb if isinstance(kb, str) else kb.version)


def report_html(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    assessor: str | None = None,
    note: str | None = None,
    patient_id: str | None = None,
    when: datetime,
) -> str:
    """A self-contained printable HTML page of one assessment (no scripts, no links out)."""
    return render("report.html.j2", a=a, kb=kb, face=REPORT, assessor=assessor, note=note,
                  patient_id=patient_id, when=when, css=Markup(STYLESHEET))


def report_body_html(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    assessor: str | None = None,
    note: str | None = None,
    patient_id: str | None = None,
    when: datetime,
) -> str:
    """The report without its page: what the dashboard prints (its print-only block)."""
    return render("report_body.html.j2", a=a, kb=kb, face=REPORT, assessor=assessor,
                  note=note, patient_id=patient_id, when=when)


def word_count(html: str) -> int:
    """Words shown by an HTML fragment before any click (tags, the stylesheet and the body of
    a closed `<details>` dropped; its summary line counts): the first-screen budget."""
    text = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    text = re.sub(r"(<details(?![^>]*\bopen\b)[^>]*>\s*<summary>.*?</summary>).*?</details>",
                  r"\1", text, flags=re.S)
    return len(re.sub(r"<[^>]+>", " ", text).split())
