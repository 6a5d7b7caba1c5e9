"""Discussions on clauses: a thread starts on a clause (or a quoted passage of it), takes
replies, is resolved and reopened. Not part of the agreement's text: nothing here changes the
consolidated text, its hash or anyone's approval.

A thread is visible to every party (``CommentVisibility.PARTIES``) or only to the author's
organisation (``INTERNAL``, an internal note); replies take the visibility of the comment that
started the thread. An internal note never reaches another organisation: every read goes through
``visible_comments`` (or ``comment_is_visible`` for rows that are not a queryset, such as history
events), and a mention of someone who could not read the note is refused.

Who may write: a person who acts for a party of the agreement (``agreements.access``); people
who only see the agreement (facilitators) read the shared threads. @mentioning someone notifies
them (``agreements.notifications``, e-mailed after commit).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet
from django.utils import timezone

from agreements import parameters
from agreements.access import User, acting_memberships, acting_parties, acting_party
from agreements.models import Agreement, ClauseComment, CommentVisibility
from agreements.notifications import notify
from agreements.selectors import consolidated_text, placeholder_values
from agreements.text.consolidation import ConsolidatedClause
from agreements.text.entry import normalise_plain_text
from agreements.text.placeholders import PlaceholderValue
from agreements.text.titles import clause_title
from collaboratory.errors import DomainError
from collaboratory.json_prefetch import JsonPrefetch
from collaboratory.prepared import shaped_rows
from partners.models import Membership

#: "@username" where a mention starts: not inside a word or an e-mail address.
MENTION = re.compile(r"(?<![\w.@])@([\w.+-]+)")
MAX_BODY = 5000
MAX_QUOTE = 2000


# --- reads ----------------------------------------------------------------------------------


def comment_is_visible(
    *, visibility: str, organisation_id: int | None, viewer_organisations: Collection[int]
) -> bool:
    """The visibility rule on plain values (a history event's row data, an export's rows):
    a shared comment is visible to whoever sees the agreement; an internal note only to the
    people who act for the author's organisation."""
    return visibility != CommentVisibility.INTERNAL or organisation_id in viewer_organisations


def visible_comment_filter(viewer_organisations: Iterable[int]) -> Q:
    """``comment_is_visible`` in SQL, for a queryset of ``ClauseComment``."""
    return ~Q(visibility=CommentVisibility.INTERNAL) | Q(
        organisation_id__in=list(viewer_organisations)
    )


def viewer_organisations(agreement: Agreement, user: User) -> list[int]:
    """The parties of ``agreement`` whose internal notes ``user`` reads: those they act for."""
    return acting_parties(user, agreement)


def visible_comments(agreement: Agreement, user: User) -> QuerySet[ClauseComment]:
    """Every comment on ``agreement`` that ``user`` may read, oldest first, with author,
    organisation, who resolved it and the people mentioned. The caller has already found the
    agreement through the access rule (``agreements_visible_to``)."""
    return (
        ClauseComment.objects.filter(agreement=agreement)
        .filter(visible_comment_filter(viewer_organisations(agreement, user)))
        .select_related("organisation", "author", "resolved_by")
        .prefetch_related("mentions")
        .order_by("created_at", "id")
    )


#: The agreement page's comments, travelling with the agreement row (no query of their own);
#: filter them with ``visible_among`` before showing any.
DISCUSSIONS = JsonPrefetch(
    "comments",
    ClauseComment.objects.filter(agreement=OuterRef("pk")).order_by("created_at", "id"),
    select=("organisation", "author", "resolved_by"),
)


def visible_among(
    comments: Iterable[ClauseComment], viewer_organisations: Collection[int]
) -> list[ClauseComment]:
    """``comments`` (all of one agreement, loaded with ``DISCUSSIONS``) that a person acting
    for ``viewer_organisations`` may read."""
    return [
        c
        for c in comments
        if comment_is_visible(
            visibility=c.visibility,
            organisation_id=c.organisation_id,
            viewer_organisations=viewer_organisations,
        )
    ]


