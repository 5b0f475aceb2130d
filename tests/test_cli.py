"""The command line: output, exit codes (0 ok, 1 bad data or input, 2 usage), never a traceback."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from upperback.cli import main

REPO = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate")
    assert code == 0
    assert "valid" in out
    assert "safety cases pass" in out


def test_validate_broken_reports_and_exits_1(capsys: pytest.CaptureFixture[str],
                                              data_copy: Path) -> None:
    path = data_copy / "findings.csv"
    path.write_text(path.read_text().replace(",history,", ",hystory,", 1))
    code, _, err = run(capsys, "validate", "--data", str(data_copy))
    assert code == 1
    line = next(i for i, x in enumerate((REPO / "data" / "findings.csv").read_text()
                                         .splitlines(), 1) if ",history," in x)
    assert f"findings.csv, line {line}, column 'kind'" in err
    assert "Nothing was changed" in err


def test_validate_json(capsys: pytest.CaptureFixture[str], data_copy: Path) -> None:
    (data_copy / "extra.csv").write_text("a\n1\n")
    code, out, _ = run(capsys, "validate", "--json", "--data", str(data_copy))
    report = json.loads(out)
    assert code == 1
    assert not report["valid"]
    assert report["problems"][0]["file"] == "extra.csv"


@pytest.mark.parametrize(("command", "key", "expected"), [
    ("findings", "id", "recent_trauma"),
    ("conditions", "id", "back_strain"),
])
def test_listings(capsys: pytest.CaptureFixture[str], command: str, key: str,
                  expected: str) -> None:
    code, out, _ = run(capsys, command, "--json")
    assert code == 0
    assert expected in [r[key] for r in json.loads(out)]
    code, out, _ = run(capsys, command)
    assert code == 0
    assert expected in out


def test_conditions_json_fields(capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(run(capsys, "conditions", "--json")[1])
    strain = next(r for r in rows if r["id"] == "back_strain")
    assert strain == {"id": "back_strain", "name": "Back strain", "group": "mechanical",
                      "icd10": "S29.012A", "parent": None}


def test_assess_json_from_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"recent_trauma": True}))
    code, out, _ = run(capsys, "assess", "--answers", str(f), "--json")
    d = json.loads(out)
    assert code == 0
    assert d["urgency"] == "emergency"
    assert d["fired"] == [{"rule": "em_recent_trauma", "label": d["fired"][0]["label"],
                           "urgency": "emergency", "findings": ["recent_trauma"],
                           "rationale": d["fired"][0]["rationale"], "source": "nice_ng41"}]


def test_assess_accepts_age_and_sex(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"acute_onset": True, "age": 74, "sex": "female"}))
    code, out, _ = run(capsys, "assess", "--answers", str(f), "--json")
    d = json.loads(out)
    assert code == 0
    assert d["urgency"] == "emergency"
    assert d["answers"]["age_70_or_older"] is True
    assert "age_70_or_older" in d["derived"]


def test_assess_bad_age_names_the_key_not_the_value(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"age": 157}))
    code, _, err = run(capsys, "assess", "--answers", str(f), "--json")
    assert code == 1
    assert "age must be a whole number" in err
    assert "157" not in err


def test_assess_stdin_text_summary(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"fever": true}'))
    code, out, _ = run(capsys, "assess", "--answers", "-")
    assert code == 0
    assert "SEE PROVIDER" in out
    assert "Emergency screen incomplete" in out
    assert "not a diagnosis" in out


def test_assess_writes_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text("{}")
    out_file = tmp_path / "out.json"
    code, out, _ = run(capsys, "assess", "--answers", str(f), "--json", "-o", str(out_file))
    assert code == 0
    assert out == ""
    assert json.loads(out_file.read_text())["urgency"] == "incomplete"


@pytest.mark.parametrize(("content", "words"), [
    ('{"recent_traum": true}', "unknown finding id: recent_traum"),
    ('{"fever": "yes"}', "must be true or false"),
    ('[1, 2]', "must hold a JSON object"),
    ("{not json", "is not valid JSON (line 1"),
    (None, "cannot read"),
])
def test_assess_bad_input_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, words: str
) -> None:
    f = tmp_path / "a.json"
    if content is not None:
        f.write_text(content)
    out_file = tmp_path / "out.json"
    code, out, err = run(capsys, "assess", "--answers", str(f), "-o", str(out_file))
    assert code == 1
    assert words in err
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not out_file.exists(), "nothing is written on error"


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["assess"], ["validate", "--bogus"],
                                  ["assess", "--answers", "x", "--format", "pdf"]])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_python_dash_m_has_no_traceback_on_bad_data(data_copy: Path) -> None:
    (data_copy / "advice.csv").write_text("")
    proc = subprocess.run([sys.executable, "-m", "upperback", "validate", "--data",
                           str(data_copy)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "advice.csv: the file is empty" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_dictionary_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "dictionary", "--check")
    assert code == 0, err


def test_dictionary_check_detects_stale(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    stale = tmp_path / "dd.md"
    stale.write_text("# old\n")
    assert run(capsys, "dictionary", "--check", "-o", str(stale))[0] == 1
    assert run(capsys, "dictionary", "-o", str(stale))[0] == 0
    assert run(capsys, "dictionary", "--check", "-o", str(stale))[0] == 0
    assert "`finding_id`" in stale.read_text()


def test_unwritable_output_is_a_clear_error(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text("{}")
    code, _, err = run(capsys, "assess", "--answers", str(f), "-o",
                       str(tmp_path / "missing" / "x.json"))
    assert code == 1
    assert "No such file or directory" in err
    assert "internal error" not in err


def test_note_from_file_reaches_the_report(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    answers, note = tmp_path / "a.json", tmp_path / "note.txt"
    answers.write_text('{"fever": true}')
    note.write_text("Seen in clinic <today>\n")
    code, out, _ = run(capsys, "assess", "--answers", str(answers), "--format", "html",
                       "--note-file", str(note))
    assert code == 0
    assert "Seen in clinic &lt;today&gt;" in out
    code, _, err = run(capsys, "assess", "--answers", str(answers), "--note-file",
                       str(tmp_path / "missing.txt"))
    assert code == 1
    assert "cannot read" in err
