"""The research director's dashboard: what waits for the user, what is coming up, consent
coverage and recent activity — each section one query, through the one access rule.

Every function takes the user and answers only about agreements ``agreements_visible_to``
lets them see; "what needs me" narrows that further to the parties the user acts for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from agreements.models import (
    Agreement,
    Approval,
    ClauseOverride,
    OverrideResponse,
    OverrideStatus,
    Signature,
    Status,
    Transition,
)
from agreements.selectors import agreements_visible_to
from partners.models import Membership, Role, TrioMember
from partners.selectors import AnyUser

#: Days before expiry the dashboard and the calendar remind at (as the daily reminder job).
REMINDER_DAYS = (90, 30, 7)
#: Statuses in which a deviating clause can still be reviewed (as agreements.review_services).
REVIEWABLE = (Status.DRAFT, Status.NEGOTIATING, Status.IN_REVIEW)
#: How far back an overdue destruction deadline stays on the dashboard.
OVERDUE_WINDOW_DAYS = 365
WAITING_LIMIT = 50
DATES_LIMIT = 30
CONSENT_LIMIT = 30
ACTIVITY_LIMIT = 12


def _orgs(user: AnyUser, role: str | None = None) -> QuerySet:
    memberships = Membership.objects.filter(user=user)
    if role:
        memberships = memberships.filter(role=role)
    return memberships.values("organisation_id")


def _party_in_role(user: AnyUser, role: str) -> Exists:
    """The user holds ``role`` in one of the agreement's parties."""
    return Exists(
        TrioMember.objects.filter(
            trio_id=OuterRef("trio_id"), organisation_id__in=_orgs(user, role)
        )
    )


def _count(queryset: QuerySet) -> Coalesce:
    """A correlated COUNT(*) of ``queryset`` (already filtered on its OuterRef)."""
    # COUNT as a plain function, not an aggregate: no GROUP BY, one row per outer row.
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# --- What needs me ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingItem:
    """One thing the user can do now, with the page that does it."""

    agreement: Agreement
    action: str  # approve, sign, answer, review, draft
    label: str
    url: str


def waiting_for(user: AnyUser) -> list[WaitingItem]:
    """Items waiting for ``user``'s action, oldest first (one query):

    * approve: in review, the user is legal of a party that has not approved the text;
    * sign: signing, the user is signatory of a party that has not signed;
    * answer: negotiating, another party's proposal the user's legal team has not answered;
    * review: an accepted change (a deviation from the standard) the user's legal team has
      not marked reviewed since it was accepted (the review page has the exact state);
    * draft: a draft the user started, waiting to be completed and opened for negotiation.
    """
    if not user.is_authenticated:
        return []
    legal = _orgs(user, Role.LEGAL)
    mine = _orgs(user)
    not_approved = Exists(
        TrioMember.objects.filter(trio_id=OuterRef("trio_id"), organisation_id__in=legal).exclude(
            organisation_id__in=Approval.objects.filter(
                agreement_id=OuterRef(OuterRef("pk")), voided_at__isnull=True
            ).values("organisation_id")
        )
    )
    not_signed = Exists(
        TrioMember.objects.filter(
            trio_id=OuterRef("trio_id"), organisation_id__in=_orgs(user, Role.SIGNATORY)
        ).exclude(
            organisation_id__in=Signature.objects.filter(
                agreement_id=OuterRef(OuterRef("pk"))
            ).values("organisation_id")
        )
    )
    unanswered = _count(
        ClauseOverride.objects.filter(agreement_id=OuterRef("pk"), status=OverrideStatus.PROPOSED)
        .exclude(organisation_id__in=mine)
        .exclude(
            Exists(
                OverrideResponse.objects.filter(
                    override_id=OuterRef("pk"), organisation_id__in=legal
                )
            )
        )
    )
    from agreements.models import ClauseReview

    unreviewed = _count(
        ClauseOverride.objects.filter(agreement_id=OuterRef("pk"), status=OverrideStatus.ACCEPTED)
        .annotate(
            target=Case(
                When(kind="insert", then=F("new_key")),
                default=F("clause_key"),
                output_field=CharField(),
            ),
            effective=Coalesce("decided_at", "created_at", output_field=DateTimeField()),
        )
        .exclude(
            Exists(
                ClauseReview.objects.filter(
                    agreement_id=OuterRef("agreement_id"),
                    clause_key=OuterRef("target"),
                    organisation_id__in=legal,
                    updated_at__gte=OuterRef("effective"),
                )
            )
        )
    )
    rows = (
        agreements_visible_to(user)
        .filter(status__in=[Status.DRAFT, Status.NEGOTIATING, Status.IN_REVIEW, Status.SIGNING])
        .select_related("trio__collaboratory")
        .annotate(
            is_legal=_party_in_role(user, Role.LEGAL),
            needs_approval=not_approved,
            needs_signature=not_signed,
            unanswered=unanswered,
            unreviewed=unreviewed,
        )
        .filter(
            Q(status=Status.IN_REVIEW, needs_approval=True)
            | Q(status=Status.SIGNING, needs_signature=True)
            | Q(status=Status.NEGOTIATING, is_legal=True, unanswered__gt=0)
            | Q(status__in=REVIEWABLE, is_legal=True, unreviewed__gt=0)
            | Q(status=Status.DRAFT, created_by=user)
        )
        .order_by("status_changed_at", "reference")[:WAITING_LIMIT]
    )
    items: list[WaitingItem] = []
    for agreement in rows:
        detail = reverse("agreement-detail", args=[agreement.pk])
        if agreement.status == Status.SIGNING and agreement.needs_signature:
            items.append(
                WaitingItem(
                    agreement,
                    "sign",
                    "Sign for your organisation",
                    reverse("agreement-sign", args=[agreement.pk]),
                )
            )
        if agreement.status == Status.IN_REVIEW and agreement.needs_approval:
            items.append(
                WaitingItem(agreement, "approve", "Approve the text", detail + "#next-title")
            )
        if agreement.status == Status.NEGOTIATING and agreement.is_legal and agreement.unanswered:
            n = agreement.unanswered
            items.append(
                WaitingItem(
                    agreement,
                    "answer",
                    f"Answer {n} proposal{'s' if n != 1 else ''} from the other parties",
                    detail + "#pending-title",
                )
            )
        if agreement.status in REVIEWABLE and agreement.is_legal and agreement.unreviewed:
            n = agreement.unreviewed
            items.append(
                WaitingItem(
                    agreement,
                    "review",
                    f"Review {n} changed clause{'s' if n != 1 else ''}",
                    reverse("agreement-reviews", args=[agreement.pk]),
                )
            )
        if agreement.status == Status.DRAFT and agreement.created_by_id == user.pk:
            items.append(
                WaitingItem(
                    agreement,
                    "draft",
                    "Finish the draft and open negotiation",
                    detail + "#next-title",
                )
            )
    order = {"sign": 0, "approve": 1, "answer": 2, "review": 3, "draft": 4}
    return sorted(items, key=lambda item: order[item.action])


