"""Handouts: each teaching notebook as a self-contained, offline HTML page (and a PDF when a
local Chromium can print one), with the widgets' content rendered as static HTML and images.

`make handouts` runs `python -m upperback.handouts`. The notebooks are executed with
UPPERBACK_STATIC=1, which makes every teaching panel display static HTML instead of live
widgets (see `teaching_widgets._builder`); the pages then need no kernel, no widget JavaScript
and no network. The teacher's answer key goes to a separate `teacher/` folder."""

from __future__ import annotations

import argparse
import base64
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w

from ._errors import UpperbackError

ROOT = Path(__file__).resolve().parents[2]
TEACHING = ROOT / "notebooks" / "teaching"
TEACHER = ROOT / "notebooks" / "teacher"
CHROMIUM = Path("/usr/bin/chromium")
#: Print rules for a handout: every panel in full, no controls that do nothing on paper.
PRINT_CSS = """<style>
.jp-RenderedHTMLCommon .ub-table td,.jp-RenderedHTMLCommon .ub-table th{text-align:left}
.jp-RenderedHTMLCommon ul.ub-static-choice,ul.ub-static-choice{list-style:none!important;
padding-left:1em}
.ub-static-control{color:#333;margin:.3em 0}
@media print{details{display:block}details>summary{list-style:none}
.ub-box,.ub-table tr,img{break-inside:avoid}}
</style>"""
#: Scripts nbconvert's templates load from public CDNs (MathJax, require.js): a handout needs
#: neither, and an offline page must not try to reach another host.
_CDN_SCRIPT = re.compile(r"<script[^>]+src=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)
_CDN_LINK = re.compile(r"<link[^>]+href=\"https?://[^\"]*\"[^>]*>", re.I)


class HandoutError(UpperbackError):
    """A handout could not be built: the message says which notebook and why."""


def _walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def _label(options: Any, value: Any) -> str:
    for opt in options:
        label, val = opt if isinstance(opt, tuple) else (opt, opt)
        if val == value:
            return str(label)
    return ""


def static_html(widget: Any) -> str:
    """A widget tree as static HTML: HTML and labels as they are, images inlined, choices as
    a printed list with the current one marked, buttons left out (they do nothing on paper)."""
    e = html.escape
    if isinstance(widget, w.Box):
        return "<div>" + "".join(static_html(c) for c in widget.children) + "</div>"
    if isinstance(widget, (w.HTML, w.HTMLMath)):
        return str(widget.value).replace("<details", "<details open")  # paper cannot click
    if isinstance(widget, w.Label):
        return f"<p>{e(str(widget.value))}</p>"
    if isinstance(widget, w.Image):
        data = bytes(widget.value)
        if not data:
            return ""
        b64 = base64.b64encode(data).decode("ascii")
        return (f"<img alt='chart' style='max-width:100%' "
                f"src='data:image/{widget.format};base64,{b64}'>")
    if isinstance(widget, w.Checkbox):
        mark = "\u2612" if widget.value else "\u2610"
        return f"<div class='ub-static-control'>{mark} {e(widget.description)}</div>"
    if isinstance(widget, (w.RadioButtons, w.Dropdown, w.Select, w.SelectMultiple,
                           w.ToggleButtons)):
        chosen = (set(widget.value) if isinstance(widget, w.SelectMultiple)
                  else {widget.value})
        on, off = "\u25c9", "\u25cb"
        items = "".join(
            f"<li>{on if val in chosen else off} {e(str(label))}</li>"
            for label, val in ((o if isinstance(o, tuple) else (o, o)) for o in widget.options))
        title = f"<b>{e(widget.description)}</b>" if widget.description else ""
        if isinstance(widget, w.Dropdown):  # long menus: only the choice shown on the page
            return (f"<div class='ub-static-control'>{title} "
                    f"{e(_label(widget.options, widget.value))}</div>")
        return (f"<div class='ub-static-control'>{title}<ul class='ub-static-choice'>{items}"
                "</ul></div>")
    return ""  # buttons, uploads and other controls have no printed form


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


def strip_remote(page: str) -> str:
    """The page without scripts or links that load from another host (http or https)."""
    return _CDN_LINK.sub("", _CDN_SCRIPT.sub("", page))


def _offline(page: str) -> str:
    return strip_remote(page).replace("</head>", PRINT_CSS + "</head>", 1)


def execute_static(notebook: Path, timeout: int = 300) -> Any:
    """Read one notebook and execute it with static panels (UPPERBACK_STATIC=1): the returned
    notebook node carries the panels' content as HTML and images, and no widget state."""
    import nbformat
    from nbclient import NotebookClient

    try:
        nb = nbformat.read(str(notebook), as_version=4)  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as exc:
        raise HandoutError(f"{notebook}: cannot read this notebook ({exc})") from exc
    os.environ["UPPERBACK_STATIC"] = "1"  # the kernel inherits it
    try:
        # no widget state: the page would otherwise fetch the widget manager from a CDN
        NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                       resources={"metadata": {"path": str(notebook.parent)}}).execute()
    except Exception as exc:
        raise HandoutError(f"{notebook.name}: a cell failed while building the handout "
                           f"({type(exc).__name__}); run the notebook in JupyterLab to see "
                           "which") from exc
    finally:
        os.environ.pop("UPPERBACK_STATIC", None)
    nb.metadata.pop("widgets", None)
    return nb


def write_page(target: Path, page: str) -> Path:
    """Write a page beside `target`, then rename: never a half-written handout."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, delete=False,
                                     suffix=".tmp") as tmp:
        tmp.write(page)
    Path(tmp.name).chmod(0o644)  # a handout is for sharing (the temporary file starts private)
    Path(tmp.name).replace(target)
    return target


def export_html(notebook: Path, out: Path, timeout: int = 300) -> Path:
    """Execute one notebook with static panels and write it as a self-contained HTML page."""
    from nbconvert import HTMLExporter

    nb = execute_static(notebook, timeout)
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="lab", exclude_input=True, exclude_output_prompt=True,
        embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return write_page(out / (notebook.stem + ".html"), _offline(body))


def export_pdf(page: Path, chromium: Path = CHROMIUM) -> Path | None:
    """Print a handout page to PDF with the local Chromium (offline); None without one."""
    if not chromium.exists():
        return None
    target = page.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [str(chromium), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--no-pdf-header-footer",
             f"--print-to-pdf={target}", page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120)
    return target


def build(out: Path, pdf: bool = True) -> list[Path]:
    """Every lesson (and the course page) into `out/`, the answer key into `out/teacher/`."""
    made: list[Path] = []
    jobs = [(nb, out) for nb in _notebooks(TEACHING)]
    jobs += [(nb, out / "teacher") for nb in _notebooks(TEACHER)]
    for nb, folder in jobs:
        page = export_html(nb, folder)
        made.append(page)
        if pdf:
            printed = export_pdf(page)
            if printed is not None:
                made.append(printed)
    return made


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m upperback.handouts",
        description="Export the teaching notebooks as offline HTML (and PDF) handouts.")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "handouts",
                        help="folder for the handouts (default: handouts/)")
    parser.add_argument("--no-pdf", action="store_true", help="HTML only")
    args = parser.parse_args(argv)
    try:
        made = build(args.out, pdf=not args.no_pdf and shutil.which(str(CHROMIUM)) is not None)
    except UpperbackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for p in made:
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
