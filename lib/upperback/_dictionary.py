"""The human data dictionary, generated from `data/datapackage.json` (never written by hand)."""

from __future__ import annotations

from ._schema import PackageSpec


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(spec: PackageSpec) -> str:
    """Markdown: one section per table with its columns, types, rules and descriptions."""
    lines = [
        "# Data dictionary",
        "",
        "Generated from `data/datapackage.json` by `upperback dictionary`; do not edit by hand "
        "(a test fails when it is stale).",
        "",
        f"Knowledge-base descriptor version: {spec.version}.",
        "",
    ]
    for t in spec.tables.values():
        lines += [f"## {t.title} (`{t.path}`)", "", t.description, ""]
        lines.append(f"Primary key: {', '.join(f'`{k}`' for k in t.primary_key)}.")
        for cols, ref, ref_cols in t.foreign_keys:
            target = spec.tables[ref].path if ref in spec.tables else ref
            lines.append(
                f"Foreign key: {', '.join(f'`{c}`' for c in cols)} refers to "
                f"{', '.join(f'`{c}`' for c in ref_cols)} in `{target}`."
            )
        lines += ["", "| column | type | required | allowed values | description |",
                  "| --- | --- | --- | --- | --- |"]
        for f in t.fields:
            allowed = ", ".join(f"`{v}`" for v in f.enum) if f.enum else ""
            lines.append(f"| `{f.name}` | {f.type} | {'yes' if f.required else 'no'} | "
                         f"{allowed} | {_cell(f.description)} |")
        lines.append("")
    return "\n".join(lines)