# --- Coming up: expiry and destruction ------------------------------------------------------


@dataclass(frozen=True)
class DateItem:
    agreement: Agreement
    kind: str  # expiry, destruction
    day: dt.date
    days_left: int  # negative: overdue

    @property
    def window(self) -> int | None:
        """The smallest reminder window (90/30/7) the date falls in; None when overdue."""
        if self.days_left < 0:
            return None
        return min(d for d in REMINDER_DAYS if self.days_left <= d)

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return max(0, -self.days_left)


def coming_up(user: AnyUser, *, today: dt.date | None = None) -> list[DateItem]:
    """Active agreements expiring within 90 days, and destruction deadlines of ended
    agreements due within 90 days or passed in the last year, soonest first (one query)."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=max(REMINDER_DAYS))
    rows = (
        agreements_visible_to(user)
        .filter(
            Q(status=Status.ACTIVE, expires_on__gte=today, expires_on__lte=horizon)
            | Q(
                status__in=[Status.EXPIRED, Status.TERMINATED],
                destruction_date__isnull=False,
                destruction_date__lte=horizon,
                destruction_date__gte=today - dt.timedelta(days=OVERDUE_WINDOW_DAYS),
            )
        )
        .select_related("trio__collaboratory")
        .order_by("expires_on")[:DATES_LIMIT]
    )
    items = []
    for agreement in rows:
        if agreement.status == Status.ACTIVE:
            day, kind = agreement.expires_on, "expiry"
        else:
            day, kind = agreement.destruction_date, "destruction"
        items.append(DateItem(agreement, kind, day, (day - today).days))
    return sorted(items, key=lambda item: item.day)


# --- Consent coverage -------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRow:
    agreement: Agreement
    requirement: str | None  # the strictest requirement's label, None when unset
    students: int
    permitted: int
    masked: bool  # a non-district viewer and a count small enough to identify students

    @property
    def percent(self) -> int | None:
        if not self.students:
            return None
        return round(100 * self.permitted / self.students)


def consent_coverage(user: AnyUser) -> list[ConsentRow]:
    """Consent coverage of each active agreement whose consent the user may see (the
    consent app's rule: people of the trio's own organisations), from the maintained
    per-student state rows — one grouped query. Counts below the consent app's minimum
    cell size are hidden from everyone but the district's people."""
    try:
        from consent.models import ConsentRequirement
        from consent.rules import ConsentKind, strictest
        from consent.selectors import MIN_CELL, consent_agreements_for_user
    except ImportError:  # the consent app is optional for this page
        return []
    district_people = TrioMember.objects.filter(
        trio_id=OuterRef("trio_id"), role="district", organisation_id__in=_orgs(user)
    )
    rows = (
        consent_agreements_for_user(user)
        .filter(status=Status.ACTIVE)
        .select_related("trio__collaboratory")
        .annotate(
            students=Count("consent_students"),
            permitted=Count("consent_students", filter=Q(consent_students__permitted=True)),
            kinds=ArraySubquery(
                ConsentRequirement.objects.filter(agreement_id=OuterRef("pk")).values("kind")
            ),
            is_district=Exists(district_people),
        )
        .order_by("expires_on", "reference")[:CONSENT_LIMIT]
    )
    result = []
    for agreement in rows:
        kind = strictest(agreement.kinds or [])
        masked = (
            not agreement.is_district
            and 0 < min(agreement.permitted, agreement.students - agreement.permitted) < MIN_CELL
        )
        result.append(
            ConsentRow(
                agreement=agreement,
                requirement=ConsentKind(kind).label if kind else None,
                students=agreement.students,
                permitted=agreement.permitted,
                masked=masked,
            )
        )
    return result


