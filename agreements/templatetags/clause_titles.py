"""Naming things as a lawyer reads them in templates: ``{{ text|clause_title:key }}`` is a clause
as the document names it ("7. Data security", agreements.text.titles) for templates that hold
only a key; ``{{ party_rows|still_to_give:"approval" }}`` names whose approval or signature is
still awaited."""

from __future__ import annotations

from django import template

from agreements.negotiation.pending import end_sentence, names_in_words
from agreements.text.consolidation import ConsolidatedText
from agreements.text.titles import clause_titles

register = template.Library()


@register.filter
def clause_title(text: ConsolidatedText, key: str) -> str:
    """The title of clause ``key`` in ``text``; "a clause" when the text has no such clause
    (never the key itself)."""
    return clause_titles(text).get(key, "a clause")


@register.filter
def still_to_give(party_rows: list[dict], what: str) -> str:
    """The parties of the agreement page's ``party_rows`` that have not yet given ``what``
    ("approval" or "signature"), as a sentence names them ("A and B"); empty when none."""
    return names_in_words(
        row["member"].organisation.name for row in party_rows if not row.get(what)
    )


@register.filter
def full_stop(text: str) -> str:
    """``{{ names|full_stop }}`` ends a sentence whose last word may already end with a stop
    ("… and Brightpath Learning, Inc." stays as it is)."""
    return end_sentence(str(text))
