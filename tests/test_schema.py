"""Reading the knowledge base robustly: what spreadsheets and editors do to CSV files, and junk.

Each break must give one plain message naming the file and line (never a knock-on error in another
file, never an internal error), and junk must be refused in seconds.
"""

from __future__ import annotations

import random
import string
import subprocess
import sys
import time
from pathlib import Path

import pytest

import upperback
from upperback._errors import Problem
from upperback._schema import (
    MAX_PROBLEMS_PER_FILE,
    MAX_TABLE_BYTES,
    capped,
    read_descriptor,
    read_table,
)

BOM = b"\xef\xbb\xbf"


def problems(folder: Path) -> list[Problem]:
    return upperback.validate_knowledge_base(folder)


def rewrite(path: Path, fn: object) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(fn(text), encoding="utf-8")  # type: ignore[operator]


@pytest.mark.parametrize("name", ["findings.csv", "triage_rules.csv", "sources.csv"])
def test_a_bom_is_accepted_and_read_as_without(data_copy: Path, name: str) -> None:
    path = data_copy / name
    path.write_bytes(BOM + path.read_bytes())
    assert problems(data_copy) == []
    spec = read_descriptor(data_copy)
    table = next(t for t in spec.tables.values() if t.path == name)
    rows = read_table(data_copy, table)
    assert set(rows[0]) == {f.name for f in table.fields}  # no "\ufeff" in the first column


def test_a_bom_on_every_file_validates_through_the_cli(data_copy: Path) -> None:
    for path in data_copy.glob("*.csv"):
        path.write_bytes(BOM + path.read_bytes())
    from upperback.cli import main

    assert main(["validate", "--data", str(data_copy)]) == 0


def test_trailing_empty_excel_columns_are_reported_once(data_copy: Path) -> None:
    rewrite(data_copy / "conditions.csv",
            lambda t: "".join(line.rstrip("\n") + ",,,\n" for line in t.splitlines(True)))
    found = problems(data_copy)
    assert len(found) == 1, found
    (p,) = found
    assert (p.file, p.line) == ("conditions.csv", 1)
    assert "3 empty columns after 'source_id'" in p.message
    assert "unique labels" not in str(p)


def test_an_extra_column_is_named_once(data_copy: Path) -> None:
    rewrite(data_copy / "sources.csv", lambda t: t.replace("\n", ",extra_col\n", 1))
    found = problems(data_copy)
    assert [(p.file, p.line, p.column) for p in found] == [("sources.csv", 1, "extra_col")]
    assert "'extra_col' is not declared" in found[0].message
    assert "None" not in str(found[0])


def test_a_duplicate_and_a_nameless_column(data_copy: Path) -> None:
    rewrite(data_copy / "advice.csv", lambda t: t.replace("headline,", "headline,,headline,", 1))
    messages = [p.message for p in problems(data_copy)]
    assert any("column 3 of the header has no name" in m for m in messages)
    assert any("'headline' appears twice" in m for m in messages)


def test_an_unclosed_quote_is_diagnosed_with_its_line(data_copy: Path) -> None:
    lines = (data_copy / "triage_rules.csv").read_text(encoding="utf-8").splitlines(True)
    lines[4] = lines[4].replace(",verywell_ubp", ',"verywell_ubp')
    (data_copy / "triage_rules.csv").write_text("".join(lines), encoding="utf-8")
    found = problems(data_copy)
    assert len(found) == 1, found  # no "too many cells", no knock-on error in another file
    assert (found[0].file, found[0].line) == ("triage_rules.csv", 5)
    assert "quote" in found[0].message
    assert "not closed" in found[0].message


def test_an_unclosed_quote_at_the_end_of_the_file(data_copy: Path) -> None:
    path = data_copy / "advice.csv"
    n = len(path.read_text(encoding="utf-8").splitlines())
    path.write_text(path.read_text(encoding="utf-8") + 'self_care,"oops\n', encoding="utf-8")
    found = problems(data_copy)
    assert [(p.file, p.line) for p in found] == [("advice.csv", n + 1)]


def test_a_quoted_multiline_cell_is_still_fine(data_copy: Path) -> None:
    rewrite(data_copy / "complications.csv",
            lambda t: t.replace("Depression and anxiety,", '"Depression\nand anxiety",', 1))
    assert problems(data_copy) == []


def test_crlf_files_validate(data_copy: Path) -> None:
    for path in data_copy.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert problems(data_copy) == []


def _junk_lines(n_bytes: int, seed: int) -> str:
    rnd = random.Random(seed)
    words = ["alpha", "beta", '"q', "1.5", "true", "x y", ""]
    out, size = [], 0
    while size < n_bytes:
        line = ",".join(rnd.choice(words) for _ in range(rnd.randint(1, 14)))
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


@pytest.mark.parametrize("kind", ["lines", "printable"])
def test_text_junk_is_refused_quickly_with_few_problems(data_copy: Path, kind: str) -> None:
    rnd = random.Random(5)
    junk = (_junk_lines(1_000_000, 5) if kind == "lines"
            else "".join(rnd.choice(string.printable) for _ in range(1_000_000)))
    (data_copy / "treatments.csv").write_text(junk, encoding="utf-8")
    start = time.perf_counter()
    found = problems(data_copy)
    assert time.perf_counter() - start < 30
    assert found
    assert all(p.file == "treatments.csv" for p in found), found
    assert len(found) <= MAX_PROBLEMS_PER_FILE + 1


def test_a_huge_file_is_refused_without_reading_it(data_copy: Path) -> None:
    path = data_copy / "findings.csv"
    with path.open("ab") as fh:  # sparse: 50 MB on paper, nothing much on disk
        fh.truncate(50_000_000)
    start = time.perf_counter()
    found = problems(data_copy)
    assert time.perf_counter() - start < 10
    assert [p.file for p in found] == ["findings.csv"]
    assert "too big" in found[0].message
    assert f"{MAX_TABLE_BYTES / 1e6:.0f} MB" in found[0].message


def test_wrongly_typed_junk_below_the_size_cap_is_capped(data_copy: Path) -> None:
    rows = ["treatment_id,name,category,access,invasiveness,description,general,evidence_note,"
            "evidence_source_id,source_id"]
    rows += [f"junk_{i},Name,cat,otc,x,desc,maybe,,,nosrc" for i in range(20_000)]
    (data_copy / "treatments.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    start = time.perf_counter()
    found = problems(data_copy)
    assert time.perf_counter() - start < 30
    per_file: dict[str, int] = {}
    for p in found:
        per_file[p.file] = per_file.get(p.file, 0) + 1
    assert max(per_file.values()) <= MAX_PROBLEMS_PER_FILE + 1
    assert any("more problems in this file" in p.message for p in found)


def test_capped_counts_what_it_hides() -> None:
    many = [Problem("a.csv", f"p{i}") for i in range(30)] + [Problem("b.csv", "q")]
    out = capped(many, per_file=10)
    assert [p.message for p in out[:10]] == [f"p{i}" for i in range(10)]
    assert out[10] == Problem("b.csv", "q")
    assert out[11].file == "a.csv"
    assert "20 more problems" in out[11].message


@pytest.mark.parametrize("command", ["validate", "findings"])
def test_cli_on_bom_files_never_says_internal_error(data_copy: Path, command: str) -> None:
    for path in data_copy.glob("*.csv"):
        path.write_bytes(BOM + path.read_bytes())
    run = subprocess.run([sys.executable, "-m", "upperback", command, "--data", str(data_copy)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "internal error" not in run.stderr
