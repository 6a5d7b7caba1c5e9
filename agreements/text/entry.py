"""Text as it enters the product: one normal form for every form, API call, import and admin.

Browsers submit textareas with CRLF line endings, Word and PDFs bring decomposed accents and
trailing spaces. Stored as is, each of those shows up as a change that nobody made: every
paragraph break "deleted and re-inserted" in a redline, an empty paragraph revision in the
``.docx``. :func:`normalise_text` is applied wherever text enters, so the comparison of two
texts only ever sees what people actually changed.
"""

from __future__ import annotations

import re
import unicodedata

_TRAILING_SPACE_RE = re.compile(r"[ \t\u00a0]+$", re.MULTILINE)


def normalise_text(value: str) -> str:
    """``value`` with CRLF and lone CR as LF, in Unicode NFC, without trailing spaces on a
    line. Idempotent; leading indentation and blank lines are kept (Markdown needs them)."""
    if not value:
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = unicodedata.normalize("NFC", value)
    return _TRAILING_SPACE_RE.sub("", value)
