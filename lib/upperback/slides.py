"""Slides: each teaching notebook as an offline reveal.js deck, to present from a laptop with
no network (a clinic, a lecture hall).

`make slides` runs `python -m upperback.slides`. The notebooks are executed with static panels,
as for the handouts (`handouts.execute_static`), and nbconvert's SlidesExporter cuts them into
slides by each cell's slide metadata. reveal.js comes from a local copy (`make npm` installs it
into slides/node_modules, pinned by slides/package-lock.json) which is copied beside the decks,
so the folder can be zipped and opened anywhere from disk. Any remaining script or link to
another host is removed (`handouts.strip_remote`)."""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from ._errors import UpperbackError
from .handouts import (
    PRINT_CSS,
    ROOT,
    TEACHING,
    HandoutError,
    execute_static,
    strip_remote,
    write_page,
)

#: Where `make npm` installs reveal.js (5.x: the dist/ layout nbconvert's reveal template
#: expects).
REVEAL_SOURCE = ROOT / "slides" / "node_modules" / "reveal.js"
#: The folder name of the copy beside the decks, which the decks load as a relative URL.
REVEAL_DIR = "reveal.js"
#: What of reveal.js a deck loads: the script, its CSS and the white theme (with its local
#: fonts; other themes import Google Fonts), and the licence that goes with a copy.
_REVEAL_PARTS = ("dist", "LICENSE")
_TEMPLATES = Path(__file__).resolve().parent / "templates" / "slides"
SUFFIX = ".slides.html"
_NOTEBOOK_LINK = re.compile(r"href=\"(\d\d-[\w-]+)\.ipynb\"")


def copy_reveal(out: Path, source: Path = REVEAL_SOURCE) -> Path:
    """Copy the parts of reveal.js a deck needs to `out/reveal.js/` (replacing an old copy)."""
    if not (source / "dist" / "reveal.js").is_file():
        raise HandoutError(f"reveal.js is not installed in {source}: run `make npm` (it installs "
                           "the version pinned by slides/package-lock.json)")
    target = out / REVEAL_DIR
    if target.exists():
        shutil.rmtree(target)
    for part in _REVEAL_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, target / part, ignore=shutil.ignore_patterns("*.map", "*.esm.js"))
        elif src.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)
    return target


def _footer() -> str:
    """The line every slide carries: the disclaimer and the knowledge-base version."""
    from ._loader import load_knowledge_base
    from ._model import DISCLAIMER

    version = load_knowledge_base().version
    return f"Teaching material. {DISCLAIMER} Knowledge base version {version}."


def export_deck(notebook: Path, out: Path, footer: str, timeout: int = 300) -> Path:
    """Execute one notebook with static panels and write it as `out/<name>.slides.html`, which
    loads reveal.js from `out/reveal.js/` (see `copy_reveal`)."""
    from nbconvert import SlidesExporter

    nb = execute_static(notebook, timeout)
    exporter = SlidesExporter(  # type: ignore[no-untyped-call]
        template_file="upperback_slides.html.j2", extra_template_paths=[str(_TEMPLATES)],
        exclude_input=True, exclude_output_prompt=True, embed_images=True,
        reveal_url_prefix=REVEAL_DIR, reveal_theme="white", reveal_number="c/t",
        reveal_width="1280", reveal_height="800", reveal_transition="none")
    try:
        body, _ = exporter.from_notebook_node(nb, resources={"upperback_footer": footer})
    except ValueError as exc:  # e.g. every cell marked skip
        raise HandoutError(f"{notebook.name}: no slides ({exc}); check its slide metadata "
                           "(View > Cell Toolbar > Slideshow in JupyterLab)") from exc
    # links between lessons open the next deck, not a notebook the laptop cannot run
    body = _NOTEBOOK_LINK.sub(rf'href="\1{SUFFIX}"', body)
    # a screen can click: the lists the handouts print open stay folded on a slide
    body = body.replace("<details open", "<details")
    # the handouts' table and choice styles (left-aligned cells, marked choices)
    body = strip_remote(body).replace("</head>", PRINT_CSS + "</head>", 1)
    return write_page(out / (notebook.stem + SUFFIX), body)


def build(out: Path, notebooks: Sequence[Path] | None = None,
          reveal: Path = REVEAL_SOURCE) -> list[Path]:
    """The course page and every lesson as decks in `out/`, with reveal.js beside them. The
    answer key gets no deck: slides are shown to students."""
    copy_reveal(out, reveal)
    footer = _footer()
    chosen = notebooks if notebooks is not None else sorted(TEACHING.glob("[0-9][0-9]-*.ipynb"))
    return [export_deck(nb, out, footer) for nb in chosen]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m upperback.slides",
        description="Export the teaching notebooks as offline reveal.js slide decks.")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "handouts" / "slides",
                        help="folder for the decks (default: handouts/slides/)")
    parser.add_argument("--reveal", type=Path, default=REVEAL_SOURCE,
                        help="an installed reveal.js 5 package (default: the one `make npm` "
                             "installs)")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="only these notebooks (default: the course page and every lesson)")
    args = parser.parse_args(argv)
    try:
        made = build(args.out, args.notebooks or None, args.reveal)
    except UpperbackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for p in made:
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
