"""The research director's dashboard: what waits for the user, what is coming up and recent
activity — each section one query, through the one access rule — and the agreements of the
partnership and organisation pages.

Every function takes the user and answers only about agreements ``agreements_visible_to``
lets them see; "what needs me" narrows that further to the parties the user acts for
(``agreements.access``). The rules themselves live with their owners: the lifecycle's
reminder days and reviewable statuses, the review page's notion of an unreviewed deviation,
the destruction deadline of ``agreements.terms``. Consent coverage is consent's section
(``agreements.extensions.dashboard_sections``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Trim
from django.urls import reverse
from django.utils import timezone

from agreements.access import acting_organisations, acting_party_rows, acts_for_party
from agreements.lifecycle import REMINDER_DAYS, REVIEWABLE
from agreements.models import (
    Agreement,
    Approval,
    Clause,
    ClauseOverride,
    ClauseReview,
    Document,
    DocumentKind,
    OverrideResponse,
    OverrideStatus,
    Signature,
    Status,
    Transition,
)
from agreements.negotiation.pending import names_in_words
from agreements.review.clause_reviews import deviation_reviews, unreviewed_by_party
from agreements.selectors import TEXT_PREFETCHES, agreements_visible_to
from agreements.signing import termination
from agreements.terms import destruction_deadline, destruction_deadline_sql, end_date, end_date_sql
from collaboratory.json_prefetch import JsonPrefetch, with_json_prefetch
from partners.models import Role, TrioMember
from partners.selectors import AnyUser

#: How far back an overdue destruction deadline stays on the dashboard.
OVERDUE_WINDOW_DAYS = 365
WAITING_LIMIT = 50
DATES_LIMIT = 30
ACTIVITY_LIMIT = 12


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


#: Every party's reviews of an agreement's deviating clauses, for the review page's rule.
REVIEWS_PREFETCH = JsonPrefetch(
    "reviews", ClauseReview.objects.filter(agreement=OuterRef("pk")).order_by("clause_key", "id")
)


def unreviewed_deviations(agreement: Agreement, organisation_ids: Iterable[int]) -> list[str]:
    """Keys of the deviations (clauses differing from the standard) that the parties
    ``organisation_ids`` have not reviewed in their current text: the review page's rule
    (``agreements.review.clause_reviews``). ``agreement`` carries the text prefetches and
    its reviews."""
    mine = set(organisation_ids)
    reviews = deviation_reviews(agreement, reviews=agreement.reviews.all())
    keys = {
        key
        for organisation, waiting in unreviewed_by_party(reviews)
        if organisation.pk in mine
        for key in waiting
    }
    return sorted(keys)


def waiting_for(user: AnyUser) -> list[WaitingItem]:
    """Items waiting for ``user``'s action, oldest first (one query):

    * approve: in review, the user is legal of a party that has not approved the text;
    * sign: signing, the user is signatory of a party that has not signed;
    * answer: negotiating, another party's proposal the user's legal team has not answered;
    * review: a deviation from the standard that the user's legal team has not reviewed in
      its current text (as the review page counts; the texts of only these agreements come
      with the query);
    * draft: a draft the user started, waiting to be completed and opened for negotiation.
    """
    if not user.is_authenticated:
        return []
    legal = acting_organisations(user, Role.LEGAL)
    not_approved = Exists(
        acting_party_rows(user, Role.LEGAL).exclude(
            organisation_id__in=Approval.objects.filter(
                agreement_id=OuterRef(OuterRef("pk")), voided_at__isnull=True
            ).values("organisation_id")
        )
    )
    not_signed = Exists(
        acting_party_rows(user, Role.SIGNATORY).exclude(
            organisation_id__in=Signature.objects.filter(
                agreement_id=OuterRef(OuterRef("pk"))
            ).values("organisation_id")
        )
    )
    waiting_answers = (
        ClauseOverride.objects.filter(agreement_id=OuterRef("pk"), status=OverrideStatus.PROPOSED)
        .exclude(organisation_id__in=acting_organisations(user))
        .exclude(
            Exists(
                OverrideResponse.objects.filter(
                    override_id=OuterRef("pk"), organisation_id__in=legal
                )
            )
        )
    )
    unanswered = _count(waiting_answers)
    # Deviations exist only where a change was accepted; whether one still waits for the
    # user's party is the review page's question, answered below from the fetched text.
    review_due = Q(
        status__in=REVIEWABLE,
        is_legal=True,
        has_accepted_changes=True,
    )
    rows = with_json_prefetch(
        agreements_visible_to(user)
        .filter(status__in=[Status.DRAFT, Status.NEGOTIATING, Status.IN_REVIEW, Status.SIGNING])
        .select_related("trio__collaboratory", "template_version__template")
        .annotate(
            is_legal=acts_for_party(user, Role.LEGAL),
            legal_parties=ArraySubquery(
                acting_party_rows(user, Role.LEGAL).values("organisation_id")
            ),
            needs_approval=not_approved,
            needs_signature=not_signed,
            unanswered=unanswered,
            # Who proposed them, so the item says whose proposals wait for the user's answer.
            proposers=ArraySubquery(
                waiting_answers.order_by("organisation__name").values("organisation__name")
            ),
            has_accepted_changes=Exists(
                ClauseOverride.objects.filter(
                    agreement_id=OuterRef("pk"), status=OverrideStatus.ACCEPTED
                )
            ),
        )
        .annotate(review_due=ExpressionWrapper(review_due, output_field=BooleanField())),
        *TEXT_PREFETCHES,
        REVIEWS_PREFETCH,
        when=Q(review_due=True),
    )
    rows = rows.filter(
        Q(status=Status.IN_REVIEW, needs_approval=True)
        | Q(status=Status.SIGNING, needs_signature=True)
        | Q(status=Status.NEGOTIATING, is_legal=True, unanswered__gt=0)
        | Q(review_due=True)
        | Q(status=Status.DRAFT, created_by=user)
    ).order_by("status_changed_at", "reference")[:WAITING_LIMIT]
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
                    f"Answer {n} proposal{'s' if n != 1 else ''} from "
                    + names_in_words(sorted(set(agreement.proposers))),
                    detail + "#pending-title",
                )
            )
        if agreement.review_due:
            n = len(unreviewed_deviations(agreement, agreement.legal_parties))
            if n:
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
    kind: str  # expiry, end (termination after notice), destruction
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

    @property
    def ground(self) -> str:
        """For an end: "terminated for convenience"."""
        return termination.ground_phrase(self.agreement.termination_ground)


def coming_up(user: AnyUser, *, today: dt.date | None = None) -> list[DateItem]:
    """Active agreements ending within 90 days (at their expiry, or earlier where notice of
    termination was given: ``agreements.terms.end_date``), and destruction deadlines of
    ended agreements (agreed, or derived from the actual end and retention) due within 90
    days or passed in the last year, soonest first (one query)."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=max(REMINDER_DAYS))
    ended = [Status.EXPIRED, Status.TERMINATED]
    rows = (
        agreements_visible_to(user)
        .annotate(deadline=destruction_deadline_sql(), end=end_date_sql())
        .filter(
            Q(status=Status.ACTIVE, end__gte=today, end__lte=horizon)
            | Q(
                status__in=ended,
                deadline__lte=horizon,
                deadline__gte=today - dt.timedelta(days=OVERDUE_WINDOW_DAYS),
            )
        )
        .select_related("trio__collaboratory")
        .order_by(
            Case(
                When(status=Status.ACTIVE, then=F("end")),
                default=F("deadline"),
                output_field=DateField(),
            ),
            "reference",
        )[:DATES_LIMIT]
    )
    items = []
    for agreement in rows:
        if agreement.status == Status.ACTIVE:
            day = end_date(agreement)
            kind = "expiry" if day == agreement.expires_on else "end"
        else:
            day, kind = destruction_deadline(agreement), "destruction"
        items.append(DateItem(agreement, kind, day, (day - today).days))
    return sorted(items, key=lambda item: item.day)


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
            # The clause as the document names it, never its key: an inserted clause by its
            # heading; a changed one by the standard's label and heading ("7. Data security"),
            # or, for a clause inserted earlier, by that insertion's heading.
            b=Case(
                When(kind="insert", then=F("heading")),
                default=Coalesce(
                    Subquery(
                        Clause.objects.filter(
                            version_id=OuterRef("agreement__template_version_id"),
                            key=OuterRef("clause_key"),
                        ).values(title=Trim(Concat("number", Value(" "), "heading")))[:1]
                    ),
                    Subquery(
                        ClauseOverride.objects.filter(
                            agreement_id=OuterRef("agreement_id"),
                            kind="insert",
                            new_key=OuterRef("clause_key"),
                        )
                        .order_by("-created_at")
                        .values("heading")[:1]
                    ),
                    F("heading"),
                ),
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
            named = f"“{b}”" if a == "insert" else b
            what = f"{verbs.get(a, a)} {named or 'a clause'}"
        items.append(ActivityItem(at, kind, agreement_id, ref, title, actor, what))
    return items


# --- Partnership and organisation pages ---------------------------------------------------------


def trio_agreements(user: AnyUser, trio_id: int) -> QuerySet[Agreement]:
    """A trio's agreements for its page, newest change first: the page of rows, their
    status timelines (one query) and the newest sealed executed PDF of each (a subquery)."""
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
