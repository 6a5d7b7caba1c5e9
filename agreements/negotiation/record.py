"""The negotiation record: what happened while an agreement was negotiated, in time order, for
one reader. Proposals with the parties' answers and how each ended, clause discussions (the
shared ones, and the reader's own organisation's internal notes, marked as such; never another
organisation's), and the agreement's status changes, with names and the reader's local time.

It is a record of the negotiation, not of the agreement: nothing here is part of the signed
text. ``render_record_pdf`` lays it out through the agreements' PDF pipeline
(``agreements.documents.pdf.render_html``: static-only fetcher, escaped values).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils import timezone

from agreements import parameters
from agreements.access import User
from agreements.documents.pdf import render_html
from agreements.models import (
    Agreement,
    ClauseComment,
    ClauseOverride,
    CommentVisibility,
    Decision,
    OverrideKind,
    OverrideStatus,
    Status,
)
from agreements.negotiation.discussions import filled_text, visible_comments
from agreements.selectors import consolidated_text, parties, placeholder_values
from agreements.text.titles import GONE, titles_with_standard

TEMPLATE = "agreements/pdf/negotiation_record.html"

_PROPOSES: dict[str, str] = {
    OverrideKind.REPLACE: "proposed new text for",
    OverrideKind.INSERT: "proposed a new clause after",
    OverrideKind.DELETE: "proposed to delete",
}
_ANSWERED: dict[str, str] = {Decision.ACCEPT: "accepted", Decision.REJECT: "rejected"}
_ENDED: dict[str, str] = {
    OverrideStatus.ACCEPTED: "was accepted by every party",
    OverrideStatus.REJECTED: "was rejected",
    OverrideStatus.WITHDRAWN: "was withdrawn",
    OverrideStatus.SUPERSEDED: "was superseded when the conflict was settled",
}


@dataclass(frozen=True)
class RecordEntry:
    at: dt.datetime
    # "proposal", "answer", "outcome", "discussion", "reply", "resolved", "reopened", "status"
    kind: str
    what: str  # the sentence: "Northfield University proposed new text for 7. Data security"
    person: str = ""
    organisation: str = ""
    text: str = ""
    quote: str = ""
    internal_to: str = ""  # the organisation an internal note stays in; "" when shared


def _name(user: Any) -> str:
    if user is None:
        return "the platform"
    return user.get_full_name() or user.get_username()


def _titles(agreement: Agreement) -> dict[str, str]:
    return titles_with_standard(
        consolidated_text(agreement), agreement.template_version.clauses.all()
    )


def _proposal_entries(agreement: Agreement, titles: dict[str, str]) -> list[RecordEntry]:
    entries = []
    values = placeholder_values(agreement)
    overrides = (
        ClauseOverride.objects.filter(agreement=agreement)
        .select_related("organisation", "proposed_by")
        .prefetch_related("responses__organisation", "responses__user")
        .order_by("created_at", "id")
    )
    for override in overrides:
        clause = titles.get(override.clause_key) or GONE
        org = override.organisation.name
        proposal = f"{org}’s proposal on {clause}"
        # As it would read: the proposal's terms over the agreement's values ("48 hours").
        body = filled_text(override.body, parameters.overlay(values, override.parameters, "to"))
        if override.kind == OverrideKind.INSERT and override.heading:
            body = f"{override.heading}\n\n{body}"
        entries.append(
            RecordEntry(
                at=override.created_at,
                kind="proposal",
                what=f"{org} {_PROPOSES.get(override.kind, 'proposed a change to')} {clause}",
                person=_name(override.proposed_by),
                organisation=org,
                text=body if override.kind != OverrideKind.DELETE else "",
                quote=override.rationale,
            )
        )
        for response in override.responses.all():
            entries.append(
                RecordEntry(
                    at=response.created_at,
                    kind="answer",
                    what=f"{response.organisation.name} "
                    f"{_ANSWERED.get(response.decision, response.decision)} {proposal}",
                    person=_name(response.user),
                    organisation=response.organisation.name,
                    text=response.comment,
                )
            )
        if override.decided_at and override.status in _ENDED:
            entries.append(
                RecordEntry(
                    at=override.decided_at,
                    kind="outcome",
                    what=f"{proposal} {_ENDED[override.status]}",
                )
            )
    return entries


def _resolution_entries(
    starts: dict[int, ClauseComment], titles: dict[str, str]
) -> list[RecordEntry]:
    """Each time a discussion was resolved or reopened, from the trigger-written history of
    its first comment (who resolved is on the row; who reopened, in the request's context)."""
    event_model = apps.get_model("agreements", "ClauseCommentEvent")
    events = list(
        event_model.objects.filter(pgh_obj_id__in=list(starts))
        .select_related("resolved_by", "pgh_context")
        .order_by("pgh_id")
    )
    contexts = [getattr(e.pgh_context, "metadata", None) or {} for e in events]
    user_ids = [c["user"] for c in contexts if c.get("user")]
    names = {u.pk: _name(u) for u in get_user_model().objects.filter(pk__in=user_ids)}
    entries = []
    was: dict[int, object] = {}
    for event, context in zip(events, contexts, strict=True):
        start = starts[event.pgh_obj_id]
        before = was.get(event.pgh_obj_id)
        was[event.pgh_obj_id] = event.resolved_at
        if event.pgh_label == "insert" or (before is None) == (event.resolved_at is None):
            continue
        clause = titles.get(start.clause_key) or GONE
        internal_to = (
            start.organisation.name if start.visibility == CommentVisibility.INTERNAL else ""
        )
        if event.resolved_at is not None:
            person = _name(event.resolved_by)
            what = f"{person} marked the discussion on {clause} resolved"
            at, kind = event.resolved_at, "resolved"
        else:
            person = names.get(context.get("user") or 0, "")
            what = f"{person or 'Someone'} reopened the discussion on {clause}"
            at, kind = event.pgh_created_at, "reopened"
        entries.append(
            RecordEntry(at=at, kind=kind, what=what, person=person, internal_to=internal_to)
        )
    return entries


def _discussion_entries(
    agreement: Agreement, user: User, titles: dict[str, str]
) -> list[RecordEntry]:
    entries = []
    comments = list(visible_comments(agreement, user))
    entries.extend(_resolution_entries({c.pk: c for c in comments if c.parent_id is None}, titles))
    for comment in comments:
        clause = titles.get(comment.clause_key) or GONE
        org = comment.organisation.name
        internal_to = org if comment.visibility == CommentVisibility.INTERNAL else ""
        person = _name(comment.author)
        if comment.parent_id is None:
            what = f"{person} ({org}) started a discussion on {clause}"
        else:
            what = f"{person} ({org}) replied in the discussion on {clause}"
        entries.append(
            RecordEntry(
                at=comment.created_at,
                kind="discussion" if comment.parent_id is None else "reply",
                what=what,
                person=person,
                organisation=org,
                text=comment.body,
                quote=comment.quote,
                internal_to=internal_to,
            )
        )
    return entries


def _status_entries(agreement: Agreement) -> list[RecordEntry]:
    return [
        RecordEntry(
            at=transition.at,
            kind="status",
            what=f"{_name(transition.by)} moved the agreement from "
            f"{Status(transition.from_status).label} to {Status(transition.to_status).label}",
            person=_name(transition.by),
            text=transition.reason,
        )
        for transition in agreement.transitions.select_related("by").order_by("at", "id")
    ]


def negotiation_record(agreement: Agreement, user: User) -> list[RecordEntry]:
    """Everything ``user`` may read of the negotiation of ``agreement``, oldest first. The
    caller found the agreement through the access rule."""
    titles = _titles(agreement)
    entries = [
        *_status_entries(agreement),
        *_proposal_entries(agreement, titles),
        *_discussion_entries(agreement, user, titles),
    ]
    return sorted(entries, key=lambda entry: entry.at)


def record_html(
    agreement: Agreement, user: User, *, generated_at: dt.datetime, zone: dt.tzinfo
) -> str:
    with timezone.override(zone):
        return render_to_string(
            TEMPLATE,
            {
                "agreement": agreement,
                "parties": parties(agreement),
                "entries": negotiation_record(agreement, user),
                "reader": _name(user),
                "generated_at": generated_at,
                "zone": getattr(zone, "key", str(zone)),
            },
        )


def render_record_pdf(
    agreement: Agreement,
    user: User,
    *,
    generated_at: dt.datetime,
    zone: dt.tzinfo = dt.UTC,
) -> bytes:
    """The record as PDF bytes."""
    return render_html(record_html(agreement, user, generated_at=generated_at, zone=zone)).pdf
