"""The agreement page's consent section: everything it needs in a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django import template

from consent import selectors

register = template.Library()


@register.simple_tag
def agreement_consent(agreement, my_orgs=None) -> dict:
    """Requirements (one query) and, for people of the agreement's organisations, coverage
    (two queries). ``my_orgs``: the viewer's organisations among the parties (the detail
    page has them already), so membership costs no query here."""
    requirements = selectors.requirements_of(agreement)
    kind = selectors.governing_kind(requirements)
    members = list(agreement.trio.members.all())
    district_id = next((m.organisation_id for m in members if m.role == "district"), None)
    member = bool(my_orgs)
    overview: dict[str, Any] = {
        "requirements": requirements,
        "kind": kind,
        "member": member,
        "district": member and district_id in my_orgs,
        "coverage": None,
    }
    if member and kind is not None:
        overview["coverage"] = selectors.coverage(agreement, kind=kind)
    return overview


@register.filter
def count_or_mask(value, minimum: int = selectors.MIN_CELL) -> str:
    """A count, or “<5” where small counts are hidden (None)."""
    if value is None:
        return f"<{minimum}"
    return f"{value:,}"
