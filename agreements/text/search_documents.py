"""The full-text documents search matches against, shared by the GIN indexes that make the
match fast and by ``agreements/search.py``.

PostgreSQL uses an expression index only for a query with the very same expression, so both
sides build it here. (Organisations, trios and clauses are few; agreements and the clause
text parties propose grow with every partnership, so those two are indexed.)
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import F, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Replace

CONFIG = "english"
# A reference ("AIMS-2026-002") is no English: the english parser reads "-2026" as a negative
# number and stems "AIMS" to "aim", so "2026-002" found nothing. Its parts are indexed as
# plain words instead ('aims' '2026' '002'), and a query that looks like a reference or a
# fragment of one is matched as the phrase of its parts.
REFERENCE_CONFIG = "simple"
REFERENCE_FRAGMENT = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")


def agreement_document() -> CombinedExpression:
    return (
        SearchVector("title", weight="A", config=CONFIG)
        + SearchVector(
            Replace(F("reference"), Value("-"), Value(" ")), weight="A", config=REFERENCE_CONFIG
        )
        + SearchVector("purpose", weight="B", config=CONFIG)
    )


def reference_query(text: str) -> SearchQuery | None:
    """The phrase query for a reference or a fragment of one ("2026-002", "AIMS-2026",
    "002"): letters and digits joined by hyphens, with a digit in it. None for other text."""
    text = text.strip()
    if not REFERENCE_FRAGMENT.fullmatch(text) or not any(c.isdigit() for c in text):
        return None
    return SearchQuery(text.replace("-", " "), search_type="phrase", config=REFERENCE_CONFIG)


def override_document() -> CombinedExpression:
    return (
        SearchVector("heading", weight="A", config=CONFIG)
        + SearchVector("body", weight="B", config=CONFIG)
        + SearchVector("rationale", weight="C", config=CONFIG)
    )
