"""What search matches a query against, beside the stored documents.

The documents themselves (an agreement's title, reference and purpose; a proposal's heading,
body and rationale; a clause's heading and body) are generated columns PostgreSQL keeps
beside each row (agreements migration 0014), GIN-indexed, so search neither parses a row's
text again to match nor to rank it.
"""

from __future__ import annotations

import re

CONFIG = "english"
# A reference ("AIMS-2026-002") is no English: the english parser reads "-2026" as a negative
# number and stems "AIMS" to "aim", so "2026-002" found nothing. Its parts are indexed as
# plain words instead ('aims' '2026' '002'), and a query that looks like a reference or a
# fragment of one is matched as the phrase of its parts.
REFERENCE_CONFIG = "simple"
REFERENCE_FRAGMENT = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")


def reference_phrase(text: str) -> str | None:
    """The parts of a reference or a fragment of one ("2026-002", "AIMS-2026", "002": letters
    and digits joined by hyphens, with a digit in it), as the phrase to match in the
    REFERENCE_CONFIG ("2026 002"). None for other text."""
    text = text.strip()
    if not REFERENCE_FRAGMENT.fullmatch(text) or not any(c.isdigit() for c in text):
        return None
    return text.replace("-", " ")
