"""What an import of a document found: the tree, and everything it did not understand.

Every importer of a document tree (Word, Markdown) returns an :class:`ImportReport`. Nothing is
dropped silently: what the tree cannot hold (an image, a comment, a tracked change, a field, a
footnote) is a finding that says what it was and where, so a facilitator can check it by hand.

- ``error``: the file was refused or the result is not usable (``document`` is None).
- ``warning``: the tree differs from what a reader of the source sees, or the structure was
  guessed where the source is ambiguous (two headings merged, a label out of sequence).
- ``note``: something outside the text was left out on purpose (a comment, a page break).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from agreements.text.document.model import Document

# Past this many findings of one severity the rest are counted, not listed: nobody reads more.
MAX_FINDINGS = 200


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Finding:
    """One thing an import did not understand. ``where`` says where a reader of the source
    finds it ("paragraph 12", "table 2, row 3", "word/comments.xml"; "" for the whole file)."""

    severity: Severity
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass
class ImportReport:
    document: Document | None = None
    findings: list[Finding] = field(default_factory=list)
    unlisted: dict[Severity, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.document is not None and not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.NOTE]

    def add(self, severity: Severity, where: str, message: str) -> None:
        listed = sum(1 for f in self.findings if f.severity is severity)
        if listed < MAX_FINDINGS:
            self.findings.append(Finding(severity, where, message))
        else:
            self.unlisted[severity] = self.unlisted.get(severity, 0) + 1

    def error(self, where: str, message: str) -> None:
        self.add(Severity.ERROR, where, message)

    def warn(self, where: str, message: str) -> None:
        self.add(Severity.WARNING, where, message)

    def note(self, where: str, message: str) -> None:
        self.add(Severity.NOTE, where, message)

    def messages(self) -> list[str]:
        """Every finding as one line, errors first, with a count of those not listed."""
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}
        lines = [str(f) for f in sorted(self.findings, key=lambda f: order[f.severity])]
        lines += [f"... and {n} more {s.value}s." for s, n in self.unlisted.items() if n]
        return lines


def refused(message: str) -> ImportReport:
    report = ImportReport()
    report.error("", message)
    return report
