"""Redline exports for legal teams: a .docx with real Word tracked changes, and a PDF.

The .docx marks every change as a Word revision: inserted words in ``w:ins``, deleted words in
``w:del`` (their text in ``w:delText``), each with the author and date of the change, and
paragraph breaks added or removed as revised paragraph marks. Counsel open it in Word and
accept or reject each change there. The words marked are exactly the ops of
``agreements.redline.diff_tokens`` (the one diff module), so the .docx, the PDF and the pages
show the same changes.

The PDF goes through the agreements' one rendering pipeline (``agreements.pdf.render_html``:
WeasyPrint with a fetcher that serves only ``data:`` URLs and our static files). Changed clauses
show the word-level redline; unchanged ones, given the document, its structure (lists, tables,
labels) as the agreement PDFs show it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator

from django.template.loader import render_to_string
from django.utils import timezone
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from docx.text.paragraph import Paragraph

from agreements.documents import pdf
from agreements.text.comparisons import ClauseComparison, Comparison
from agreements.text.document.html import HtmlRenderer
from agreements.text.document.model import Document as TextDocument
from agreements.text.redline import Op, OpKind, diff_tokens

#: Who made a clause's change, and when (for ``w:author`` / ``w:date``).
type Attribution = Callable[[ClauseComparison], tuple[str, dt.datetime]]

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TEMPLATE = "agreements/review/redline_pdf.html"

# Characters XML 1.0 cannot carry (lxml refuses them); shown as U+FFFD instead.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PARAGRAPH_BREAK = re.compile(r"(\n[ \t]*\n\s*)")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))


def _pieces(text: str) -> Iterator[str | None]:
    """The text between paragraph breaks (a blank line), with None for each break; single
    line breaks stay in the text (they become ``w:br``)."""
    for index, piece in enumerate(_PARAGRAPH_BREAK.split(text)):
        if index % 2:
            yield None
        elif piece:
            yield piece


class _Revisions:
    """Writes runs and tracked changes into a python-docx document."""

    def __init__(self, document) -> None:
        self.document = document
        self.next_id = 1

    def _stamp(self, element, author: str, date: dt.datetime) -> None:
        element.set(qn("w:id"), str(self.next_id))
        element.set(qn("w:author"), author)
        element.set(qn("w:date"), date.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.next_id += 1

    @staticmethod
    def _run(text: str, *, deleted: bool, bold: bool = False):
        run = OxmlElement("w:r")
        if bold:
            properties = OxmlElement("w:rPr")
            properties.append(OxmlElement("w:b"))
            run.append(properties)
        for index, line in enumerate(text.split("\n")):
            if index:
                run.append(OxmlElement("w:br"))
            if line:
                element = OxmlElement("w:delText" if deleted else "w:t")
                element.set(qn("xml:space"), "preserve")
                element.text = line
                run.append(element)
        return run

    def add(
        self,
        paragraph: Paragraph,
        kind: str,
        text: str,
        author: str,
        date: dt.datetime,
        *,
        bold: bool = False,
    ) -> None:
        run = self._run(text, deleted=kind == "delete", bold=bold)
        if kind == "equal":
            paragraph._p.append(run)
            return
        change = OxmlElement("w:ins" if kind == "insert" else "w:del")
        self._stamp(change, author, date)
        change.append(run)
        paragraph._p.append(change)

    def mark_paragraph_end(
        self, paragraph: Paragraph, kind: str, author: str, date: dt.datetime
    ) -> None:
        """The paragraph mark itself was inserted or deleted (paragraphs split or joined)."""
        if kind == "equal":
            return
        properties = paragraph._p.get_or_add_pPr()
        marks = OxmlElement("w:rPr")
        change = OxmlElement("w:ins" if kind == "insert" else "w:del")
        self._stamp(change, author, date)
        marks.append(change)
        properties.append(marks)

    def write(
        self,
        ops: list[Op],
        author: str,
        date: dt.datetime,
        *,
        style: str | None = None,
        prefix: str = "",
        bold: bool = False,
    ) -> list[Paragraph]:
        """Paragraphs holding ``ops``: a blank line in any op starts a new paragraph, whose
        predecessor's mark is revised like the op."""
        paragraph = self.document.add_paragraph(style=style)
        paragraphs = [paragraph]
        if prefix:
            self.add(paragraph, "equal", prefix, author, date, bold=bold)
        for op in ops:
            for piece in _pieces(_xml_text(op.text)):
                if piece is None:
                    self.mark_paragraph_end(paragraph, op.kind, author, date)
                    paragraph = self.document.add_paragraph(style=style)
                    paragraphs.append(paragraph)
                else:
                    self.add(paragraph, op.kind, piece, author, date, bold=bold)
        return paragraphs


