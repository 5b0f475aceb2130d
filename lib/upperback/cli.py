"""Command line: `upperback` (or `python -m upperback`).

Exit codes, the same for every command: 0 success, 1 the data or the input has problems
(reported in words), 2 usage error. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._errors import InputFileError, KnowledgeBaseError, UpperbackError
from ._loader import default_data_dir, load_knowledge_base
from ._model import DISCLAIMER, KnowledgeBase

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: usage error: {message}\n")


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR", type=Path, default=None,
                   help="knowledge-base folder (default: $UPPERBACK_DATA, else the one shipped "
                        "with upperback)")


def _kb(args: argparse.Namespace) -> KnowledgeBase:
    return load_knowledge_base(args.data)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [header, *rows])


def cmd_validate(args: argparse.Namespace) -> int:
    folder = args.data or default_data_dir()
    try:
        kb = load_knowledge_base(folder, validate=True)
    except KnowledgeBaseError as exc:
        if args.json:
            _print_json({"valid": False, "folder": str(folder), "problems": [
                {"file": p.file, "line": p.line, "column": p.column, "value": p.value,
                 "message": p.message} for p in exc.problems]})
        else:
            print(exc, file=sys.stderr)
            print("Nothing was changed. Fix the problems above and run `upperback validate` "
                  "again.", file=sys.stderr)
        return 1
    if args.json:
        _print_json({"valid": True, "folder": str(folder), "kb_version": kb.version,
                     "problems": []})
    else:
        print(f"{folder}: valid (knowledge base {kb.version}; {len(kb.findings)} findings, "
              f"{len(kb.rules)} triage rules, {len(kb.conditions)} conditions, "
              f"{len(kb.safety_cases)} safety cases pass)")
    return 0


def cmd_findings(args: argparse.Namespace) -> int:
    kb = _kb(args)
    rows = [{"id": f.finding_id, "label": f.label, "kind": f.kind, "section": f.section}
            for f in kb.findings_in_order()]
    if args.json:
        _print_json(rows)
    else:
        print(_table([[r["id"], r["kind"], r["label"]] for r in rows], ["id", "kind", "label"]))
    return 0


def cmd_conditions(args: argparse.Namespace) -> int:
    kb = _kb(args)
    rows: list[dict[str, str | None]] = [
        {"id": c.condition_id, "name": c.name, "group": c.group, "icd10": c.icd10cm,
         "parent": c.parent} for c in kb.conditions.values()]
    if args.json:
        _print_json(rows)
    else:
        print(_table([[r[k] or "" for k in ("id", "name", "group", "icd10", "parent")]
                      for r in rows], ["id", "name", "group", "icd10", "parent"]))
    return 0


def read_answers(source: str) -> dict[str, object]:
    """Read a JSON object of finding id -> true/false from a path, or `-` for stdin."""
    name = "standard input" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{name} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                             f"{exc.msg})") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{name} must hold a JSON object of finding id -> true/false "
                             f"(plus optional age and sex), not a {type(data).__name__}")
    return data


def _summary(a: Any) -> str:
    from ._engine import Assessment

    assert isinstance(a, Assessment)
    lines = [f"URGENCY: {a.urgency.upper().replace('_', ' ')} - {a.headline}", a.advice, ""]
    if not a.emergency_screen_complete:
        lines.append(f"Emergency screen incomplete: {len(a.unanswered_emergency)} question(s) "
                     f"unanswered: {', '.join(a.unanswered_emergency)}")
    for r in a.fired:
        lines.append(f"Fired {r.urgency} rule {r.rule_id}: {r.label} "
                     f"[{', '.join(r.findings)}] (source: {r.source_id})")
    if a.unanswered_red_flags:
        lines.append(f"Unanswered red-flag questions: {', '.join(a.unanswered_red_flags)}")
    lines.append("")
    lines.append("Possible causes (estimated probability; not a diagnosis):")
    for c in a.candidates[:5]:
        lines.append(f"  {c.probability * 100:5.1f}% {c.name} ({c.icd10cm or 'no code'}; "
                     f"{c.basis.replace('_', ' ')}): for "
                     f"{', '.join(e.finding_id for e in c.supporting) or 'prior only'}"
                     + (f"; against {', '.join(e.finding_id for e in c.against)}"
                        if c.against else ""))
    if a.cant_miss:
        lines.append("Must not miss: " + ", ".join(
            f"{c.name} ({c.probability * 100:.1f}%)" for c in a.cant_miss))
    if a.raised_by:
        lines.append(f"Urgency raised by: {', '.join(a.raised_by)}")
    lines += ["", "Safety net: " + a.safety_net, "", f"Knowledge base {a.kb_version}. "
              + DISCLAIMER]
    return "\n".join(lines)


def cmd_assess(args: argparse.Namespace) -> int:
    from ._engine import assess

    kb = _kb(args)
    if args.note_file is not None:
        try:
            args.note = args.note_file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise InputFileError(f"cannot read {args.note_file}: {exc.strerror or exc}") from None
    result = assess(_answers_or_response(read_answers(args.answers), args, kb), kb)
    fmt = "json" if args.json else args.format
    if fmt == "text":
        text = _summary(result) + "\n"
    elif fmt == "json":
        text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        from . import export

        if fmt == "html":
            text = export.render_html(result, kb, assessor=args.assessor, note=args.note)
        else:
            text = json.dumps(export.assessment_bundle(
                result, kb, assessor=args.assessor, note=args.note, patient=args.patient,
                encounter=args.encounter, author=args.author), indent=2,
                ensure_ascii=False) + "\n"
    if args.output:
        from ._io import save_atomic

        save_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


def _answers_or_response(data: dict[str, object], args: argparse.Namespace,
                         kb: KnowledgeBase) -> dict[str, object]:
    """A FHIR QuestionnaireResponse (or a Bundle holding one) becomes its answers, strictly
    checked; its assessor and note fill --assessor/--note when those are not given. Any other
    object is the plain answers map, returned as is."""
    from . import fhir

    if not fhir.is_fhir_resource(data):
        return data
    got = fhir.read_response(data, kb)
    if got.kb_version not in (None, kb.version):
        print(f"note: the response was made with knowledge base {got.kb_version}; assessing "
              f"with {kb.version}", file=sys.stderr)
    args.assessor = args.assessor or got.assessor
    if args.note is None and args.note_file is None:
        args.note = got.note
    return got.engine_answers()


def cmd_questionnaire(args: argparse.Namespace) -> int:
    from . import fhir

    text = json.dumps(fhir.questionnaire(_kb(args)), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        from ._io import save_atomic

        save_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_dictionary(args: argparse.Namespace) -> int:
    from ._dictionary import render_markdown
    from ._schema import read_descriptor

    text = render_markdown(read_descriptor(args.data or default_data_dir()))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is stale: run `upperback dictionary` to regenerate it",
                  file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    from ._io import save_atomic

    save_atomic(args.output, text)
    print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="upperback", description="Upper back pain decision support (not a "
                     "diagnosis): knowledge-base tools, assessments and cohorts.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("validate", help="check the knowledge base (schema, links, safety cases)")
    _add_data(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_validate)

    for name, handler, what in (("findings", cmd_findings, "checklist findings"),
                                ("conditions", cmd_conditions, "conditions (causes)")):
        p = sub.add_parser(name, help=f"list the {what}")
        _add_data(p)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(handler=handler)

    p = sub.add_parser("assess", help="assess one set of answers")
    p.add_argument("--answers", required=True, metavar="FILE",
                   help="JSON object of finding id -> true/false, or a FHIR "
                   "QuestionnaireResponse to `upperback questionnaire` ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--format", choices=["text", "json", "html", "fhir"], default="text",
                   help="text summary (default), JSON, printable HTML report, or a FHIR R4 "
                   "Bundle (QuestionnaireResponse + RiskAssessment)")
    p.add_argument("-o", "--output", type=Path, help="write to this file (atomically)")
    p.add_argument("--assessor", help="assessor name for the report")
    note = p.add_mutually_exclusive_group()
    note.add_argument("--note", help="free-text note for the report (visible in shell history; "
                      "prefer --note-file for anything about the patient)")
    note.add_argument("--note-file", type=Path, metavar="FILE",
                      help="read the free-text note from a UTF-8 file")
    fhir = p.add_argument_group("FHIR context (--format fhir; written into the export only, "
                                "never logged)")
    fhir.add_argument("--patient", metavar="REF", help="Patient/ID, or an identifier "
                      "SYSTEM|VALUE (e.g. the clinic's MRN) for `subject`")
    fhir.add_argument("--encounter", metavar="REF", help="Encounter/ID or SYSTEM|VALUE")
    fhir.add_argument("--author", metavar="REF", help="Practitioner/ID, PractitionerRole/ID "
                      "or SYSTEM|VALUE (the assessor's name goes with it as display)")
    _add_data(p)
    p.set_defaults(handler=cmd_assess)

    p = sub.add_parser("questionnaire", help="write the checklist as a FHIR SDC Questionnaire "
                       "(for form clients such as LHC-Forms)")
    p.add_argument("-o", "--output", type=Path, help="write to this file (atomically)")
    _add_data(p)
    p.set_defaults(handler=cmd_questionnaire)

    p = sub.add_parser("dictionary", help="write the data dictionary from datapackage.json")
    _add_data(p)
    p.add_argument("-o", "--output", type=Path,
                   default=Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md")
    p.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    p.set_defaults(handler=cmd_dictionary)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[Any], None]]:
    """Commands contributed by other faces (the analyst tools)."""
    from . import _cli_analyst

    return [_cli_analyst.register]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except UpperbackError as exc:
        print(f"upperback {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the user gave cannot be read or written
        where = f": {exc.filename}" if exc.filename else ""
        print(f"upperback {args.command}: {exc.strerror or exc}{where}; nothing was written",
              file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(f"upperback {args.command}: a file is not UTF-8 text: save it as UTF-8",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("upperback: interrupted; nothing was written", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug, not bad input: say so without a traceback
        if os.environ.get("UPPERBACK_DEBUG"):
            raise
        print(f"upperback {args.command}: internal error ({type(exc).__name__}); nothing was "
              "written. Please report it; set UPPERBACK_DEBUG=1 to see the details.",
              file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
