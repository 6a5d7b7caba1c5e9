"""The research director's dashboard: what waits for the user, what is coming up and recent
activity — each section one query, through the one access rule — and the agreements of the
partnership and organisation pages.

Every function takes the user and answers only about agreements ``agreements_visible_to``
lets them see; "what needs me" narrows that further to the parties the user acts for
(``agreements.access``). The rules themselves live with their owners: the lifecycle's
reminder days and reviewable statuses, the review page's notion of an unreviewed deviation,
the destruction deadline of ``agreements.terms``. Consent coverage is consent's section
(``agreements.extensions.dashboard_sections``).

The dashboard's statements are SQL composed around the access rule's own compiled subqueries
(``_scope``): each section reads a few rows, and building the equivalent nested querysets
cost the ORM more Python on every request than PostgreSQL spent answering them.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from agreements.access import acting_organisations
from agreements.lifecycle import REMINDER_DAYS, REVIEWABLE
from agreements.models import (
    Agreement,
    ClauseReview,
    Document,
    DocumentKind,
    OverrideStatus,
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
from partners.selectors import AnyUser, User, trios_visible_to

#: How far back an overdue destruction deadline stays on the dashboard.
OVERDUE_WINDOW_DAYS = 365
WAITING_LIMIT = 50
DATES_LIMIT = 30
ACTIVITY_LIMIT = 12


# --- The user's access rule as SQL ----------------------------------------------------------

#: A piece of SQL and its parameters.
type Sql = tuple[str, tuple[Any, ...]]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _compose(
    template: str, parts: Mapping[str, Sql], fragments: Mapping[str, str] | None = None
) -> Sql:
    """``template`` with each ``{name}`` replaced by the SQL of ``parts[name]`` or, in turn
    composed, by ``fragments[name]``; the parameters in the order they appear. Templates and
    fragments are this module's constant SQL, parts that or the ORM's compilation of a
    queryset: values only ever travel as parameters."""
    params: list[Any] = []

    def expand(text: str) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match[1]
            if name in parts:
                sql, values = parts[name]
                params.extend(values)
                return sql
            return expand((fragments or {})[name])

        return _PLACEHOLDER.sub(fill, text)

    return expand(template), tuple(params)


def _value(value: object) -> Sql:
    return "%s", (value,)


def _subquery(queryset: QuerySet) -> Sql:
    sql, params = queryset.order_by().query.sql_with_params()
    return sql, tuple(params)


@dataclass(frozen=True)
class _Scope:
    """One user's access rule as subqueries the dashboard's statements embed: the trios
    they may see (``partners.selectors.trios_visible_to``; an agreement is visible when its
    trio is, as ``agreements_visible_to`` says) and the organisations they act for in any
    role, as legal team and as signatory (``agreements.access.acting_organisations``)."""

    user_id: int
    visible_trios: Sql
    acting: Sql
    legal: Sql
    signatory: Sql


_SCOPES: dict[tuple[int, bool, bool], _Scope] = {}


def _scope(user: User) -> _Scope:
    """``user``'s ``_Scope``. Building the rule's querysets costs the ORM milliseconds on
    every request, while their SQL depends only on who asks: the user's id and the two flags
    the rule branches on (active, superuser). So it is compiled once per process for each
    such key and can never be stale: the rule's data (memberships, facilitators) is read by
    the SQL on every request."""
    key = (user.pk, user.is_active, user.is_superuser)
    scope = _SCOPES.get(key)
    if scope is None:
        if len(_SCOPES) >= 4096:
            _SCOPES.clear()
        scope = _SCOPES[key] = _Scope(
            user_id=user.pk,
            visible_trios=_subquery(trios_visible_to(user).values("id")),
            acting=_subquery(acting_organisations(user)),
            legal=_subquery(acting_organisations(user, Role.LEGAL)),
            signatory=_subquery(acting_organisations(user, Role.SIGNATORY)),
        )
    return scope


def _signed_in(user: AnyUser) -> User | None:
    """The user the dashboard answers for; None for anonymous and inactive users, who see
    no trio and act for no party (``partners.selectors.memberships_of``)."""
    if not user.is_authenticated or not user.is_active:
        return None
    return user


def _agreement_sql(expression: Any) -> str:
    """``expression`` over ``Agreement`` rows as SQL (a top-level query's base table keeps
    its own name), for expressions without parameters (``agreements.terms``'s dates)."""
    query = Agreement.objects.annotate(value=expression).query
    sql, params = query.get_compiler("default").compile(query.annotations["value"])
    if params:
        raise ValueError("Only expressions without parameters can be embedded as SQL.")
    return sql


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


#: The SQL of "what needs me", by fragment: ``{name}`` is another fragment or a value of the
#: request (``_compose``). The correlated subqueries follow ``agreements.access``'s
#: ``acting_party_rows`` (the row's parties the user acts for in a role).
_WAITING_SQL = {
    "legal_parties_of_row": (
        "FROM partners_triomember tm WHERE tm.trio_id = agreements_agreement.trio_id "
        "AND tm.organisation_id IN ({legal})"
    ),
    "is_legal": "EXISTS (SELECT 1 {legal_parties_of_row})",
    "legal_parties": (
        "ARRAY(SELECT tm.organisation_id {legal_parties_of_row} ORDER BY tm.organisation_id)"
    ),
    # A party the user is legal team of that has not approved the text (a voided approval is
    # none) / signatory of that has not signed.
    "needs_approval": (
        "EXISTS (SELECT 1 {legal_parties_of_row} AND tm.organisation_id NOT IN "
        "(SELECT ap.organisation_id FROM agreements_approval ap "
        "WHERE ap.agreement_id = agreements_agreement.id AND ap.voided_at IS NULL))"
    ),
    "needs_signature": (
        "EXISTS (SELECT 1 FROM partners_triomember tm "
        "WHERE tm.trio_id = agreements_agreement.trio_id "
        "AND tm.organisation_id IN ({signatory}) AND tm.organisation_id NOT IN "
        "(SELECT sg.organisation_id FROM agreements_signature sg "
        "WHERE sg.agreement_id = agreements_agreement.id))"
    ),
    # Another party's proposals (from no organisation the user acts for) that no legal team
    # the user belongs to has answered, and who proposed them.
    "unanswered_proposals": (
        "FROM agreements_clauseoverride o WHERE o.agreement_id = agreements_agreement.id "
        "AND o.status = {proposed} AND o.organisation_id NOT IN ({acting}) AND NOT EXISTS "
        "(SELECT 1 FROM agreements_overrideresponse r WHERE r.override_id = o.id "
        "AND r.organisation_id IN ({legal}))"
    ),
    "unanswered": "(SELECT count(*) {unanswered_proposals})",
    "proposers": (
        "ARRAY(SELECT org.name FROM partners_organisation org WHERE org.id IN "
        "(SELECT o.organisation_id {unanswered_proposals}) ORDER BY org.name)"
    ),
    # Deviations exist only where a change was accepted; whether one still waits for the
    # user's party is the review page's question, answered from the fetched text.
    "review_due": (
        "(agreements_agreement.status = ANY({reviewable}) AND {is_legal} AND EXISTS "
        "(SELECT 1 FROM agreements_clauseoverride o "
        "WHERE o.agreement_id = agreements_agreement.id AND o.status = {accepted}))"
    ),
    # What waits, narrowed first to what can wait for the user at all: an open agreement of
    # a trio where they are legal team or signatory, or their own draft. Each is found
    # through an index ((trio, status), created_by), so the statement reads only these rows
    # however many other agreements the user may see or exist.
    "can_wait": (
        "SELECT a.id FROM partners_triomember tm JOIN agreements_agreement a "
        "ON a.trio_id = tm.trio_id AND a.status = ANY({legal_statuses}) "
        "WHERE tm.organisation_id IN ({legal}) "
        "UNION SELECT a.id FROM partners_triomember tm JOIN agreements_agreement a "
        "ON a.trio_id = tm.trio_id AND a.status = {signing} "
        "WHERE tm.organisation_id IN ({signatory}) "
        "UNION SELECT a.id FROM agreements_agreement a "
        "WHERE a.created_by_id = {user} AND a.status = {draft}"
    ),
    "waiting": (
        "agreements_agreement.id IN ({can_wait}) "
        "AND agreements_agreement.trio_id IN ({visible}) AND ("
        "(agreements_agreement.status = {in_review} AND {needs_approval}) "
        "OR (agreements_agreement.status = {signing} AND {needs_signature}) "
        "OR (agreements_agreement.status = {negotiating} AND {is_legal} AND {unanswered} > 0) "
        "OR {review_due} "
        "OR (agreements_agreement.status = {draft} "
        "AND agreements_agreement.created_by_id = {user}))"
    ),
}


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
    signed_in = _signed_in(user)
    if signed_in is None:
        return []
    scope = _scope(signed_in)
    parts: dict[str, Sql] = {
        "visible": scope.visible_trios,
        "acting": scope.acting,
        "legal": scope.legal,
        "signatory": scope.signatory,
        "user": _value(scope.user_id),
        "draft": _value(Status.DRAFT),
        "negotiating": _value(Status.NEGOTIATING),
        "in_review": _value(Status.IN_REVIEW),
        "signing": _value(Status.SIGNING),
        "reviewable": _value(list(REVIEWABLE)),
        "legal_statuses": _value(sorted({*REVIEWABLE, Status.NEGOTIATING, Status.IN_REVIEW})),
        "proposed": _value(OverrideStatus.PROPOSED),
        "accepted": _value(OverrideStatus.ACCEPTED),
    }

    def raw(fragment: str, output_field: Any = None) -> RawSQL:
        sql, params = _compose(_WAITING_SQL[fragment], parts, _WAITING_SQL)
        return RawSQL(sql, params, output_field=output_field)  # noqa: S611 - composed, see _compose

    boolean = BooleanField()
    rows = with_json_prefetch(
        Agreement.objects.filter(raw("waiting", boolean))
        .select_related("trio__collaboratory", "template_version__template")
        .annotate(
            is_legal=raw("is_legal", boolean),
            legal_parties=raw("legal_parties"),
            needs_approval=raw("needs_approval", boolean),
            needs_signature=raw("needs_signature", boolean),
            unanswered=raw("unanswered"),
            # Who proposed them, so the item says whose proposals wait for the user's answer.
            proposers=raw("proposers"),
            review_due=raw("review_due", boolean),
        ),
        *TEXT_PREFETCHES,
        REVIEWS_PREFETCH,
        when=Q(review_due=True),
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


#: "Coming up" (``_compose``): ``{end}`` and ``{deadline}`` are ``agreements.terms``'s.
_DATES_SQL = {
    "dates": (
        "agreements_agreement.trio_id IN ({visible}) AND ("
        "(agreements_agreement.status = {active} AND {end} BETWEEN {today} AND {horizon}) "
        "OR (agreements_agreement.status = ANY({ended}) "
        "AND {deadline} BETWEEN {overdue_from} AND {horizon}))"
    ),
    "soonest": "CASE WHEN agreements_agreement.status = {active} THEN {end} ELSE {deadline} END",
}


@functools.cache
def _terms_sql() -> dict[str, Sql]:
    """``agreements.terms``'s end and destruction deadline as SQL, compiled once."""
    return {
        "end": (_agreement_sql(end_date_sql()), ()),
        "deadline": (_agreement_sql(destruction_deadline_sql()), ()),
    }


def coming_up(user: AnyUser, *, today: dt.date | None = None) -> list[DateItem]:
    """Active agreements ending within 90 days (at their expiry, or earlier where notice of
    termination was given: ``agreements.terms.end_date``), and destruction deadlines of
    ended agreements (agreed, or derived from the actual end and retention) due within 90
    days or passed in the last year, soonest first (one query)."""
    signed_in = _signed_in(user)
    if signed_in is None:
        return []
    today = today or timezone.localdate()
    parts: dict[str, Sql] = {
        **_terms_sql(),
        "visible": _scope(signed_in).visible_trios,
        "active": _value(Status.ACTIVE),
        "ended": _value([Status.EXPIRED, Status.TERMINATED]),
        "today": _value(today),
        "horizon": _value(today + dt.timedelta(days=max(REMINDER_DAYS))),
        "overdue_from": _value(today - dt.timedelta(days=OVERDUE_WINDOW_DAYS)),
    }
    where, where_params = _compose(_DATES_SQL["dates"], parts)
    soonest, soonest_params = _compose(_DATES_SQL["soonest"], parts)
    rows = (
        Agreement.objects.filter(RawSQL(where, where_params, output_field=BooleanField()))  # noqa: S611
        .select_related("trio__collaboratory")
        .order_by(RawSQL(soonest, soonest_params).asc(), "reference")[:DATES_LIMIT]  # noqa: S611
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


# Each branch takes its newest {limit} rows, so neither sorts more than it must. The
# statement starts with SELECT: pghistory adds its context to any other (a parenthesised
# UNION would be taken for a write).
_ACTIVITY = (
    "SELECT at, kind, agreement_id, reference, title, first, last, a, b FROM ("
    "(SELECT t.at, 'transition' AS kind, t.agreement_id, ag.reference, ag.title, "
    "COALESCE(u.first_name, '') AS first, COALESCE(u.last_name, '') AS last, "
    "t.from_status AS a, t.to_status AS b "
    "FROM agreements_transition t JOIN agreements_agreement ag ON ag.id = t.agreement_id "
    "LEFT JOIN auth_user u ON u.id = t.by_id "
    "WHERE ag.trio_id IN ({visible}) ORDER BY t.at DESC LIMIT {limit}) "
    "UNION ALL "
    "(SELECT o.created_at, 'proposal', o.agreement_id, ag.reference, ag.title, org.name, '', "
    "o.kind, "
    # The clause as the document names it, never its key: an inserted clause by its heading;
    # a changed one by the standard's label and heading ("7. Data security"), or, for a
    # clause inserted earlier, by that insertion's heading.
    "CASE WHEN o.kind = {insert} THEN o.heading ELSE COALESCE("
    "(SELECT TRIM(COALESCE(c.number, '') || ' ' || COALESCE(c.heading, '')) "
    "FROM agreements_clause c WHERE c.version_id = ag.template_version_id "
    "AND c.key = o.clause_key), "
    "(SELECT i.heading FROM agreements_clauseoverride i WHERE i.agreement_id = o.agreement_id "
    "AND i.kind = {insert} AND i.new_key = o.clause_key ORDER BY i.created_at DESC LIMIT 1), "
    "o.heading) END "
    "FROM agreements_clauseoverride o JOIN agreements_agreement ag ON ag.id = o.agreement_id "
    "JOIN partners_organisation org ON org.id = o.organisation_id "
    "WHERE ag.trio_id IN ({visible}) ORDER BY o.created_at DESC LIMIT {limit})"
    ") AS events ORDER BY at DESC LIMIT {limit}"
)


def recent_activity(user: AnyUser, *, limit: int = ACTIVITY_LIMIT) -> list[ActivityItem]:
    """Lifecycle steps and proposals across the user's visible agreements, newest first
    (one query)."""
    signed_in = _signed_in(user)
    if signed_in is None:
        return []
    sql, params = _compose(
        _ACTIVITY,
        {
            "visible": _scope(signed_in).visible_trios,
            "limit": _value(limit),
            "insert": _value("insert"),
        },
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
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
