"""``{% documents_panel agreement as panel %}``: the documents section's data, so the
agreement page includes it with one line (one query: the render jobs with documents)."""

from django import template

from agreements.web import documents as views_documents

register = template.Library()


@register.simple_tag
def documents_panel(agreement) -> dict:
    return views_documents.documents_panel(agreement)
