"""Reads of destruction duties through the one visibility rule (``agreements_visible_to``):
the parties of an agreement and its collaboratory's facilitators see its duties; anyone else
gets nothing (404 on the pages). Each duty carries its deadline from the SQL twin of
``agreements.terms.destruction_deadline``, never a second computation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import DateField, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from agreements.access import acting_organisations
from agreements.dashboard import access_key, signed_in, visible_agreements_condition
from agreements.destruction import rules
from agreements.destruction.rules import DutyState
from agreements.extensions import DashboardSection
from agreements.models import Agreement, DestructionDuty
from agreements.selectors import agreements_visible_to
from agreements.signing.termination import day_text
from agreements.terms import destruction_deadline_sql
from collaboratory.prepared import prepared_rows
from partners.selectors import AnyUser

#: Duties the list page shows at most (the most urgent first).
LIST_LIMIT = 500
#: Duties the dashboard's panel shows at most.
DASHBOARD_LIMIT = 20


def deadline_sql() -> Subquery:
    """The duty's agreement's destruction deadline, by ``destruction_deadline_sql``."""
    return Subquery(
        Agreement.objects.filter(pk=OuterRef("agreement_id"))
        .annotate(destruction_deadline=destruction_deadline_sql())
        .values("destruction_deadline")[:1],
        output_field=DateField(),
    )


def duties_visible_to(user: AnyUser) -> QuerySet[Any]:
    # QuerySet[Any]: the stubs cannot see the ``deadline`` annotation the callers filter on.
    """Duties of the agreements ``user`` may see, each annotated with ``deadline``."""
    return (
        DestructionDuty.objects.filter(agreement__in=agreements_visible_to(user).values("pk"))
        .select_related("agreement", "data_element", "data_element__source", "recipient")
        .annotate(deadline=deadline_sql())
    )


def in_state(duties: QuerySet[Any], state: str, *, today: dt.date) -> QuerySet[Any]:
    """``duties`` narrowed to one state of ``rules.duty_state``, in SQL."""
    soon = today + dt.timedelta(days=rules.DUE_SOON_DAYS)
    open_ = Q(certified_at__isnull=True)
    conditions = {
        DutyState.CERTIFIED: Q(certified_at__isnull=False),
        DutyState.OVERDUE: open_ & Q(deadline__lt=today),
        DutyState.DUE_SOON: open_ & Q(deadline__gte=today, deadline__lte=soon),
        DutyState.PENDING: open_ & Q(deadline__gt=soon),
    }
    return duties.filter(conditions[DutyState(state)])


@dataclass(frozen=True)
class DutyRow:
    """One duty as the pages, the dashboard and the API state it."""

    duty: DestructionDuty
    deadline: dt.date
    state: DutyState
    days_left: int
    may_certify: bool

    @property
    def badge(self) -> str:
        """The page's existing badge colours: red overdue, amber due soon, grey pending,
        green certified."""
        return {
            DutyState.OVERDUE: "terminated",
            DutyState.DUE_SOON: "negotiating",
            DutyState.PENDING: "expired",
            DutyState.CERTIFIED: "active",
        }[self.state]

    @property
    def deadline_text(self) -> str:
        return day_text(self.deadline)

    @property
    def when(self) -> str:
        """The deadline in words relative to today."""
        if self.state == DutyState.CERTIFIED:
            destroyed = self.duty.destroyed_on
            if destroyed is None:
                return "certified"
            late = ", after the deadline" if destroyed > self.deadline else ""
            return f"destroyed {day_text(destroyed)}{late}"
        if self.days_left < 0:
            days = -self.days_left
            return f"{days} day{'s' if days != 1 else ''} overdue"
        if self.days_left == 0:
            return "due today"
        return f"due in {self.days_left} day{'s' if self.days_left != 1 else ''}"

    @property
    def certify_url(self) -> str:
        return reverse("destruction-certify", args=[self.duty.agreement_id, self.duty.pk])

    @property
    def certificate_url(self) -> str:
        return reverse("destruction-certificate", args=[self.duty.agreement_id, self.duty.pk])

    @property
    def evidence_url(self) -> str:
        return reverse("destruction-evidence", args=[self.duty.agreement_id, self.duty.pk])

    @property
    def agreement_url(self) -> str:
        return reverse("destruction-agreement", args=[self.duty.agreement_id])


def duty_rows(duties: Any, *, acting_for: set[int], today: dt.date | None = None) -> list[DutyRow]:
    """Rows for annotated duties (``duties_visible_to``); ``acting_for``: the organisations
    the user acts for (who may certify: the receiving party only)."""
    today = today or timezone.localdate()
    rows = []
    for duty in duties:
        deadline: dt.date = duty.deadline
        certified = duty.certified_at is not None
        rows.append(
            DutyRow(
                duty=duty,
                deadline=deadline,
                state=rules.duty_state(certified=certified, deadline=deadline, today=today),
                days_left=(deadline - today).days,
                may_certify=not certified and duty.recipient_id in acting_for,
            )
        )
    return rows


def acting_for(user: AnyUser) -> set[int]:
    """The organisations ``user`` acts for (one query)."""
    return set(acting_organisations(user).values_list("organisation_id", flat=True))


_URGENCY = {
    DutyState.OVERDUE: 0,
    DutyState.DUE_SOON: 1,
    DutyState.PENDING: 2,
    DutyState.CERTIFIED: 3,
}


def by_urgency(rows: list[DutyRow]) -> list[DutyRow]:
    return sorted(
        rows,
        key=lambda r: (_URGENCY[r.state], r.deadline, r.duty.agreement.reference, r.duty.pk),
    )


def agreement_duties(user: AnyUser, agreement: Agreement) -> list[DestructionDuty]:
    """One visible agreement's duties, in the schedule's order."""
    return list(
        duties_visible_to(user)
        .filter(agreement=agreement)
        .order_by("data_element__position", "data_element_id", "recipient_id")
    )


def dashboard_section(user: AnyUser) -> DashboardSection | None:
    """The dashboard's "Destruction duties" panel: the user's uncertified duties that are
    overdue or due within ``DUE_SOON_DAYS`` (one query); nothing when there are none."""
    person = signed_in(user)
    if person is None:
        return None
    today = timezone.localdate()
    soon = today + dt.timedelta(days=rules.DUE_SOON_DAYS)

    # The access rule from the dashboard's cached SQL (``duties_visible_to`` states the
    # same rule through the ORM), and the statement compiled once per user and day: building
    # it costs the ORM more than PostgreSQL takes to run it.
    def build(*_key: object) -> QuerySet[Any]:
        return (
            DestructionDuty.objects.filter(
                visible_agreements_condition(person, '"agreements_destructionduty"."agreement_id"')
            )
            .select_related("agreement", "data_element", "data_element__source", "recipient")
            .annotate(deadline=deadline_sql())
            .filter(certified_at__isnull=True, deadline__lte=soon)
            .order_by("deadline", "agreement__reference", "data_element__position", "pk")[
                :DASHBOARD_LIMIT
            ]
        )

    duties = prepared_rows("destruction-panel", build, *access_key(person), soon)
    if not duties:
        return None
    rows = duty_rows(duties, acting_for=set(), today=today)
    return DashboardSection(
        template="agreements/destruction/dashboard_section.html",
        context={
            "rows": rows,
            "overdue": sum(1 for r in rows if r.state == DutyState.OVERDUE),
            "list_url": reverse("destruction-list"),
        },
    )


def certificate_match(user: AnyUser, sha256: str) -> DestructionDuty | None:
    """The visible duty whose sealed certificate has this SHA-256 (the Verify page names it)."""
    if not sha256:
        return None
    return duties_visible_to(user).filter(certificate_sha256=sha256).first()


def api_duties(agreement: Agreement, *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """The API detail's ``destruction_duties``: from the JSON-prefetched duties (no query) and
    the agreement's deadline (``agreements.terms``)."""
    from agreements.terms import destruction_deadline

    today = today or timezone.localdate()
    deadline = destruction_deadline(agreement)
    out = []
    for duty in agreement.destruction_duties.all():
        certified = duty.certified_at is not None
        out.append(
            {
                "id": duty.pk,
                "data_element_id": duty.data_element_id,
                "recipient": duty.recipient,
                "deadline": deadline,
                "state": rules.duty_state(certified=certified, deadline=deadline, today=today),
                "overdue": not certified and deadline < today,
                "certified_at": duty.certified_at,
                "method": duty.method or None,
                "destroyed_on": duty.destroyed_on,
                "certifier": (
                    f"{duty.certifier_name}, {duty.certifier_title}" if certified else None
                ),
                "certificate_sha256": duty.certificate_sha256 or None,
            }
        )
    return out
