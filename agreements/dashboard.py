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
(``access_sql``): each section reads a few rows, and building the equivalent nested querysets
cost the ORM more Python on every request than PostgreSQL spent answering them.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Count,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.expressions import RawSQL
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.safestring import SafeString

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
from collaboratory.prepared import fetch_rows, prepared_rows
from collaboratory.safe_html import html_format
from partners.models import Role, Trio, TrioMember
from partners.selectors import AnyUser, User, memberships_of, trios_visible_to

#: How far back an overdue destruction deadline stays on the dashboard.
OVERDUE_WINDOW_DAYS = 365
WAITING_LIMIT = 50
DATES_LIMIT = 30
ACTIVITY_LIMIT = 12


# --- The user's access rule as SQL ----------------------------------------------------------

#: A piece of SQL and its parameters.
type Sql = tuple[str, tuple[Any, ...]]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def compose_sql(
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


def sql_value(value: object) -> Sql:
    return "%s", (value,)


def sql_constant(*values: str) -> Sql:
    """Choices of this code (statuses) written into the statement itself, not passed as
    parameters: a partial index on ``status = 'active'`` serves only a statement whose
    condition says so in its text, and so does the plan PostgreSQL keeps for a prepared
    statement (collaboratory.prepared). Never a value a request supplies."""
    for value in values:
        if not re.fullmatch(r"[a-z_]+", value):
            raise ValueError(f"not a constant of this code: {value!r}")
    if len(values) == 1:
        return f"'{values[0]}'", ()
    return "ARRAY[" + ",".join(f"'{value}'" for value in values) + "]", ()


def _subquery(queryset: QuerySet) -> Sql:
    sql, params = queryset.order_by().query.sql_with_params()
    return sql, tuple(params)


@dataclass(frozen=True)
class AccessSql:
    """One user's access rule as SQL the dashboard's statements embed (``compose_sql``), the
    consent section's too: the ids of the trios they may see, an array
    (``partners.selectors.trios_visible_to``; an agreement is visible when its trio is, as
    ``agreements_visible_to`` says, so ``trio_id = ANY({visible})``), the
    organisations they act for (``agreements.access.acting_organisations``), and their
    memberships, ``(organisation id, role)`` rows (``partners.selectors.memberships_of``)."""

    visible_trios: Sql
    acting: Sql
    memberships: Sql


_ACCESS_SQL: dict[tuple[int, bool, bool], AccessSql] = {}


def access_key(user: User) -> tuple[int, bool, bool]:
    """What ``user``'s access rule as SQL depends on (``access_sql``): their id and the two
    flags the rule branches on. Statements compiled once per user key on it
    (``collaboratory.prepared``)."""
    return (user.pk, user.is_active, user.is_superuser)


def access_sql(user: User) -> AccessSql:
    """``user``'s ``AccessSql``. Building the rule's querysets costs the ORM milliseconds on
    every request, while their SQL depends only on who asks: the user's id and the two flags
    the rule branches on (active, superuser). So it is compiled once per process for each
    such key and can never be stale: the rule's data (memberships, facilitators) is read by
    the SQL on every request."""
    key = access_key(user)
    scope = _ACCESS_SQL.get(key)
    if scope is None:
        if len(_ACCESS_SQL) >= 4096:
            _ACCESS_SQL.clear()
        visible, params = _subquery(trios_visible_to(user).values("id"))
        scope = _ACCESS_SQL[key] = AccessSql(
            # An array, evaluated once per statement: PostgreSQL cannot estimate the rule's
            # OR of subqueries (it guesses most trios) and would then read every agreement
            # of a status instead of the visible trios' through the (trio, status) index.
            visible_trios=(f"ARRAY({visible})", params),
            acting=_subquery(acting_organisations(user)),
            memberships=_subquery(memberships_of(user).values_list("organisation_id", "role")),
        )
    return scope


#: The columns ``visible_agreements_condition`` may test: constant SQL, never user input.
_AGREEMENT_ID_COLUMNS = frozenset(
    {'"agreements_agreement"."id"', '"agreements_destructionduty"."agreement_id"'}
)


def visible_agreements_condition(user: User, column: str) -> RawSQL:
    """``column`` (an agreement id) names an agreement ``user`` may see, as a filter built
    from the cached ``access_sql``: the ORM's ``agreements_visible_to`` costs milliseconds to
    compile and plan on every request, which the dashboard's panels pay each time."""
    if column not in _AGREEMENT_ID_COLUMNS:
        raise ValueError(f"Not an agreement id column the dashboard knows: {column!r}")
    visible = access_sql(user).visible_trios
    if column == '"agreements_agreement"."id"':
        # On the agreement's own row the rule is its trio: a condition on the row itself, so
        # PostgreSQL reads the visible trios' rows through the (trio, status, ...) index
        # instead of testing every agreement of a status and joining the rule in afterwards.
        sql, params = compose_sql(
            '"agreements_agreement"."trio_id" = ANY({visible})', {"visible": visible}
        )
    else:
        sql, params = compose_sql(
            "{column} IN (SELECT a.id FROM agreements_agreement a"
            " WHERE a.trio_id = ANY({visible}))",
            {"column": (column, ()), "visible": visible},
        )
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 - composed SQL


def signed_in(user: AnyUser) -> User | None:
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


@functools.lru_cache(maxsize=64)
def _reversed(name: str, samples: tuple[str, ...], script_prefix: str) -> str:
    return reverse(name, args=samples)


def link(name: str, *args: uuid.UUID | str) -> str:
    """``reverse(name, args=args)`` for arguments a URL carries as they are (UUIDs, slugs):
    the resolver reverses ``name`` once per process with sample arguments, and each link
    puts its own in their place. The dashboard shows a hundred links; reversing each cost
    more than rendering the rest of the page."""
    samples = tuple(
        str(uuid.UUID(int=n + 1)) if isinstance(arg, uuid.UUID) else f"zz{n}sample"
        for n, arg in enumerate(args)
    )
    path = _reversed(name, samples, get_script_prefix())
    for sample, arg in zip(samples, args, strict=True):
        path = path.replace(sample, str(arg), 1)
    return path


def _month(number: int) -> str:
    """The month's abbreviation as the date filter's "M" writes it ("Feb")."""
    return str(MONTHS_3[number]).title()


# --- What needs me ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingItem:
    """One thing the user can do now, with the page that does it."""

    agreement: Agreement
    action: str  # approve, sign, answer, review, draft
    label: str
    url: str

    @property
    def agreement_url(self) -> str:
        return link("agreement-detail", self.agreement.pk)


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
#: request (``compose_sql``). The correlated subqueries follow ``agreements.access``'s
#: ``acting_party_rows`` (the row's parties the user acts for in a role).
_WAITING_SQL = {
    "legal_parties_of_row": (
        "FROM partners_triomember tm WHERE tm.trio_id = agreements_agreement.trio_id "
        "AND tm.organisation_id = ANY({legal})"
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
        "AND tm.organisation_id = ANY({signatory}) AND tm.organisation_id NOT IN "
        "(SELECT sg.organisation_id FROM agreements_signature sg "
        "WHERE sg.agreement_id = agreements_agreement.id))"
    ),
    # Another party's proposals (from no organisation the user acts for) that no legal team
    # the user belongs to has answered, and who proposed them.
    "unanswered_proposals": (
        "FROM agreements_clauseoverride o WHERE o.agreement_id = agreements_agreement.id "
        "AND o.status = {proposed} AND o.organisation_id <> ALL({acting}) AND NOT EXISTS "
        "(SELECT 1 FROM agreements_overrideresponse r WHERE r.override_id = o.id "
        "AND r.organisation_id = ANY({legal}))"
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
    "can_wait": "{legal_can_wait} UNION {signatory_can_wait} UNION {draft_can_wait}",
    "legal_can_wait": (
        "SELECT a.id FROM partners_triomember tm JOIN agreements_agreement a "
        "ON a.trio_id = tm.trio_id AND a.status = ANY({legal_statuses}) "
        "WHERE tm.organisation_id = ANY({legal})"
    ),
    "signatory_can_wait": (
        "SELECT a.id FROM partners_triomember tm JOIN agreements_agreement a "
        "ON a.trio_id = tm.trio_id AND a.status = {signing} "
        "WHERE tm.organisation_id = ANY({signatory})"
    ),
    "draft_can_wait": (
        "SELECT a.id FROM agreements_agreement a "
        "WHERE a.created_by_id = {user} AND a.status = {draft}"
    ),
    "waiting": (
        "agreements_agreement.id IN ({can_wait}) "
        "AND agreements_agreement.trio_id = ANY({visible}) AND ("
        "(agreements_agreement.status = {in_review} AND {needs_approval}) "
        "OR (agreements_agreement.status = {signing} AND {needs_signature}) "
        "OR (agreements_agreement.status = {negotiating} AND {is_legal} AND {unanswered} > 0) "
        "OR {review_due} "
        "OR (agreements_agreement.status = {draft} "
        "AND agreements_agreement.created_by_id = {user}))"
    ),
}

#: What "what needs me" asks of someone who is no party's legal team / signatory: nothing,
#: so PostgreSQL has no subquery to plan for it.
_NOTHING = "SELECT NULL::uuid WHERE false"
_NOT_LEGAL = {
    "is_legal": "false",
    "legal_parties": "ARRAY[]::integer[]",
    "needs_approval": "false",
    "unanswered": "0",
    "proposers": "ARRAY[]::text[]",
    "review_due": "false",
    "legal_can_wait": _NOTHING,
}
_NOT_SIGNATORY = {"needs_signature": "false", "signatory_can_wait": _NOTHING}


@dataclass(frozen=True)
class _Acting:
    """The organisations a user acts for (``agreements.access.acting_organisations``), in any
    role, as legal team and as signatory: their memberships read once (one query), then
    asked in memory, as ``agreements.access.roles_by_party`` does for one agreement."""

    any: list[int]
    legal: list[int]
    signatory: list[int]


def _acting(user: User) -> _Acting:
    sql, params = access_sql(user).memberships
    held = fetch_rows(sql, params)
    return _Acting(
        any=sorted({organisation for organisation, _ in held}),
        legal=sorted({organisation for organisation, role in held if role == Role.LEGAL}),
        signatory=sorted({organisation for organisation, role in held if role == Role.SIGNATORY}),
    )


def _with_texts(agreement_ids: list[Any]) -> dict[Any, Agreement]:
    """The agreements ``agreement_ids`` with their texts and reviews (one query; none for no
    ids), for ``unreviewed_deviations``."""
    if not agreement_ids:
        return {}
    rows = with_json_prefetch(
        Agreement.objects.filter(pk__in=agreement_ids).select_related(
            "trio__collaboratory", "template_version__template"
        ),
        *TEXT_PREFETCHES,
        REVIEWS_PREFETCH,
    )
    return {agreement.pk: agreement for agreement in rows}


def waiting_for(user: AnyUser) -> list[WaitingItem]:
    """Items waiting for ``user``'s action, oldest first (the user's memberships, then one
    query; one more for the texts when a change may wait for their review):

    * approve: in review, the user is legal of a party that has not approved the text;
    * sign: signing, the user is signatory of a party that has not signed;
    * answer: negotiating, another party's proposal the user's legal team has not answered;
    * review: a deviation from the standard that the user's legal team has not reviewed in
      its current text (as the review page counts, from the texts of only these agreements);
    * draft: a draft the user started, waiting to be completed and opened for negotiation.
    """
    person = signed_in(user)
    if person is None:
        return []
    acting = _acting(person)
    fragments = {
        **_WAITING_SQL,
        **({} if acting.legal else _NOT_LEGAL),
        **({} if acting.signatory else _NOT_SIGNATORY),
    }
    parts: dict[str, Sql] = {
        "visible": access_sql(person).visible_trios,
        "acting": sql_value(acting.any),
        "legal": sql_value(acting.legal),
        "signatory": sql_value(acting.signatory),
        "user": sql_value(person.pk),
        "draft": sql_value(Status.DRAFT),
        "negotiating": sql_value(Status.NEGOTIATING),
        "in_review": sql_value(Status.IN_REVIEW),
        "signing": sql_value(Status.SIGNING),
        "reviewable": sql_value(list(REVIEWABLE)),
        "legal_statuses": sql_value(sorted({*REVIEWABLE, Status.NEGOTIATING, Status.IN_REVIEW})),
        "proposed": sql_value(OverrideStatus.PROPOSED),
        "accepted": sql_value(OverrideStatus.ACCEPTED),
    }

    def raw(fragment: str, output_field: Any = None) -> RawSQL:
        sql, params = compose_sql(fragments[fragment], parts, fragments)
        return RawSQL(sql, params, output_field=output_field)  # noqa: S611 - composed, see compose_sql

    boolean = BooleanField()

    def build(*_key: object) -> QuerySet[Any]:  # annotated rows
        return (
            Agreement.objects.filter(raw("waiting", boolean))
            .select_related("trio__collaboratory", "template_version__template")
            .annotate(
                is_legal=raw("is_legal", boolean),
                legal_parties=raw("legal_parties"),
                needs_approval=raw("needs_approval", boolean),
                needs_signature=raw("needs_signature", boolean),
                unanswered=raw("unanswered"),
                # Who proposed them, so the item says whose proposals wait for the user's
                # answer.
                proposers=raw("proposers"),
                review_due=raw("review_due", boolean),
            )
            .order_by("status_changed_at", "reference")[:WAITING_LIMIT]
        )

    # Compiled once per user and the organisations they act for (collaboratory.prepared).
    rows = prepared_rows(
        "dashboard-waiting",
        build,
        *access_key(person),
        tuple(acting.any),
        tuple(acting.legal),
        tuple(acting.signatory),
    )
    # The texts travel in their own query, only for the agreements whose changes may wait
    # for the user's review: planning their subqueries cost more than the rest of the query.
    texts = _with_texts([agreement.pk for agreement in rows if agreement.review_due])
    items: list[WaitingItem] = []
    for agreement in rows:
        detail = link("agreement-detail", agreement.pk)
        if agreement.status == Status.SIGNING and agreement.needs_signature:
            items.append(
                WaitingItem(
                    agreement,
                    "sign",
                    "Sign for your organisation",
                    link("agreement-sign", agreement.pk),
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
            n = len(unreviewed_deviations(texts[agreement.pk], agreement.legal_parties))
            if n:
                items.append(
                    WaitingItem(
                        agreement,
                        "review",
                        f"Review {n} changed clause{'s' if n != 1 else ''}",
                        link("agreement-reviews", agreement.pk),
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
    def url(self) -> str:
        return link("agreement-detail", self.agreement.pk)

    @property
    def day_text(self) -> str:
        """As the |date:"j M Y" filter writes it (1 Feb 2027), for less than its cost."""
        return f"{self.day.day} {_month(self.day.month)} {self.day.year}"

    @property
    def ground(self) -> str:
        """For an end: "terminated for convenience"."""
        return termination.ground_phrase(self.agreement.termination_ground)

    @property
    def html(self) -> SafeString:
        """The row of the "Coming up" list. Built here rather than in the template: a
        portfolio shows up to DATES_LIMIT rows, and the template language spends ~5 us on
        each variable and tag, ~0.1 ms a row; this is one lookup."""
        agreement = self.agreement
        if self.overdue:
            css = "ws-item ws-item--overdue"
            days = self.days_overdue
            meta = html_format(
                "<strong>Overdue by {} day{}</strong> — confirm every recipient destroyed the data",
                days,
                "" if days == 1 else "s",
            )
        else:
            css = "ws-item ws-item--soon" if self.window == 7 else "ws-item"
            days = self.days_left
            meta = (
                html_format("Today")
                if days == 0
                else html_format(
                    "In {} day{} (within {})", days, "" if days == 1 else "s", self.window
                )
            )
        ending = (
            html_format(' <span class="status-ending">({})</span>', self.ground)
            if self.kind == "end"
            else ""
        )
        return html_format(
            '<li class="{}"><a class="ws-item__action" href="{}">{} '
            '<time datetime="{}">{}</time></a> '
            '<span class="ws-item__what">{} {}{}</span> '
            '<span class="ws-item__meta">{}</span></li>',
            css,
            self.url,
            _DATE_ACTIONS[self.kind],
            self.day.isoformat(),
            self.day_text,
            agreement.reference,
            agreement.title,
            ending,
            meta,
        )


_DATE_ACTIONS = {"expiry": "Expires", "end": "Ends", "destruction": "Destroy the data by"}


#: What a "Coming up" row reads of its agreement: its dates (agreements.terms) and names.
_DATES_FIELDS = (
    "reference",
    "title",
    "status",
    "expires_on",
    "ends_on",
    "retention_days",
    "destruction_date",
    "termination_ground",
)

#: "Coming up" (``compose_sql``): ``{end}`` and ``{deadline}`` are ``agreements.terms``'s.
_DATES_SQL = {
    "dates": (
        "agreements_agreement.trio_id = ANY({visible}) AND ("
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


def coming_up_queryset(person: User, today: dt.date) -> QuerySet[Agreement]:
    """The statement behind :func:`coming_up` (built once per user and day)."""
    parts: dict[str, Sql] = {
        **_terms_sql(),
        "visible": access_sql(person).visible_trios,
        # In the text: the partial indexes on each status serve the kept plan too.
        "active": sql_constant(Status.ACTIVE),
        "ended": sql_constant(Status.EXPIRED, Status.TERMINATED),
        "today": sql_value(today),
        "horizon": sql_value(today + dt.timedelta(days=max(REMINDER_DAYS))),
        "overdue_from": sql_value(today - dt.timedelta(days=OVERDUE_WINDOW_DAYS)),
    }
    where, where_params = compose_sql(_DATES_SQL["dates"], parts)
    soonest, soonest_params = compose_sql(_DATES_SQL["soonest"], parts)
    condition = RawSQL(where, where_params, output_field=BooleanField())  # noqa: S611
    order = RawSQL(soonest, soonest_params)  # noqa: S611
    return (
        Agreement.objects.filter(condition)
        .only(*_DATES_FIELDS)
        .order_by(order.asc(), "reference")[:DATES_LIMIT]
    )


def coming_up(user: AnyUser, *, today: dt.date | None = None) -> list[DateItem]:
    """Active agreements ending within 90 days (at their expiry, or earlier where notice of
    termination was given: ``agreements.terms.end_date``), and destruction deadlines of
    ended agreements (agreed, or derived from the actual end and retention) due within 90
    days or passed in the last year, soonest first (one query)."""
    person = signed_in(user)
    if person is None:
        return []
    today = today or timezone.localdate()

    def build(*_key: object) -> QuerySet[Agreement]:
        return coming_up_queryset(person, today)

    # Compiled once per user and day (collaboratory.prepared).
    rows = prepared_rows("dashboard-dates", build, *access_key(person), today)
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
    agreement_id: uuid.UUID
    reference: str
    title: str
    actor: str
    what: str

    @property
    def url(self) -> str:
        return link("agreement-detail", self.agreement_id)

    @property
    def at_iso(self) -> str:
        """As the |date:"c" filter writes it, in the current time zone."""
        return timezone.localtime(self.at).isoformat()

    @property
    def at_text(self) -> str:
        """As the |date:"j M Y, H:i" filter writes it, in the current time zone."""
        at = timezone.localtime(self.at)
        return f"{at.day} {_month(at.month)} {at.year}, {at.hour:02d}:{at.minute:02d}"


# Each branch takes its newest {limit} events (time and id only), then the newest {limit} of
# these get their names: nothing is read or named for the events not shown. The statement
# starts with SELECT: pghistory adds its context to any other (a parenthesised UNION would
# be taken for a write).
_ACTIVITY = (
    "SELECT e.at, e.kind, e.agreement_id, ag.reference, ag.title, "
    "CASE WHEN e.kind = 'transition' THEN COALESCE(u.first_name, '') ELSE org.name END, "
    "CASE WHEN e.kind = 'transition' THEN COALESCE(u.last_name, '') ELSE '' END, "
    "CASE WHEN e.kind = 'transition' THEN t.from_status ELSE o.kind END, "
    "CASE WHEN e.kind = 'transition' THEN t.to_status WHEN o.kind = {insert} THEN o.heading "
    # The clause as the document names it, never its key: an inserted clause by its heading;
    # a changed one by the standard's label and heading ("7. Data security"), or, for a
    # clause inserted earlier, by that insertion's heading.
    "ELSE COALESCE("
    "(SELECT TRIM(COALESCE(c.number, '') || ' ' || COALESCE(c.heading, '')) "
    "FROM agreements_clause c WHERE c.version_id = ag.template_version_id "
    "AND c.key = o.clause_key), "
    "(SELECT i.heading FROM agreements_clauseoverride i WHERE i.agreement_id = o.agreement_id "
    "AND i.kind = {insert} AND i.new_key = o.clause_key ORDER BY i.created_at DESC LIMIT 1), "
    "o.heading) END "
    "FROM ("
    "(SELECT t.at, 'transition' AS kind, t.id, t.agreement_id "
    "FROM agreements_transition t JOIN agreements_agreement ag ON ag.id = t.agreement_id "
    "WHERE ag.trio_id = ANY({visible}) ORDER BY t.at DESC LIMIT {limit}) "
    "UNION ALL "
    "(SELECT o.created_at, 'proposal', o.id, o.agreement_id "
    "FROM agreements_clauseoverride o JOIN agreements_agreement ag ON ag.id = o.agreement_id "
    "WHERE ag.trio_id = ANY({visible}) ORDER BY o.created_at DESC LIMIT {limit}) "
    "ORDER BY at DESC LIMIT {limit}) AS e "
    "JOIN agreements_agreement ag ON ag.id = e.agreement_id "
    "LEFT JOIN agreements_transition t ON e.kind = 'transition' AND t.id = e.id "
    "LEFT JOIN auth_user u ON u.id = t.by_id "
    "LEFT JOIN agreements_clauseoverride o ON e.kind = 'proposal' AND o.id = e.id "
    "LEFT JOIN partners_organisation org ON org.id = o.organisation_id "
    "ORDER BY e.at DESC"
)


def recent_activity(user: AnyUser, *, limit: int = ACTIVITY_LIMIT) -> list[ActivityItem]:
    """Lifecycle steps and proposals across the user's visible agreements, newest first
    (one query)."""
    person = signed_in(user)
    if person is None:
        return []
    sql, params = compose_sql(
        _ACTIVITY,
        {
            "visible": access_sql(person).visible_trios,
            "limit": sql_value(limit),
            "insert": sql_value("insert"),
        },
    )
    # Prepared on the server: planning it was 0.8 ms of every dashboard, running it 0.5 ms.
    rows = fetch_rows(sql, params)
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
        if not isinstance(agreement_id, uuid.UUID):
            agreement_id = uuid.UUID(str(agreement_id))
        items.append(ActivityItem(at, kind, agreement_id, ref, title, actor, what))
    return items


# --- Partnerships -------------------------------------------------------------------------------


#: A trio's members with their organisations travel with the trio (json_prefetch).
TRIO_MEMBERS = JsonPrefetch(
    "members",
    TrioMember.objects.filter(trio=OuterRef("pk")).order_by("role"),
    select=("organisation",),
)


class _CountedPaginator(Paginator):
    """A paginator told its count, which came with the page's own rows."""

    def __init__(self, per_page: int, count: int) -> None:
        super().__init__([], per_page)
        self.__dict__["count"] = count


@dataclass(frozen=True)
class PartnershipCard:
    """A trio on the dashboard, with the links to its page and its members'."""

    trio: Trio
    url: str
    members: list[tuple[TrioMember, str]]


def partnership_cards(trios: Iterable[Trio]) -> list[PartnershipCard]:
    return [
        PartnershipCard(
            trio=trio,
            url=link("trio-detail", trio.collaboratory.slug, trio.slug),
            members=[
                (member, link("organisation-detail", member.organisation.slug))
                for member in trio.members.all()
            ],
        )
        for trio in trios
    ]


def partnerships_page(user: AnyUser, number: str | None, *, per_page: int) -> Page:
    """Page ``number`` (as ``Paginator.get_page`` reads it) of the trios ``user`` may see,
    in ``partners.selectors.trio_list_for_user``'s order, with their members and the
    number of all of them: one query (three for a page number that is not a page)."""
    person = signed_in(user)
    if person is None:
        return Paginator(Trio.objects.none(), per_page).get_page(number)
    where, params = compose_sql(
        "partners_trio.id = ANY({visible})", {"visible": access_sql(person).visible_trios}
    )
    trios = (
        Trio.objects.filter(RawSQL(where, params, output_field=BooleanField()))  # noqa: S611
        .select_related("collaboratory")
        .order_by("collaboratory__name", "name")
    )
    try:
        wanted = int(number) if number is not None else 1
    except ValueError:
        wanted = 1
    if wanted >= 1:

        def build(*_key: object) -> QuerySet[Any]:  # annotated rows
            return with_json_prefetch(trios.annotate(total=Window(Count("*"))), TRIO_MEMBERS)[
                (wanted - 1) * per_page : wanted * per_page
            ]

        # Compiled once per user and page (collaboratory.prepared).
        rows = prepared_rows("dashboard-partnerships", build, *access_key(person), wanted, per_page)
        if rows or wanted == 1:
            paginator = _CountedPaginator(per_page, rows[0].total if rows else 0)
            return Page(rows, wanted, paginator)
    # Past the last page or below the first: the paginator's own answer (the last page).
    return Paginator(with_json_prefetch(trios, TRIO_MEMBERS), per_page).get_page(number)


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
