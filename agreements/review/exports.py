"""The printable redline for legal teams (the Word file with tracked changes is
:mod:`agreements.review.redline_word`).

The PDF goes through the agreements' one rendering pipeline (``agreements.pdf.render_html``:
WeasyPrint with a fetcher that serves only ``data:`` URLs and our static files). Changed clauses
show the structured redline (items, rows, words); unchanged ones, given the document, their
structure (lists, tables, labels) as the agreement PDFs show it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.template.loader import render_to_string
from django.utils import timezone

from agreements.documents import pdf
from agreements.text.comparisons import Comparison
from agreements.text.document.html import HtmlRenderer
from agreements.text.document.model import Document as TextDocument
from agreements.text.tracked import Author

PDF_TEMPLATE = "agreements/review/redline_pdf.html"


def redline_html(
    comparison: Comparison,
    *,
    title: str,
    subtitle: str,
    generated_at: dt.datetime | None = None,
    document: TextDocument | None = None,
    authors: Sequence[Author] = (),
    notes: Sequence[str] = (),
) -> str:
    """The printable redline: the fixed template filled with redline.py's escaped markup, and
    the unchanged clauses of ``document`` (the new side) as structured text. ``authors`` are
    the parties whose changes show, each in its colour (the legend); ``notes`` say what the
    redline includes or leaves out (pending proposals)."""
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
                "authors": authors,
                "notes": notes,
            },
        )


def render_redline_pdf(html: str) -> bytes:
    """PDF bytes of ``html`` through the agreements' rendering pipeline (static-only fetcher;
    a refused resource raises ``agreements.pdf.RenderError``)."""
    return pdf.render_html(html).pdf
