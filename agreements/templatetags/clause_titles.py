"""``{{ text|clause_title:key }}``: a clause as the document names it ("7. Data security"), for
templates that hold only a key (agreements.text.titles)."""

from __future__ import annotations

from django import template

from agreements.text.consolidation import ConsolidatedText
from agreements.text.titles import clause_titles

register = template.Library()


@register.filter
def clause_title(text: ConsolidatedText, key: str) -> str:
    """The title of clause ``key`` in ``text``; "a clause" when the text has no such clause
    (never the key itself)."""
    return clause_titles(text).get(key, "a clause")
