"""The full-text documents search matches against, shared by the GIN indexes that make the
match fast and by ``agreements/search.py``.

PostgreSQL uses an expression index only for a query with the very same expression, so both
sides build it here. (Organisations, trios and clauses are few; agreements and the clause
text parties propose grow with every partnership, so those two are indexed.)
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVector
from django.db.models.expressions import CombinedExpression

CONFIG = "english"


def agreement_document() -> CombinedExpression:
    return (
        SearchVector("title", weight="A", config=CONFIG)
        + SearchVector("reference", weight="A", config=CONFIG)
        + SearchVector("purpose", weight="B", config=CONFIG)
    )


def override_document() -> CombinedExpression:
    return (
        SearchVector("heading", weight="A", config=CONFIG)
        + SearchVector("body", weight="B", config=CONFIG)
        + SearchVector("rationale", weight="C", config=CONFIG)
    )
