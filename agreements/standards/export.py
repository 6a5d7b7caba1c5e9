"""A template version written out as a file: Markdown, Word or PDF.

The one place that turns a :class:`~agreements.models.TemplateVersion` into a download; the
admin's export links and ``manage.py template_export`` both call :func:`version_export`.
Every format is written from the version's document (:func:`version_document`: its frame and
its clauses as parts), by the document library's own writers, so nobody sees markup
characters:

- ``md``: :func:`agreements.text.document.markdown_export.export_markdown`, pandoc Markdown
  that imports back to the same tree (keys, labels, series, lists, tables, blanks);
- ``docx``: :func:`agreements.text.document.docx_export.docx_export`, Word's own numbering,
  lists and tables, and the same tree again when imported;
- ``pdf``: the tree as HTML (:func:`agreements.text.document.html.render_html`, styled by
  ``static/css/document.css``) in ``templates/agreements/pdf/template_version.html``, laid out
  by :func:`agreements.documents.pdf.render_html` with its static-only URL fetcher.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from agreements.documents.pdf import render_html as render_pdf
from agreements.models import TemplateVersion
from agreements.standards.services import version_document
from agreements.text.document import canonical
from agreements.text.document.docx_export import docx_export
from agreements.text.document.html import render_html
from agreements.text.document.markdown_export import export_markdown
from agreements.text.document.model import Document
from audit.models import AuditAction
from audit.services import record as audit_record

PDF_TEMPLATE = "agreements/pdf/template_version.html"
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Export:
    """A written file: its bytes, its media type and the name to save it under."""

    data: bytes
    content_type: str
    filename: str


def _markdown(version: TemplateVersion, document: Document) -> bytes:
    return export_markdown(document).encode("utf-8")


def _docx(version: TemplateVersion, document: Document) -> bytes:
    return docx_export(document)


def version_pdf_html(
    version: TemplateVersion, document: Document, *, generated_at: dt.datetime
) -> str:
    """The HTML the PDF is laid out from: the fixed template, the document as escaped HTML."""
    with timezone.override(dt.UTC):
        return render_to_string(
            PDF_TEMPLATE,
            {
                "version": version,
                "template": version.template,
                "document_html": render_html(document),
                "sha256": canonical.sha256(document),
                "generated_at": generated_at.astimezone(dt.UTC),
            },
        )


def _pdf(version: TemplateVersion, document: Document) -> bytes:
    html = version_pdf_html(version, document, generated_at=timezone.now())
    return render_pdf(html).pdf


FORMATS: dict[str, tuple[Callable[[TemplateVersion, Document], bytes], str]] = {
    "md": (_markdown, "text/markdown; charset=utf-8"),
    "docx": (_docx, DOCX_CONTENT_TYPE),
    "pdf": (_pdf, "application/pdf"),
}


def export_filename(version: TemplateVersion, fmt: str) -> str:
    """``standard-dsa-v2.docx``: the template's name and the version number."""
    return f"{slugify(version.template.name) or 'template'}-v{version.number}.{fmt}"


def version_export(version: TemplateVersion, fmt: str) -> Export:
    """``version`` as a file in ``fmt`` (one of :data:`FORMATS`; ValueError for another).

    Read-only: it never changes the version, so a draft exports as it stands."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}.")
    writer, content_type = FORMATS[fmt]
    data = writer(version, version_document(version))
    return Export(data=data, content_type=content_type, filename=export_filename(version, fmt))


@transaction.atomic
def template_version_download(*, version: TemplateVersion, fmt: str, by) -> Export:
    """:func:`version_export` for a person in the template workspace, recorded in the audit
    chain as an export (ValueError for an unknown format; nothing recorded then)."""
    export = version_export(version, fmt)
    audit_record(
        action=AuditAction.EXPORT,
        target=version,
        actor=by,
        payload={"export": "template", "format": fmt, "via": "workspace"},
    )
    return export
