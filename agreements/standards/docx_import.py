"""Reading a template from a Word file (:func:`parse_docx`); rules shared with Markdown in
:mod:`~agreements.standards.report`.

The upload is checked by :func:`agreements.standards.limits.docx_package_problem` (size, zip,
zip bomb, ``word/document.xml``) before python-docx sees it.

- Heading styles: the first paragraph styled Title, or else the first Heading 1 before any
  clause, is the title. Clauses start at Heading 2 paragraphs when the document has any (a later
  Heading 1 then also starts a clause), otherwise at Heading 1 paragraphs. Heading 3 and deeper
  are body text.
- Without heading styles for clauses, bold paragraphs are headings, by the rules of
  :mod:`~agreements.standards.assembly`.
- Body paragraphs are joined by blank lines, line breaks inside a paragraph become newlines,
  tables become Markdown pipe tables, empty paragraphs are skipped, character formatting is
  dropped. Numbers produced by Word's automatic numbering are not in the text and so not
  imported. Headers and footers are not imported.
- What else a document may hold (a DTD and entities, content controls, fields, tracked
  changes, images and text boxes, comments, footnotes) is handled by
  :func:`agreements.standards.docx_unsupported.prepare_document` before python-docx reads the
  file: each kind is listed in the report's warnings, and no text is dropped silently.
- ``Issue.line`` counts the document's paragraphs and tables from 1.
- A heading may end in a key in hidden text, `` {#data-security}``, as
  :func:`agreements.standards.export.export_docx` writes it; a key typed visibly works too.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from agreements.standards.assembly import Block, Collector, parse_bold
from agreements.standards.docx_unsupported import prepare_document
from agreements.standards.limits import (
    DEFAULT_MAX_UNCOMPRESSED_BYTES,
    DEFAULT_MAX_ZIP_MEMBERS,
    docx_package_problem,
    max_upload_bytes,
)
from agreements.standards.report import ImportReport, clean_bold_heading, refused

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table
    from docx.text.paragraph import Paragraph


def parse_docx(
    data: bytes,
    *,
    max_bytes: int | None = None,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
    max_members: int = DEFAULT_MAX_ZIP_MEMBERS,
) -> ImportReport:
    """Parse a template from a .docx upload; the module docstring has the rules.

    Never raises on bad input: anything that is not a readable, reasonably sized .docx comes back
    as an ImportReport with one error.
    """
    problem = docx_package_problem(
        data,
        max_bytes=max_upload_bytes() if max_bytes is None else max_bytes,
        max_uncompressed_bytes=max_uncompressed_bytes,
        max_members=max_members,
    )
    if problem:
        return refused(problem)
    import docx  # python-docx is slow to import; only uploads need it

    try:
        data, unsupported = prepare_document(data)
        document = docx.Document(io.BytesIO(data))
        blocks = list(_docx_blocks(document))
    except Exception:  # lxml and python-docx raise many exception types on a malformed package
        return refused("The file could not be read as a Word document: save it again as .docx.")
    report = _parse_docx_blocks(blocks)
    report.warnings[:0] = unsupported
    return report


_HEADING_STYLE_RE = re.compile(r"Heading ([1-9])")


def _docx_blocks(document: DocxDocument) -> Iterator[Block]:
    from docx.table import Table

    for number, item in enumerate(document.iter_inner_content(), start=1):
        if isinstance(item, Table):
            rows = _table_rows(item)
            if rows:
                yield Block([(number, row) for row in rows], None, prose=False)
            continue
        text = item.text
        if not text.strip():
            continue
        style_name = item.style.name if item.style is not None else ""
        level: int | None = None
        if style_name == "Title":
            level = 0
        elif match := _HEADING_STYLE_RE.fullmatch(style_name or ""):
            level = int(match.group(1))
        bold = clean_bold_heading(text) if _is_bold(item) else None
        yield Block([(number, text)], bold or None, prose=True, level=level)


def _table_rows(table: Table) -> list[str]:
    rows = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()).replace("|", "\\|") for cell in row.cells]
        rows.append("| " + " | ".join(cells) + " |")
        if len(rows) == 1:
            rows.append("|" + "|".join("---" for _ in cells) + "|")
    return rows


def _is_bold(paragraph: Paragraph) -> bool:
    """True when every visible character of the paragraph is bold."""
    style_bold = bool(paragraph.style is not None and paragraph.style.font.bold)
    runs = [run for run in paragraph.runs if run.text.strip() and not run.font.hidden]
    if not runs:
        return False
    for run in runs:
        bold = run.bold
        if bold is None:
            bold = bool(run.style is not None and run.style.font.bold) or style_bold
        if not bold:
            return False
    return True


def _parse_docx_blocks(blocks: list[Block]) -> ImportReport:
    title_index = next((i for i, block in enumerate(blocks) if block.level == 0), None)
    has_level_2 = any(block.level == 2 for block in blocks)
    if title_index is None:
        first_level_1 = next((i for i, block in enumerate(blocks) if block.level == 1), None)
        first_level_2 = next((i for i, block in enumerate(blocks) if block.level == 2), None)
        if first_level_1 is not None and (first_level_2 is None or first_level_1 < first_level_2):
            title_index = first_level_1
    clause_level = 2 if has_level_2 else 1
    starts = [
        i
        for i, block in enumerate(blocks)
        if i != title_index and block.level is not None and 1 <= block.level <= clause_level
    ]
    if not starts:
        # No heading styles for clauses: fall back to bold paragraphs, keeping a styled title.
        if title_index is not None:
            title = blocks[title_index]
            blocks = list(blocks)
            blocks[title_index] = Block(title.lines, None, True, title=_one_line(title.lines[0][1]))
        return parse_bold(blocks, Collector("bold", "paragraph"))
    found = Collector("headings", "paragraph")
    if title_index is not None:
        found.title = _one_line(blocks[title_index].lines[0][1])
    for index, block in enumerate(blocks):
        if index == title_index:
            continue
        if index in starts:
            found.start_clause(block.lines[0][0], _one_line(block.lines[0][1]))
        else:
            found.add_block(block.lines)
    return found.report()


def _one_line(text: str) -> str:
    # A line break typed inside a Word heading is not part of its wording.
    return text.replace("\n", " ").strip()
