"""Reads of research approvals behind the access rule: an agreement's approvals are seen by
whoever may see the agreement (``agreements.selectors.agreements_visible_to``); everyone else
gets 404 from the page that asks."""

from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, QuerySet

from agreements.approvals import rules
from agreements.approvals.models import ResearchApproval
from agreements.models import Agreement
from agreements.selectors import agreements_visible_to
from collaboratory.json_prefetch import JsonPrefetch
from partners.selectors import AnyUser

#: An agreement's approvals travelling with its row (the agreement page, the API detail and
#: ODRL terms): no extra query.
RESEARCH_APPROVALS_PREFETCH = JsonPrefetch(
    "research_approvals",
    ResearchApproval.objects.filter(agreement=OuterRef("pk")).order_by("kind", "recorded_at", "id"),
)


def approvals_of(agreement: Agreement) -> list[ResearchApproval]:
    """The agreement's approvals, oldest record first per kind: the prefetched ones when the
    row carries them, else one query."""
    return list(agreement.research_approvals.all())


def approval_history(agreement: Agreement) -> QuerySet[ResearchApproval]:
    """Every approval of ``agreement`` (withdrawn ones too) with who recorded and withdrew
    it, newest first: the approvals page."""
    return (
        ResearchApproval.objects.filter(agreement=agreement)
        .select_related("recorded_by", "withdrawn_by", "organisation", "renews")
        .order_by("-recorded_at", "-id")
    )


def approval_for_user(user: AnyUser, agreement_id, approval_id: int) -> ResearchApproval:
    """One approval of an agreement ``user`` may see (``DoesNotExist`` otherwise: 404)."""
    return ResearchApproval.objects.select_related("agreement").get(
        pk=approval_id,
        agreement_id=agreement_id,
        agreement__in=agreements_visible_to(user).values("pk"),
    )


def approval_problems(agreement: Agreement, *, day: dt.date, action: str) -> list[str]:
    """Why no data may flow under ``agreement`` on ``day`` for lack of current research
    approvals (``rules.problems``: one sentence per required kind, naming the approval to
    renew), empty when they are current. ``action`` ends each sentence ("exporting the
    roster"). Needs the agreement's template (``template_version__template``)."""
    if not rules.required_kinds(agreement):
        return []  # nothing required: no need to read the approvals
    return rules.problems(agreement, approvals_of(agreement), day, action=action)
