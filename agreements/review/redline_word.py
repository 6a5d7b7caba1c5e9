"""The agreement's redline against its standard as a Word file with real tracked changes.

The whole document, as structured as the agreement itself (native numbering, lists, tables:
:func:`agreements.text.document.docx_redline.docx_redline`), with each party's changes as Word
revisions by that party (``w:author`` is its organisation's name), dated when the change was
accepted, or when it was proposed for a pending proposal in a redline "including pending".
Accepting every change gives the text compared (the agreement's, or the agreement's with its
pending proposals); rejecting every change gives the standard's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

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
    authors: Mapping[str, tuple[str, dt.datetime | None]] | None = None,
    notes: Sequence[str] = (),
) -> bytes:
    """``text`` against ``standard`` as a .docx; ``party(override id)`` names who made the
    change a part carries (``None`` for parts no override changed) and when, unless
    ``authors`` names them by part key (a clause whose term a proposal changed). ``notes``
    are said in the preface (proposals left out of the text, say)."""
    generated_at = generated_at or timezone.now()
    overrides: Mapping[str, int | None] = {
        c.key: c.override_id for c in (*text.clauses, *text.deleted)
    }

    def attribution(key: str) -> tuple[str, dt.datetime | None]:
        if authors and key in authors:
            return authors[key]
        return party(overrides.get(key))

    preface = [
        (title, False),
        (summary, False),
        (
            "Every change is a tracked change: review them in Word with Review › Accept or "
            f"Reject. Generated {generated_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC.",
            True,
        ),
        *((note, True) for note in notes),
    ]
    diff = diff_documents(standard.document, text.document)
    return docx_redline(diff, attribution=attribution, preface=preface)