@dataclass
class Thread:
    """A discussion: the comment that started it and its replies, oldest first."""

    start: ClauseComment
    replies: list[ClauseComment] = field(default_factory=list)

    @property
    def internal(self) -> bool:
        return self.start.visibility == CommentVisibility.INTERNAL

    @property
    def resolved(self) -> bool:
        return self.start.resolved_at is not None


def threads_by_clause(comments: Iterable[ClauseComment]) -> dict[str, list[Thread]]:
    """Comments (already filtered by ``visible_comments``) as threads per clause key. A reply
    whose start is not among them is dropped (it cannot happen through the services)."""
    threads: dict[int, Thread] = {}
    by_clause: dict[str, list[Thread]] = {}
    replies: list[ClauseComment] = []
    for comment in comments:
        if comment.parent_id is None:
            thread = threads[comment.pk] = Thread(start=comment)
            by_clause.setdefault(comment.clause_key, []).append(thread)
        else:
            replies.append(comment)
    # The services hang every reply off the start of its thread.
    for reply in replies:
        if reply.parent_id in threads:
            threads[reply.parent_id].replies.append(reply)
    return by_clause


def mentionable_people(agreement: Agreement, *, organisation_id: int | None = None) -> list:
    """The people who may be @mentioned: those who act for a party of ``agreement`` (only for
    ``organisation_id`` when given, as for an internal note), by name."""
    memberships = acting_memberships(
        agreement, organisation_ids=[organisation_id] if organisation_id is not None else None
    )
    return list(
        get_user_model()
        .objects.filter(pk__in=memberships.values("user_id"))
        .order_by("first_name", "last_name", "username")
    )


# --- writes ---------------------------------------------------------------------------------


def _clause(agreement: Agreement, clause_key: str) -> ConsolidatedClause:
    clause = consolidated_text(agreement).clause(clause_key)
    if clause is None:
        raise DomainError({"clause_key": f"There is no clause “{clause_key}” in this agreement."})
    return clause


def filled_text(text: str, values: Mapping[str, PlaceholderValue | None]) -> str:
    """``text`` as a reader sees it: each ``[[parameter]]`` with a value reads as the value
    ("72"), one without stays as written."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return parameters.filled(match.group(1), value) if value not in (None, "") else match[0]

    return re.sub(r"\[\[(\w+)\]\]", fill, text)


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def _check_quote(agreement: Agreement, clause: ConsolidatedClause, quote: str) -> None:
    """A quoted passage must be words of the clause, as stored or as the page shows its terms
    (``[[breach_notice_hours]]`` read as "72")."""
    if len(quote) > MAX_QUOTE:
        raise DomainError({"quote": f"Quote at most {MAX_QUOTE} characters of the clause."})
    filled = filled_text(clause.body, placeholder_values(agreement))
    if not any(_flat(quote) in _flat(text) for text in (clause.body, filled)):
        message = f"The quoted passage is not in {clause_title(clause)}: copy the words from it."
        raise DomainError({"quote": message})


def _mentions(
    agreement: Agreement,
    *,
    body: str,
    chosen: Iterable[int],
    organisation_id: int,
    visibility: str,
) -> list:
    """The people ``body`` @mentions plus those ``chosen`` from the list, each of whom must act
    for a party of the agreement and, for an internal note, for the author's organisation."""
    people = {u.pk: u for u in mentionable_people(agreement)}
    by_username = {u.get_username().casefold(): u for u in people.values()}
    found: dict[int, object] = {}
    unknown = []
    for name in MENTION.findall(body):
        name = name.rstrip(".-")
        user = by_username.get(name.casefold())
        if user is None:
            unknown.append(f"@{name}")
        else:
            found[user.pk] = user
    for user_id in chosen:
        if user_id not in people:
            unknown.append("the person chosen")
        else:
            found[user_id] = people[user_id]
    if unknown:
        raise DomainError(
            {
                "mentions": f"{', '.join(dict.fromkeys(unknown))}: no one by that name works for a "
                "party of this agreement. Mention people by their user name, as the list shows."
            }
        )
    if visibility == CommentVisibility.INTERNAL and found:
        own = {u.pk for u in mentionable_people(agreement, organisation_id=organisation_id)}
        outside = [u for pk, u in found.items() if pk not in own]
        if outside:
            names = ", ".join(_name(u) for u in outside)
            raise DomainError(
                {
                    "mentions": f"{names} cannot see this internal note: only your organisation "
                    "sees it. Remove the mention, or make the comment visible to all parties."
                },
                code="mention_cannot_see",
            )
    return list(found.values())


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _notify_mentions(comment: ClauseComment, mentioned: list, *, by: User, clause: str) -> None:
    if not mentioned:
        return
    notify(
        "mentioned",
        comment.agreement,
        actor=by,
        user_ids=[u.pk for u in mentioned],
        fragment=f"comment-{comment.pk}",
        author=_name(by),
        org=comment.organisation.name,
        clause=clause,
        body=comment.body,
        internal=comment.visibility == CommentVisibility.INTERNAL,
    )


