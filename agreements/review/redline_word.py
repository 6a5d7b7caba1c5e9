"""The agreement's redline against its standard as a Word file with real tracked changes.

The whole document, as structured as the agreement itself (native numbering, lists, tables:
:func:`agreements.text.document.docx_redline.docx_redline`), with each party's changes as Word
revisions by that party, dated when the change was accepted. Accepting every change gives the
agreement's text; rejecting every change gives the standard's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from django.utils import timezone

from agreements.text.consolidation import ConsolidatedText
from agreements.text.document.docx_redline import docx_redline
from agreements.text.document.redline import diff_documents

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

type Party = Callable[[int | None], tuple[str, dt.datetime | None]]


def redline_docx(
    *,
    standard: ConsolidatedText,
    text: ConsolidatedText,
    title: str,
    summary: str,
    party: Party,
    generated_at: dt.datetime | None = None,
) -> bytes:
    """``text`` against ``standard`` as a .docx; ``party(override id)`` names who made the
    change a part carries (``None`` for parts no override changed) and when."""
    generated_at = generated_at or timezone.now()
    overrides: Mapping[str, int | None] = {
        c.key: c.override_id for c in (*text.clauses, *text.deleted)
    }

    def attribution(key: str) -> tuple[str, dt.datetime | None]:
        return party(overrides.get(key))

    preface = [
        (title, False),
        (summary, False),
        (
            "Every change is a tracked change: review them in Word with Review › Accept or "
            f"Reject. Generated {generated_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC.",
            True,
        ),
    ]
    diff = diff_documents(standard.document, text.document)
    return docx_redline(diff, attribution=attribution, preface=preface)
