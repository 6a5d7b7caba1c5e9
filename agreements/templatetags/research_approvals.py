"""``{% research_approvals_panel agreement as approvals %}``: where the agreement's research
approvals stand today (``agreements.approvals.rules``), for the agreement page's panel. The
approvals travel with the page's agreement row (``RESEARCH_APPROVALS_PREFETCH``)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from agreements.approvals import rules
from agreements.approvals.selectors import approvals_of
from agreements.lifecycle import FINAL
from agreements.models import Agreement

register = template.Library()


@register.simple_tag
def research_approvals_panel(agreement: Agreement) -> dict[str, Any]:
    today = timezone.localdate()
    approvals = approvals_of(agreement)
    standings = rules.standings(agreement, approvals, today)
    shown = [s for s in standings if s.required or s.latest is not None]
    return {
        "standings": shown,
        "required": [s for s in standings if s.required],
        "current": rules.approvals_current(agreement, approvals, today),
        "ended": agreement.status in FINAL,
    }
