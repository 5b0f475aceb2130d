"""Analyst widgets, driven without a browser: set values, click, read the HTML."""

from __future__ import annotations

import html
import re
from pathlib import Path

import ipywidgets as w
import pytest

from upperback import DISCLAIMER, URGENCIES
from upperback.analyst_widgets import Unavailable, data_dictionary_app, editor_app, impact_app
from upperback.widgets.kit import word

DATA = Path(__file__).resolve().parents[1] / "data"
#: The level just below emergency (see_provider today; urgent once the engine has six levels).
LOWER = URGENCIES[URGENCIES.index("emergency") + 1]


@pytest.fixture
def app(data_copy: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    a = editor_app(data_copy, backup_root=tmp_path / "backups")
    yield a
    a.copy.close()


def test_header_and_footer_show_version_and_disclaimer(app) -> None:  # type: ignore[no-untyped-def]
    assert app.copy.version in app.header.value
    assert DISCLAIMER in app.footer.value
    assert app.copy.version in app.footer.value


def test_edit_diff_impact_publish_restore(app, data_copy: Path) -> None:  # type: ignore[no-untyped-def]
    before = (data_copy / "triage_rules.csv").read_bytes()
    app.table.value = "triage_rules"
    assert list(app.frame.columns)[:2] == ["rule_id", "urgency"]
    first, label = app.frame["rule_id"].iloc[0], app.frame["label"].iloc[0]
    app.grid.set_cell_value_by_index("label", 0, "Numbness, saddle or legs")
    app.diff_button.click()
    assert f"changed {first} (line 2)" in app.diff_view.value
    assert (f"label: <del>{html.escape(label)}</del> &rarr; <ins>Numbness, saddle or legs</ins>"
            in app.diff_view.value)
    app.impact_button.click()
    assert "0 of 2000 patients change urgency" in app.impact_view.value
    app.note.value = "wording"
    app.publish_button.click()
    assert "ub-ok" in app.publish_view.value
    assert "Done:" in app.publish_view.value  # said in words, not by colour alone
    assert app.copy.version in app.footer.value  # the footer follows the new version
    assert (data_copy / "triage_rules.csv").read_bytes() != before
    assert len(app.backups.options) == 1
    app.restore_button.click()
    assert "Restored backup" in app.publish_view.value
    assert (data_copy / "triage_rules.csv").read_bytes() == before


def test_bad_edit_shows_problems_and_writes_nothing(app, data_copy: Path) -> None:  # type: ignore[no-untyped-def]
    before = (data_copy / "findings.csv").read_bytes()
    app.table.value = "findings"
    app.grid.set_cell_value_by_index("kind", 0, "hystory")
    app.impact_button.click()
    assert "Fix these problems first" in app.impact_view.value
    app.publish_button.click()
    assert "Not published" in app.publish_view.value
    assert "<td>findings.csv</td><td>2</td><td>kind</td>" in app.publish_view.value
    assert (data_copy / "findings.csv").read_bytes() == before


def test_add_delete_reset_and_errors(app) -> None:  # type: ignore[no-untyped-def]
    app.table.value = "complications"
    n = len(app.frame)
    app.add_button.click()
    assert len(app.frame) == n + 1
    assert "Added a blank row" in app.message.value
    app.row.value = 0
    app.delete_button.click()
    assert len(app.frame) == n
    assert "Deleted row" in app.message.value
    app.reset_button.click()
    assert app.copy.changed_files() == []
    app.restore_button.click()
    assert "no backup to restore" in app.message.value


def test_callback_error_is_visible(app) -> None:  # type: ignore[no-untyped-def]
    app.table.value = "complications"
    app.grid.on_cell_change(lambda cell: None)
    app.grid.set_cell_value_by_index("name", 0, "x")
    app.copy.close()  # the working copy disappears under the editor
    app.diff_button.click()
    assert "ub-error" in app.message.value
    assert "Traceback" not in app.message.value


def test_data_dictionary_filters() -> None:
    d = data_dictionary_app(DATA)
    assert DISCLAIMER in d.footer.value
    d.table.value = "findings"
    assert "<code>finding_id</code>" in d.view.value
    d.search.value = "display"
    assert "<code>display_order</code>" in d.view.value
    assert "<code>label</code>" not in d.view.value
    d.search.value = "zzzz"
    assert "No column matches" in d.view.value


def test_impact_app(data_copy: Path, tmp_path: Path) -> None:
    path = data_copy / "triage_rules.csv"
    path.write_text(path.read_text().replace("Saddle or leg numbness,", "Saddle numbness,", 1))
    i = impact_app(DATA, data_copy)
    i.button.click()
    assert "changed em_saddle_or_leg_numbness" in i.diff_view.value
    assert "0 of 2000 patients change urgency" in i.impact_view.value
    (tmp_path / "c.csv").write_text("patient_id,fevr\np1,true\n")
    i.cohort.value = str(tmp_path / "c.csv")
    i.button.click()
    assert "fevr" in i.message.value
    i.new.value = str(tmp_path / "nowhere")
    i.button.click()
    assert "ub-error" in i.message.value


def test_editor_history_follows_the_published_folder(data_copy: Path) -> None:
    a = editor_app(data_copy)
    try:
        assert a.backup_root == data_copy.parent / "kb-backups"
    finally:
        a.copy.close()


def test_protected_downgrade_needs_the_signoff_field(app, data_copy: Path) -> None:  # type: ignore[no-untyped-def]
    before = (data_copy / "triage_rules.csv").read_bytes()
    app.table.value = "triage_rules"
    row = list(app.frame["rule_id"]).index("em_cancer_balance")
    app.grid.set_cell_value_by_index("urgency", row, LOWER)
    app.table.value = "safety_cases"
    row = list(app.frame["case_id"]).index("case_em_cancer_balance")
    app.grid.set_cell_value_by_index("min_urgency", row, LOWER)
    app.impact_button.click()
    assert "NEEDS CLINICAL SIGN-OFF" in app.impact_view.value
    assert "case case_em_cancer_balance" in app.impact_view.value  # its urgency drops
    app.note.value = "NICE review"
    app.publish_button.click()
    assert "clinical sign-off" in app.publish_view.value
    assert (data_copy / "triage_rules.csv").read_bytes() == before
    app.signoff.value = "Dr Lee"
    app.publish_button.click()
    assert "Signed off by Dr Lee" in app.publish_view.value
    assert "Dr Lee" in (data_copy / "changelog.csv").read_text(encoding="utf-8")


#: An urgency code as a whole word (ids such as `em_cancer_balance` do not match).
RAW_URGENCY = re.compile(rf"\b({'|'.join(URGENCIES)})\b")


def test_impact_speaks_of_urgencies_in_words(app) -> None:  # type: ignore[no-untyped-def]
    app.table.value = "triage_rules"
    row = list(app.frame["rule_id"]).index("em_cancer_balance")
    app.grid.set_cell_value_by_index("urgency", row, LOWER)
    app.table.value = "safety_cases"
    row = list(app.frame["case_id"]).index("case_em_cancer_balance")
    app.grid.set_cell_value_by_index("min_urgency", row, LOWER)
    app.impact_button.click()
    shown = app.impact_view.value
    assert "DOWNGRADE" in shown  # said in words, the colour only repeats it
    assert f"downgraded {word('urgency', 'emergency')} \u2192 {word('urgency', LOWER)}" in shown
    assert f"<th scope='row'>{html.escape(word('urgency', 'see_provider'))}</th>" in shown
    assert RAW_URGENCY.findall(shown) == []


def test_knowledge_base_text_is_escaped(app) -> None:  # type: ignore[no-untyped-def]
    app.table.value = "complications"
    app.grid.set_cell_value_by_index("name", 0, "<script>alert(1)</script>")
    app.diff_button.click()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in app.diff_view.value
    assert "<script>" not in app.diff_view.value


def test_every_screen_on_the_kit(app, data_copy: Path) -> None:  # type: ignore[no-untyped-def]
    screens = [app, data_dictionary_app(DATA), impact_app(DATA, data_copy)]
    for screen in screens:
        assert {"ub-app", "ub-analyst"} <= set(screen.widget._dom_classes)
        boxes = screen.widget.children
        assert "ub-style" in boxes[0]._dom_classes  # the one stylesheet
        assert "ub-footer-box" in boxes[-1]._dom_classes
        assert DISCLAIMER in boxes[-1].value
        html_values = [b.value for b in boxes if isinstance(b, w.HTML)]
        assert not [v for v in html_values[1:] if "style=" in v]  # no inline styles


@pytest.mark.parametrize("build", [editor_app, data_dictionary_app])
def test_unreadable_folder_is_explained_not_raised(build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shown = build(tmp_path / "nowhere")
    assert isinstance(shown, Unavailable)
    banner, footer = shown.widget.children[2], shown.widget.children[-1]
    assert "datapackage.json" in shown.message or "nowhere" in shown.message
    assert "role='alert'" in banner.value
    assert "Traceback" not in banner.value
    assert DISCLAIMER in footer.value
