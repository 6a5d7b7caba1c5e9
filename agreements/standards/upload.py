"""The one reader of template uploads: :func:`parse_upload` decides how a file is read.

Every path that takes a template file from a person (the template service, so the admin import
and any view) calls it, so the accepted names, the size limit, the UTF-8 rule and the messages
are the same everywhere:

- Larger than ``TEMPLATE_UPLOAD_MAX_BYTES``: refused before anything else is looked at.
- Word when the content starts like one (a zip, or an old .doc, which gets its own message),
  whatever the name says, or when the name ends in .docx/.doc:
  :func:`agreements.text.document.docx_import.docx_import` checks the package and reads it
  (auto-numbering, heading styles or bold headings, lists, tables, emphasis, blanks).
- Otherwise Markdown, when the name ends in .md/.markdown/.txt (or no name is known): the bytes
  must be UTF-8 (a byte-order mark is allowed), then
  :func:`agreements.text.document.markdown_import.import_markdown` reads them (CommonMark,
  pandoc Markdown, pandoc's output from Word).
- Both give a document tree: :func:`from_document` turns it into the clauses of a version (one
  per part, with its kind, label and blocks) and the frame around them (title, series), and
  every finding into an error, a warning or a note; an unknown or malformed placeholder is an
  error naming its clause.
- Any other name is refused, with a message saying what to upload instead.

Refusals come back as an :class:`~agreements.standards.report.ImportReport` with one error,
like every other problem with the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial

from agreements.standards.limits import looks_like_word, max_upload_bytes, size_problem
from agreements.standards.report import ImportReport, ImportStyle, Issue, ParsedClause, refused
from agreements.text.document import import_report as library
from agreements.text.document.docx_import import docx_import
from agreements.text.document.fragments import bodies_markdown
from agreements.text.document.markdown_import import import_markdown
from agreements.text.document.model import Document
from agreements.text.document.plain import inline_text, plain_text
from agreements.text.document.resolver import Resolver
from agreements.text.placeholders import (
    PLACEHOLDERS,
    MalformedPlaceholder,
    malformed_placeholders,
    suggest_placeholder,
    unknown_placeholders,
)

MARKDOWN_SUFFIXES = (".md", ".markdown", ".txt")
WORD_SUFFIXES = (".docx", ".doc")


def parse_upload(
    data: bytes,
    *,
    filename: str = "",
    style: ImportStyle = "auto",
    max_bytes: int | None = None,
) -> ImportReport:
    """Read an uploaded template file by the rules in the module docstring.

    ``filename`` is the name the person gave the file ("" when unknown: then only the content
    decides); ``max_bytes`` defaults to ``TEMPLATE_UPLOAD_MAX_BYTES``. Never raises on bad input.
    """
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    if too_big := size_problem(len(data), limit):
        return refused(too_big)
    name = filename.lower()
    if looks_like_word(data) or name.endswith(WORD_SUFFIXES):
        return from_document(docx_import(data, max_bytes=limit), style="word")
    if filename and not name.endswith(MARKDOWN_SUFFIXES):
        return refused(
            f"“{filename}” is neither Markdown nor Word: upload a Markdown file (.md) with one "
            "## heading per clause, or a Word file (.docx) whose Heading 2 paragraphs start "
            "clauses."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        which = f"“{filename}”" if filename else "The file"
        return refused(
            f"{which} is not UTF-8 text: save it as UTF-8 Markdown, or upload a Word file (.docx)."
        )
    return from_document(import_markdown(text), style="markdown")


def from_document(found: library.ImportReport, *, style: str) -> ImportReport:
    """The clauses and frame of an imported document tree, with its findings.

    What the reader found keeps its severity. Each part is then checked: an unknown
    placeholder (with the nearest known name, or the list of known ones), a malformed ``[[``,
    and a heading that still ends in a ``{#...}`` the reader could not take as a key (it would
    become part of the heading) are errors naming the clause; any error leaves no clauses.
    Past :data:`~agreements.text.document.import_report.MAX_FINDINGS` errors the rest are
    counted, not listed.
    """
    report = ImportReport(style=style)
    issues = {
        library.Severity.ERROR: report.errors,
        library.Severity.WARNING: report.warnings,
        library.Severity.NOTE: report.notes,
    }
    unlisted = dict(found.unlisted)
    for finding in found.findings:
        issues[finding.severity].append(Issue(None, None, str(finding)))
    document = found.document
    if document is not None and not report.errors and not document.parts:
        report.errors.append(
            Issue(None, None, "No clauses were found: the file has no text after its title.")
        )
    if document is None or report.errors:
        if not report.errors:
            report.errors.append(Issue(None, None, "The file could not be read."))
        _count_unlisted(issues, unlisted)
        return report
    resolver = Resolver(document)
    bodies = bodies_markdown(document)
    report.title = " ".join(inline_text(line).strip() for line in document.title).strip()
    report.frame = Document(document.title, (), document.sections, document.attachments)
    for part in document.parts:
        heading = inline_text(part.title).strip()
        for message in _part_problems(heading, plain_text(part, document)):
            if len(report.errors) < library.MAX_FINDINGS:
                report.errors.append(Issue(None, part.key, message()))
            else:  # not even worded: a flood of them is counted
                unlisted[library.Severity.ERROR] = unlisted.get(library.Severity.ERROR, 0) + 1
        report.clauses.append(
            ParsedClause(
                key=part.key,
                number=resolver.part_label(part.key),
                heading=heading,
                body=bodies.get(part.key, ""),
                kind=part.kind.value,
                label=part.label or "",
                generated=part.generated,
                blocks=part.blocks,
            )
        )
    _count_unlisted(issues, unlisted)
    if report.errors:
        report.clauses.clear()
    return report


# A heading ending in "{#...}" that the reader did not take as a key: pandoc keeps an attribute
# block it cannot read ("{#Data Retention}") as text, and so would the clause's heading.
_UNREAD_KEY_RE = re.compile(r"\{\s*#[^{}]*\}\s*$")


def _part_problems(heading: str, text: str) -> Iterator[Callable[[], str]]:
    """The errors of one part, each worded only when called: past the limit they are only
    counted, and a suggestion for an unknown name costs a search."""
    if unread := _UNREAD_KEY_RE.search(heading):
        yield partial(_unread_key, unread.group(0).strip())
    for name in unknown_placeholders(text):
        yield partial(_unknown_placeholder, name)
    for bad in malformed_placeholders(text):
        yield partial(_malformed_placeholder, bad)


def _unread_key(written: str) -> str:
    return (
        f"the heading ends in “{written}”, which is not a key: a key is lowercase letters and "
        "digits joined by single hyphens, e.g. {#data-retention}."
    )


def _unknown_placeholder(name: str) -> str:
    if hint := suggest_placeholder(name):
        return f"uses the unknown placeholder [[{name}]]: did you mean [[{hint}]]?"
    known = ", ".join(f"[[{known}]]" for known in PLACEHOLDERS)
    return f"uses the unknown placeholder [[{name}]]; the known placeholders are {known}."


def _malformed_placeholder(bad: MalformedPlaceholder) -> str:
    return f"has a malformed placeholder: {bad.message}"


def _count_unlisted(
    issues: dict[library.Severity, list[Issue]], unlisted: dict[library.Severity, int]
) -> None:
    for severity, count in unlisted.items():
        if count:
            issues[severity].append(Issue(None, None, f"... and {count:,} more {severity.value}s."))
