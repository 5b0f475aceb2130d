"""Exports of an assessment: printable HTML report and FHIR R4B QuestionnaireResponse.

Implemented with the clinician dashboards (issue 4).
"""