def _clean_body(body: str) -> str:
    body = normalise_plain_text(body).strip()
    if not body:
        raise DomainError({"body": "Write your comment."})
    if len(body) > MAX_BODY:
        raise DomainError({"body": f"Keep the comment under {MAX_BODY} characters."})
    return body


@transaction.atomic
def discussion_start(
    *,
    agreement: Agreement,
    by: User,
    clause_key: str,
    body: str,
    quote: str = "",
    visibility: str = CommentVisibility.PARTIES,
    mention_ids: Iterable[int] = (),
) -> ClauseComment:
    """Start a discussion on a clause of the agreement's consolidated text (any status: a
    signed agreement still takes notes for its renewal), optionally on a quoted passage of it,
    for all parties or as an internal note; notify the people @mentioned."""
    organisation_id = acting_party(by, agreement, action="discuss this agreement")
    clause = _clause(agreement, clause_key)
    body = _clean_body(body)
    quote = normalise_plain_text(quote).strip()
    if quote:
        _check_quote(agreement, clause, quote)
    if visibility not in CommentVisibility.values:
        raise DomainError({"visibility": "Choose who sees the comment."})
    mentioned = _mentions(
        agreement,
        body=body,
        chosen=mention_ids,
        organisation_id=organisation_id,
        visibility=visibility,
    )
    comment = ClauseComment(
        agreement=agreement,
        clause_key=clause_key,
        organisation_id=organisation_id,
        author=by,
        body=body,
        quote=quote,
        visibility=visibility,
    )
    comment.full_clean()
    comment.save()
    comment.mentions.set(mentioned)
    _notify_mentions(comment, mentioned, by=by, clause=clause_title(clause))
    return comment


def _thread_start(comment: ClauseComment, by: User) -> tuple[ClauseComment, int]:
    """The start of ``comment``'s thread, locked, refused (as if absent) to someone who cannot
    read it, and the party ``by`` acts for. Replies always hang off the start."""
    agreement = comment.agreement
    organisation_id = acting_party(by, agreement, action="discuss this agreement")
    # Read (and lock) the start afresh: the caller's copy may be stale.
    start = (
        ClauseComment.objects.select_for_update(of=("self",))
        .select_related("organisation", "agreement")
        .get(pk=comment.parent_id or comment.pk)
    )
    if not comment_is_visible(
        visibility=start.visibility,
        organisation_id=start.organisation_id,
        viewer_organisations=acting_parties(by, agreement),
    ):
        raise DomainError("There is no such discussion on this agreement.", code="not_found")
    return start, organisation_id