# --- Recent activity ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityItem:
    at: dt.datetime
    kind: str  # transition, proposal
    agreement_id: object
    reference: str
    title: str
    actor: str
    what: str

    @property
    def url(self) -> str:
        return reverse("agreement-detail", args=[self.agreement_id])


def recent_activity(user: AnyUser, *, limit: int = ACTIVITY_LIMIT) -> list[ActivityItem]:
    """Lifecycle steps and proposals across the user's visible agreements, newest first
    (one UNION query)."""
    visible = agreements_visible_to(user).values("pk")
    text = CharField()
    columns = (
        "at",
        "event_kind",
        "agreement_id",
        "ref",
        "agreement_title",
        "first",
        "last",
        "a",
        "b",
    )
    transitions = (
        Transition.objects.filter(agreement_id__in=visible)
        .annotate(
            event_kind=Value("transition", output_field=text),
            ref=F("agreement__reference"),
            agreement_title=F("agreement__title"),
            first=Coalesce("by__first_name", Value("", output_field=text)),
            last=Coalesce("by__last_name", Value("", output_field=text)),
            a=F("from_status"),
            b=F("to_status"),
        )
        .values_list(*columns)
    )
    proposals = (
        ClauseOverride.objects.filter(agreement_id__in=visible)
        .annotate(
            at=F("created_at"),
            event_kind=Value("proposal", output_field=text),
            ref=F("agreement__reference"),
            agreement_title=F("agreement__title"),
            first=F("organisation__name"),
            last=Value("", output_field=text),
            a=F("kind"),
            b=Case(
                When(kind="insert", then=F("new_key")),
                default=F("clause_key"),
                output_field=text,
            ),
        )
        .values_list(*columns)
    )
    rows = transitions.union(proposals, all=True).order_by("-at")[:limit]
    labels = dict(Status.choices)
    verbs = {
        "replace": "proposed a change to",
        "insert": "proposed a new clause",
        "delete": "proposed deleting",
    }
    items = []
    for at, kind, agreement_id, ref, title, first, last, a, b in rows:
        if kind == "transition":
            actor = f"{first} {last}".strip() or "Collaboratory"
            what = f"{labels.get(a, a)} → {labels.get(b, b)}"
        else:
            actor = first
            what = f"{verbs.get(a, a)} “{b}”"
        items.append(ActivityItem(at, kind, agreement_id, ref, title, actor, what))
    return items


# --- Partnership pages ------------------------------------------------------------------------


def trio_agreements(user: AnyUser, trio_id: int) -> QuerySet[Agreement]:
    """A trio's agreements for its page, newest change first: the page of rows, their
    status timelines (one query) and the newest sealed executed PDF of each (a subquery)."""
    from django.db.models import Prefetch

    from agreements.models import Document, DocumentKind

    executed = Document.objects.filter(
        agreement_id=OuterRef("pk"), kind=DocumentKind.EXECUTED, sealed=True
    ).order_by("-created_at", "-id")
    return (
        agreements_visible_to(user)
        .filter(trio_id=trio_id)
        .select_related("template_version__template")
        .prefetch_related(
            Prefetch(
                "transitions", queryset=Transition.objects.select_related("by").order_by("at", "id")
            )
        )
        .annotate(executed_document_id=Subquery(executed.values("pk")[:1]))
        .order_by("-updated_at", "reference")
    )


def organisation_agreements(user: AnyUser, organisation_id: int) -> QuerySet[Agreement]:
    """Visible agreements of the trios ``organisation_id`` is a member of."""
    return (
        agreements_visible_to(user)
        .filter(
            trio_id__in=TrioMember.objects.filter(organisation_id=organisation_id).values("trio_id")
        )
        .select_related("trio__collaboratory")
        .order_by("-updated_at", "reference")
    )


@dataclass(frozen=True)
class Person:
    name: str
    roles: tuple[str, ...]


def people_of(organisation_ids: list[int]) -> dict[int, list[Person]]:
    """The people of each organisation with their roles (one query). Call it only with
    organisations the viewer already sees (a trio's members)."""
    labels = dict(Role.choices)
    found: dict[int, dict[int, tuple[str, list[str]]]] = {}
    rows = (
        Membership.objects.filter(organisation_id__in=organisation_ids, user__is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username", "role")
    )
    for membership in rows:
        user = membership.user
        name = user.get_full_name() or user.get_username()
        entry = found.setdefault(membership.organisation_id, {}).setdefault(user.pk, (name, []))
        entry[1].append(labels.get(membership.role, membership.role))
    return {
        org: [Person(name, tuple(roles)) for name, roles in people.values()]
        for org, people in found.items()
    }
