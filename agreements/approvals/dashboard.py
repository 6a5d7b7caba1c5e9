"""The director's dashboard panel "Research approvals" (``agreements.extensions.
dashboard_sections``, registered in agreements/apps.py): required approvals of the active
agreements the user may see that are missing, expired, or expire within the reminder window.

One query: the agreements whose approvals are not current on the window's last day
(``rules.approvals_current_sql``, the rule's SQL twin), with their approvals travelling as
JSON; which approval lapses and when is then ``rules.standings``' answer in Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from agreements.approvals import rules
from agreements.approvals.selectors import RESEARCH_APPROVALS_PREFETCH
from agreements.dashboard import access_key, link, signed_in, visible_agreements_condition
from agreements.extensions import DashboardSection
from agreements.models import Agreement, Status
from collaboratory.json_prefetch import with_json_prefetch
from collaboratory.prepared import prepared_rows
from partners.selectors import AnyUser

LIMIT = 30


@dataclass(frozen=True)
class ApprovalAlert:
    agreement: Agreement
    standing: rules.KindStanding

    @property
    def url(self) -> str:
        return link("agreement-research-approvals", self.agreement.pk)

    @property
    def urgency(self) -> tuple[int, int]:
        days = self.standing.days_left
        return (0, 0) if days is None else (1, days)


def approval_alerts(user: AnyUser, *, today: dt.date | None = None) -> list[ApprovalAlert]:
    """Required approvals of visible active agreements that are missing, expired or expire
    within ``rules.EXPIRING_WITHIN_DAYS``, the most urgent first."""
    person = signed_in(user)
    if person is None:
        return []
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=rules.EXPIRING_WITHIN_DAYS)

    # Compiled once per user and day (collaboratory.prepared): building the statement costs
    # the ORM more than PostgreSQL takes to run it.
    def build(*_key: object) -> QuerySet[Agreement]:
        return with_json_prefetch(
            Agreement.objects.filter(
                visible_agreements_condition(person, '"agreements_agreement"."id"'),
                status=Status.ACTIVE,
            )
            .exclude(template_version__template__required_research_approvals=[])
            .exclude(rules.approvals_current_sql(horizon))
            .select_related("template_version__template")
            .order_by("expires_on", "reference"),
            RESEARCH_APPROVALS_PREFETCH,
        )[:LIMIT]

    agreements = prepared_rows("approvals-panel", build, *access_key(person), horizon)
    alerts = [
        ApprovalAlert(agreement, standing)
        for agreement in agreements
        for standing in rules.standings(agreement, list(agreement.research_approvals.all()), today)
        if standing.required and standing.state != rules.CURRENT
    ]
    return sorted(alerts, key=lambda a: a.urgency)


def approvals_dashboard_section(user: AnyUser) -> DashboardSection | None:
    alerts = approval_alerts(user)
    if not alerts:
        return None
    return DashboardSection(
        template="agreements/approvals/dashboard_section.html", context={"alerts": alerts}
    )
