"""``{{ agreement|ending }}``: "Ends on 1 February 2027 (terminated for convenience on
3 December 2026)" for an active agreement under notice of termination, else empty. The status
badge shows it wherever an agreement's status shows; the agreement page adds who gave notice
(``signing.termination.notice_status``)."""

from __future__ import annotations

from django import template

from agreements.models import Agreement
from agreements.signing.termination import ending_summary

register = template.Library()


@register.filter
def ending(agreement: Agreement | None) -> str:
    if not isinstance(agreement, Agreement):
        return ""
    return ending_summary(agreement)
