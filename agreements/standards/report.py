"""What a template import finds: the clauses of a new version, and what is wrong or was changed.

:func:`agreements.standards.upload.parse_upload` (the one reader of template uploads, Markdown or
Word) returns an :class:`ImportReport`; it never raises on bad input. A template is a title, the
frame around its clauses (title lines, numbering series) and an ordered list of clauses; each
clause has a stable ``key``, a ``number`` (its computed label: "4.", "A.", "ATTACHMENT A:"; may
be empty), a ``heading``, a ``body`` (Markdown, as people edit it) and its structured form
(``kind``, ``label``, ``blocks``). ``errors`` say what to fix, naming the clause where there is
one; ``warnings`` what was changed or guessed; ``notes`` what was left out on purpose (a
comment, a page break). Callers decide what to store: ``template_import`` stores nothing when
there is an error. :mod:`~agreements.standards.export` writes templates back out; neither
module touches the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# The type of parse_upload's ``style`` argument. The one reader finds the structure itself
# (headings, heading styles, bold lines, numbering) and does not use it.
ImportStyle = Literal["auto", "headings", "bold"]


@dataclass(frozen=True)
class Issue:
    """One problem found on import.

    ``line`` is a line or paragraph number when the reader knows one (None when the problem is
    about the whole file, or ``where`` is already in the message); ``clause_key`` the clause it
    concerns, if any.
    """

    line: int | None
    clause_key: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.clause_key:
            where.append(f"clause '{self.clause_key}'")
        if not where:
            return self.message
        location = ", ".join(where)
        return f"{location[0].upper()}{location[1:]}: {self.message}"


@dataclass(frozen=True)
class ParsedClause:
    key: str
    number: str
    heading: str
    body: str
    # The structured form (issue 15): where the part sits in the outline and its blocks.
    kind: str = "section"
    label: str = ""
    generated: str = ""
    blocks: tuple[Any, ...] | None = None


@dataclass
class ImportReport:
    """What an import found: the title, the clauses in order, and what is wrong or was changed.

    ``style`` says which reader read the file: "markdown" or "word"; it is "" when the input was
    refused before that.
    """

    clauses: list[ParsedClause] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    title: str = ""
    style: str = ""
    frame: Any = None  # the document around the clauses: title lines, numbering series
    notes: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def refused(message: str) -> ImportReport:
    """The report of an input refused as a whole, before any clause was read."""
    return ImportReport(errors=[Issue(None, None, message)])
