"""The one reader of template uploads: :func:`parse_upload` decides how a file is read.

Every path that takes a template file from a person (the template service, so the admin import
and any view) calls it, so the accepted names, the size limit, the UTF-8 rule and the messages
are the same everywhere:

- Larger than ``TEMPLATE_UPLOAD_MAX_BYTES``: refused before anything else is looked at.
- Word when the content starts like one (a zip, or an old .doc, which gets its own message),
  whatever the name says, or when the name ends in .docx/.doc:
  :func:`~agreements.standards.docx_import.parse_docx` checks the package and reads it.
- Otherwise Markdown, when the name ends in .md/.markdown/.txt (or no name is known): the bytes
  must be UTF-8 (a byte-order mark is allowed), then
  :func:`~agreements.standards.markdown_import.parse_markdown` reads them.
- Any other name is refused, with a message saying what to upload instead.

Refusals come back as an :class:`~agreements.standards.report.ImportReport` with one error,
like every other problem with the file.
"""

from __future__ import annotations

from agreements.standards.docx_import import parse_docx
from agreements.standards.limits import looks_like_word, max_upload_bytes, size_problem
from agreements.standards.markdown_import import parse_markdown
from agreements.standards.report import ImportReport, ImportStyle, refused

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
        return parse_docx(data, max_bytes=limit)
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
    return parse_markdown(text, style=style)
