"""The cause explorer: pick a cause and read what it is, its code, findings, red flags, tests,
treatments and sources."""

from __future__ import annotations

import ipywidgets as w

from .. import _render, lookup
from .._loader import load_knowledge_base
from .._model import KnowledgeBase
from . import _common as c


def condition_html(kb: KnowledgeBase, condition_id: str) -> str:
    """Everything the knowledge base says about one cause, with a source for each claim."""
    cond = kb.conditions[condition_id]
    priors = sorted((x for x in kb.priors if x.condition_id == condition_id),
                    key=lambda x: (x.age_min, x.age_max))
    links = lookup.findings_of(kb, condition_id)
    rules = lookup.rules_of(kb, condition_id)
    tests = lookup.tests_of(kb, condition_id)
    treats = lookup.treatments_of(kb, condition_id)
    used = list(dict.fromkeys([cond.source_id, cond.prognosis_source_id,
                               *(x.source_id for x in priors), *(x.source_id for x in links),
                               *(r.source_id for r in rules), *(t.source_id for t in tests),
                               *(t.source_id for t in treats)]))
    return _render.macro("explorers.html.j2", "condition", kb, cond, priors, links, rules,
                         tests, treats, used)


class ConditionsExplorer(w.VBox):  # type: ignore[misc]
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.error = c.error_banner()
        options = sorted(((f"{x.name} ({x.icd10cm})" if x.icd10cm else x.name, x.condition_id)
                          for x in kb.conditions.values()), key=lambda o: o[0].lower())
        self.picker = w.Dropdown(options=options, description="Cause",
                                 layout=w.Layout(width="100%", max_width="32em"))
        self.picker.add_class("ub-condition-picker")
        self.detail = w.HTML()
        self.detail.add_class("ub-condition-detail")
        self.picker.observe(c.guard(self.error)(lambda _ch: self.show()), names="value")
        super().__init__([c.style(), self.error, self.picker, self.detail, c.footer(kb)])
        self.add_class("ub-app")
        self.add_class("ub-conditions")
        self.show()

    def show(self) -> None:
        if self.picker.value is not None:
            self.detail.value = condition_html(self.kb, self.picker.value)


def build_conditions_explorer(kb: KnowledgeBase | None = None) -> ConditionsExplorer | w.VBox:
    loaded = kb if kb is not None else c.load_or_message(load_knowledge_base)
    if isinstance(loaded, w.VBox):
        return loaded
    return ConditionsExplorer(loaded)
