"""upperback: decision support for upper (thoracic) back pain, for clinicians and educators.

Not a diagnosis and not a patient-facing symptom checker. The public API is listed in
`__all__`; everything else is private and may change.
"""

from ._engine import (
    Assessment,
    Candidate,
    DecisionChanger,
    Evidence,
    FiredRule,
    PresentRiskFactor,
    TreatmentOption,
    WithheldTreatment,
    WorkupItem,
    assess,
    triage,
)
from ._errors import (
    AnswerError,
    CohortError,
    InputFileError,
    KnowledgeBaseError,
    Problem,
    PublishError,
    UpperbackError,
)
from ._loader import default_data_dir, load_knowledge_base, validate_knowledge_base
from ._model import DISCLAIMER, URGENCIES, KnowledgeBase, Urgency, urgency_rank

__version__ = "0.1.0"

__all__ = [
    "DISCLAIMER",
    "URGENCIES",
    "AnswerError",
    "Assessment",
    "Candidate",
    "CohortError",
    "DecisionChanger",
    "Evidence",
    "FiredRule",
    "InputFileError",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "PresentRiskFactor",
    "Problem",
    "PublishError",
    "TreatmentOption",
    "UpperbackError",
    "Urgency",
    "WithheldTreatment",
    "WorkupItem",
    "__version__",
    "assess",
    "default_data_dir",
    "load_knowledge_base",
    "triage",
    "urgency_rank",
    "validate_knowledge_base",
]
