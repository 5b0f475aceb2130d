"""Clinician dashboards (ipywidgets builders for Voilà): one module per dashboard, shared pieces
in `_common`. Notebooks call the builders; tests drive the returned widgets."""

from .assessment import AssessmentApp, build_assessment
from .conditions import ConditionsExplorer, build_conditions_explorer
from .treatments import TreatmentsExplorer, build_treatments_explorer

__all__ = [
    "AssessmentApp",
    "ConditionsExplorer",
    "TreatmentsExplorer",
    "build_assessment",
    "build_conditions_explorer",
    "build_treatments_explorer",
]
