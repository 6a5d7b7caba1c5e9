"""``{% glossary_text clause.body text clause.key %}``: a clause body as escaped paragraphs
with the agreement's defined terms and the product's glossary terms explained on hover and
focus (see ``agreements.glossary``)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from agreements.text.glossary import Term, annotate, glossary_for

register = template.Library()
_CACHE = "agreements.glossary"


def _terms(context: template.Context, text) -> list[Term]:
    """The glossary of ``text`` (a ConsolidatedText or a list of clauses), computed once per
    page render."""
    cache: dict[int, list[Term]] | None = context.render_context.get(_CACHE)
    if cache is None:
        cache = context.render_context[_CACHE] = {}
    key = id(text)
    if key not in cache:
        clauses = getattr(text, "clauses", text) or ()
        cache[key] = glossary_for(clauses)
    return cache[key]


@register.simple_tag(takes_context=True)
def glossary_text(context: template.Context, body: str, text, id_prefix: str = "") -> SafeString:
    return annotate(body or "", _terms(context, text), id_prefix=str(id_prefix or "clause"))
