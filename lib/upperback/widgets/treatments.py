"""The treatment explorer: filter by cause, category, access and invasiveness; read what each
treatment is for, its evidence notes and its contraindications."""

from __future__ import annotations

import ipywidgets as w

from .. import _render, lookup
from .._loader import load_knowledge_base
from .._model import KnowledgeBase, Treatment
from . import _common as c

ALL = "__all__"


def filter_treatments(kb: KnowledgeBase, *, condition: str = ALL, category: str = ALL,
                      access: str = ALL, max_invasiveness: int = 3) -> list[Treatment]:
    """Treatments matching every filter, in the core's ladder order (least invasive first)."""
    serves = {x.treatment_id for x in lookup.treatments_of(kb, condition)}
    return [t for t in lookup.treatment_ladder(kb)
            if (condition == ALL or t.treatment_id in serves)
            and (category == ALL or t.category == category)
            and (access == ALL or t.access == access)
            and t.invasiveness <= max_invasiveness]


def treatment_html(kb: KnowledgeBase, t: Treatment) -> str:
    tid = t.treatment_id
    return _render.macro("explorers.html.j2", "treatment", kb, t, lookup.uses_of(kb, tid),
                         lookup.contraindications_of(kb, tid))


class TreatmentsExplorer(w.VBox):  # type: ignore[misc]
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.error = c.error_banner()
        conds = sorted(((x.name, x.condition_id) for x in kb.conditions.values()),
                       key=lambda o: o[0].lower())
        cats = sorted({t.category for t in kb.treatments.values()})
        accs = sorted({t.access for t in kb.treatments.values()})
        wide = w.Layout(width="100%", max_width="30em")
        self.condition = w.Dropdown(options=[("Any cause", ALL), *conds], description="Cause",
                                    layout=wide)
        self.category = w.Dropdown(
            options=[("Any category", ALL),
                     *((c.CATEGORY_WORDS.get(x, x), x) for x in cats)],
            description="Category", layout=wide)
        self.access = w.Dropdown(
            options=[("Any access", ALL), *((c.ACCESS_WORDS.get(x, x), x) for x in accs)],
            description="Access", layout=wide)
        self.invasiveness = w.Dropdown(
            options=[(f"Up to {v}", k) for k, v in sorted(c.INVASIVENESS_WORDS.items())],
            value=3, description="Invasiveness", layout=wide, style={"description_width": "7em"})
        for dd in (self.condition, self.category, self.access):
            dd.style.description_width = "7em"
        self.count = w.HTML()
        self.count.add_class("ub-treatment-count")
        self.list = w.HTML()
        self.list.add_class("ub-treatment-list")
        for i, dd in enumerate((self.condition, self.category, self.access, self.invasiveness)):
            dd.add_class(("ub-filter-condition", "ub-filter-category", "ub-filter-access",
                          "ub-filter-invasiveness")[i])
            dd.observe(c.guard(self.error)(lambda _ch: self.show()), names="value")
        filters = w.VBox([w.HTML("<h2>Filters</h2>"), self.condition, self.category,
                          self.access, self.invasiveness])
        super().__init__([c.style(), self.error, filters, w.HTML("<h2>Matching treatments</h2>"),
                          self.count, self.list, c.footer(kb)])
        self.add_class("ub-app")
        self.add_class("ub-treatments")
        self.show()

    def show(self) -> None:
        items = filter_treatments(self.kb, condition=self.condition.value,
                                  category=self.category.value, access=self.access.value,
                                  max_invasiveness=self.invasiveness.value)
        self.count.value = (f"<p role='status'><strong>{len(items)}</strong> treatment"
                            f"{'s' * (len(items) != 1)} match.</p>")
        self.list.value = ("".join(treatment_html(self.kb, t) for t in items)
                           or "<p>No treatment matches these filters.</p>")


def build_treatments_explorer(kb: KnowledgeBase | None = None) -> TreatmentsExplorer | w.VBox:
    loaded = kb if kb is not None else c.load_or_message(load_knowledge_base)
    if isinstance(loaded, w.VBox):
        return loaded
    return TreatmentsExplorer(loaded)