def _whole(kind: OpKind, text: str) -> list[Op]:
    return [Op(kind, text)] if text else []


def _clause_ops(row: ClauseComparison) -> tuple[list[Op], list[Op]]:
    """(heading ops, body ops) of one clause."""
    if row.state == "inserted":
        return _whole("insert", row.new_heading), _whole("insert", row.new_body)
    if row.state == "deleted":
        return _whole("delete", row.old_heading), _whole("delete", row.old_body)
    return diff_tokens(row.old_heading, row.new_heading), diff_tokens(row.old_body, row.new_body)


def redline_docx(
    comparison: Comparison,
    *,
    title: str,
    attribution: Attribution,
    generated_at: dt.datetime | None = None,
) -> bytes:
    """The comparison as a Word document with tracked changes (bytes of a .docx)."""
    generated_at = generated_at or timezone.now()
    document = Document()
    document.core_properties.title = _xml_text(title)[:250]
    document.core_properties.author = "Collaboratory"
    document.styles["Normal"].font.size = Pt(10.5)
    document.add_heading(_xml_text(title), level=0)
    intro = document.add_paragraph()
    intro.add_run(
        _xml_text(f"{comparison.new_label} against {comparison.old_label}. {comparison.summary}.")
    )
    note = document.add_paragraph()
    note_run = note.add_run(
        "Every change is a tracked change: review them in Word with Review › Accept or Reject. "
        f"Generated {generated_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC."
    )
    note_run.italic = True
    note_run.font.color.rgb = RGBColor(0x4A, 0x53, 0x60)
    revisions = _Revisions(document)
    for row in comparison.rows:
        author, date = attribution(row)
        heading_ops, body_ops = _clause_ops(row)
        number = row.number if row.state != "deleted" else row.old_number
        heading = revisions.write(
            heading_ops,
            _xml_text(author),
            date,
            style="Heading 2",
            prefix=f"{number}. " if number else "",
        )
        if row.state in ("inserted", "deleted"):
            kind = "insert" if row.state == "inserted" else "delete"
            revisions.mark_paragraph_end(heading[-1], kind, _xml_text(author), date)
        body = revisions.write(body_ops, _xml_text(author), date)
        if row.state in ("inserted", "deleted"):
            revisions.mark_paragraph_end(
                body[-1],
                "insert" if row.state == "inserted" else "delete",
                _xml_text(author),
                date,
            )
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def redline_html(
    comparison: Comparison,
    *,
    title: str,
    subtitle: str,
    generated_at: dt.datetime | None = None,
    document: TextDocument | None = None,
) -> str:
    """The printable redline: the fixed template filled with redline.py's escaped markup, and
    the unchanged clauses of ``document`` (the new side) as structured text."""
    generated_at = generated_at or timezone.now()
    renderer = HtmlRenderer(document) if document is not None else None
    parts = {part.key: part for part in document.parts} if document is not None else {}
    rows = [
        {
            "row": row,
            "structured": renderer.body(parts[row.key])
            if renderer is not None and not row.changed and row.key in parts
            else None,
        }
        for row in comparison.rows
    ]
    with timezone.override(dt.UTC):
        return render_to_string(
            PDF_TEMPLATE,
            {
                "comparison": comparison,
                "rows": rows,
                "title": title,
                "subtitle": subtitle,
                "generated_at": generated_at,
            },
        )


def render_redline_pdf(html: str) -> bytes:
    """PDF bytes of ``html`` through the agreements' rendering pipeline (static-only fetcher;
    a refused resource raises ``agreements.pdf.RenderError``)."""
    return pdf.render_html(html).pdf
