"""The one exception tree of upperback. Every message says what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in the knowledge base: where it is and how to fix it."""

    file: str
    message: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class UpperbackError(Exception):
    """Root of every error upperback raises on purpose."""


class KnowledgeBaseError(UpperbackError):
    """The knowledge base folder has problems; `.problems` lists each with file, line and column."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], folder: str = "") -> None:
        self.problems = tuple(problems)
        self.folder = folder
        n = len(self.problems)
        where = f" in {folder}" if folder else ""
        head = f"The knowledge base{where} has {n} problem{'s' * (n != 1)}"
        super().__init__(head + ":\n" + "\n".join(f"- {p}" for p in self.problems))


class AnswerError(UpperbackError):
    """Answers given to the assessment are not valid (unknown finding id, or not true/false)."""


class InputFileError(UpperbackError):
    """A file given on the command line or to an import cannot be read as expected."""


class CohortError(UpperbackError):
    """A cohort file has a bad column or value; the message names the column and row."""


class PublishError(UpperbackError):
    """An edit to the knowledge base could not be published; nothing was written."""