@transaction.atomic
def discussion_reply(
    *, comment: ClauseComment, by: User, body: str, mention_ids: Iterable[int] = ()
) -> ClauseComment:
    """Answer a discussion. The reply is seen by whoever sees the discussion (an internal
    note's replies stay internal); replying to a resolved discussion reopens it."""
    start, organisation_id = _thread_start(comment, by)
    body = _clean_body(body)
    if start.visibility == CommentVisibility.INTERNAL and organisation_id != start.organisation_id:
        raise DomainError("Only the organisation that wrote an internal note can answer it.")
    mentioned = _mentions(
        start.agreement,
        body=body,
        chosen=mention_ids,
        organisation_id=start.organisation_id,
        visibility=start.visibility,
    )
    reply = ClauseComment(
        agreement=start.agreement,
        clause_key=start.clause_key,
        organisation_id=organisation_id,
        author=by,
        body=body,
        parent=start,
        visibility=start.visibility,
    )
    reply.full_clean()
    reply.save()
    reply.mentions.set(mentioned)
    if start.resolved_at is not None:
        _set_resolved(start, None)
    clause = consolidated_text(start.agreement).clause(start.clause_key)
    _notify_mentions(
        reply, mentioned, by=by, clause=clause_title(clause) if clause else "a deleted clause"
    )
    return reply


def _set_resolved(start: ClauseComment, by: User | None) -> None:
    # The trigger-written history (pghistory) records who changed resolved_at and when: the
    # audit entry of resolving and reopening.
    start.resolved_at = timezone.now() if by is not None else None
    start.resolved_by = by
    start.save(update_fields=["resolved_at", "resolved_by"])


@transaction.atomic
def discussion_resolve(*, comment: ClauseComment, by: User) -> ClauseComment:
    """Mark a discussion settled (any party that sees it may: settling is not agreeing to a
    text). A resolved discussion stays readable and can be reopened."""
    start, _ = _thread_start(comment, by)
    if start.resolved_at is not None:
        raise DomainError("This discussion is already resolved.")
    _set_resolved(start, by)
    return start


@transaction.atomic
def discussion_reopen(*, comment: ClauseComment, by: User) -> ClauseComment:
    """Reopen a resolved discussion."""
    start, _ = _thread_start(comment, by)
    if start.resolved_at is None:
        raise DomainError("This discussion is open already.")
    _set_resolved(start, None)
    return start


def clause_comment_add(
    *, agreement: Agreement, by: User, clause_key: str, body: str
) -> ClauseComment:
    """A shared comment on a clause: ``discussion_start`` with its defaults (the older
    endpoint and its callers)."""
    return discussion_start(agreement=agreement, by=by, clause_key=clause_key, body=body)


def _people(*, trio_id: int) -> QuerySet[Membership]:
    # The agreement as acting_memberships reads it (its trio); no row is written.
    return (
        acting_memberships(Agreement(trio_id=trio_id))
        .select_related("user", "organisation")
        .order_by("organisation__name", "user__first_name", "user__last_name", "user__username")
    )


def page_context(agreement: Agreement, viewer_organisations: Collection[int]) -> dict:
    """What the agreement page's discussion forms need: whether the viewer may write (they act
    for a party), the name of the organisation an internal note stays in, and the people who
    may be @mentioned, by organisation (one query, only for people who may write)."""
    if not viewer_organisations:
        return {"can_post": False, "people": [], "own_organisation": ""}
    groups: dict[str, dict[int, object]] = {}
    own = ""
    # On every agreement page: built once per process, the trio its value (shaped_rows).
    memberships: list[Membership] = shaped_rows(
        "discussion-people", _people, (), {"trio_id": agreement.trio_id}
    )
    for membership in memberships:
        groups.setdefault(membership.organisation.name, {})[membership.user_id] = membership.user
        if membership.organisation_id == min(viewer_organisations):
            own = membership.organisation.name
    return {
        "can_post": True,
        "people": [(name, list(users.values())) for name, users in groups.items()],
        "own_organisation": own,
    }
