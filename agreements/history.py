"""The history of one agreement as people tell it: a timeline of sentences, newest first.

"Northfield University proposed a change to 7. Data security", "Riverbend School District
accepted Northfield University's change to 7. Data security", "changed the breach notice
window from 72 hours to 48 hours". Clauses are named as the document shows them (label and
heading), fields by their labels, terms by their filled values, people with their
organisation; steps nobody took by hand are Collaboratory's own (automatic).

The sources: django-pghistory's trigger-written events (every insert and update of the
agreement, its proposals, answers, comments, approvals, signatures, reviews and data elements,
whatever code path made them, bulk updates too), the lifecycle's transitions (who moved the
status, and why) and the documents rendered. The hash-chained technical record stays on the
audit trail page (``agreements/web/audit_trail.py``).

Internal notes (``CommentVisibility.INTERNAL``) reach only the people who act for the
author's organisation: :func:`comment_visible` applies the discussions' one rule
(``agreements.negotiation.discussions.comment_is_visible``) to the event's row data.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from pghistory.models import MiddlewareEvents

from agreements import parameters
from agreements.access import User
from agreements.models import (
    Agreement,
    Clause,
    ClauseOverride,
    CommentVisibility,
    DataElement,
    Decision,
    Document,
    OverrideKind,
    OverrideStatus,
    ReviewState,
    Status,
    Transition,
)
from agreements.negotiation import discussions
from agreements.negotiation.discussions import comment_is_visible
from agreements.selectors import consolidated_text, placeholder_values
from agreements.text.placeholders import PLACEHOLDER_RE
from agreements.text.titles import GONE, titles_with_standard
from partners.models import Membership, Organisation

AUTOMATIC = "Collaboratory (automatic)"
EXCERPT = 300  # characters of a proposal's text, a rationale or a comment shown under it

# Agreement fields whose change is no event of its own: bookkeeping, or told elsewhere
# (a status change is a lifecycle transition, with who and why).
QUIET_FIELDS = {"updated_at", "text_hash", "status_changed_at", "status"}
# Agreement fields that are terms of the text: told by their parameter's label and value.
# The columns of a new row that name who made it, for rows written outside a request.
ROW_PEOPLE = ("proposed_by_id", "user_id", "author_id", "created_by_id")
TERM_FIELDS = {field_name: name for name, field_name in parameters.FIELDS.items()}


@dataclass(frozen=True)
class HistoryEntry:
    """One sentence of the timeline: ``actor`` (an organisation, a person, or Collaboratory
    itself) did ``sentence``; ``person`` is who acted for the organisation; ``details`` are
    the words that came with it (a proposal's text, a rationale, a comment)."""

    at: dt.datetime
    actor: str
    sentence: str
    person: str = ""
    details: tuple[tuple[str, str], ...] = ()

    @property
    def automatic(self) -> bool:
        return self.actor == AUTOMATIC


@dataclass(frozen=True)
class HistoryDay:
    day: dt.date
    entries: list[HistoryEntry] = field(default_factory=list)


def comment_visible(data: Mapping[str, Any], viewer_organisations: Collection[int]) -> bool:
    """Whether a comment's row (an event's data) may be shown to someone acting for
    ``viewer_organisations``: the discussions' one rule (``comment_is_visible``) on it."""
    return comment_is_visible(
        visibility=data.get("visibility") or CommentVisibility.PARTIES,
        organisation_id=data.get("organisation_id"),
        viewer_organisations=viewer_organisations,
    )


def _excerpt(text: Any) -> str:
    text = " ".join(str(text or "").split())
    if len(text) <= EXCERPT:
        return text
    cut = text[:EXCERPT].rsplit(" ", 1)[0]
    return f"{cut} …"


def _date(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.date):
        return f"{value.day} {value:%B %Y}"
    return str(value)


class _Story:
    """What the sentences need to know about the agreement: clause names, organisations,
    people and proposals, each loaded once."""

    def __init__(
        self,
        agreement: Agreement,
        events: list[Any],
        user_ids: set[int],
        overrides: list[ClauseOverride],
    ) -> None:
        self.agreement = agreement
        self.standard: dict[str, str] = {}
        self.clauses = _clause_names(agreement, self.standard, overrides)
        self.values = placeholder_values(agreement)
        self.organisations = dict(
            Organisation.objects.filter(trios=agreement.trio_id).values_list("id", "name")
        )
        user_ids = set(user_ids)
        for event in events:
            data = event.pgh_data or {}
            named = [_user_id(event), *(data.get(k) for k in ROW_PEOPLE)]
            user_ids.update(int(i) for i in named if i is not None)
        self.people = {
            u.pk: u.get_full_name() or u.get_username()
            for u in get_user_model().objects.filter(pk__in=user_ids)
        }
        # The party each person acts for in this agreement (for rows that do not say).
        self.acts_for: dict[int, int] = {}
        for user_id, organisation_id in Membership.objects.filter(
            user_id__in=user_ids, organisation_id__in=list(self.organisations)
        ).values_list("user_id", "organisation_id"):
            self.acts_for.setdefault(user_id, organisation_id)
        self.overrides = {o.pk: o for o in overrides}

    def filled(
        self, text: Any, changes: Mapping[str, Any] | None = None, *, whole: bool = False
    ) -> str:
        """``text`` with its terms as the agreement fills them, a proposal's own ``changes``
        (``ClauseOverride.parameters``) taking their proposed values."""
        values = dict(self.values)
        for name, change in (changes or {}).items():
            if isinstance(change, Mapping):
                values[name] = parameters.from_json(name, change.get("to"))

        def fill(match: re.Match[str]) -> str:
            value = values.get(match.group(1))
            if value in (None, ""):
                return parameters.label(match.group(1)).lower()
            return parameters.filled(match.group(1), value)

        filled = PLACEHOLDER_RE.sub(fill, str(text or ""))
        return filled if whole else _excerpt(filled)

    def organisation(self, organisation_id: Any) -> str:
        return self.organisations.get(organisation_id, "a party")

    def changed_words(
        self, key: str, body: str, changes: Mapping[str, Any] | None
    ) -> list[tuple[str, str]]:
        """What a proposed text adds to and removes from the standard's clause, word by word
        with terms filled: ("Adds", "…"), ("Removes", "…"); the whole text (with the terms it
        proposes, ``changes``) for a clause the standard does not have."""
        before = self.filled(self.standard.get(key, ""), None, whole=True).split()
        # Terms read with the same values on both sides: a changed term is told on its own
        # line ("Term"), not as words swapped.
        after = self.filled(body, None, whole=True).split()
        if not before:
            return [("Proposed text", self.filled(body, changes))]
        told: dict[str, list[str]] = {"Adds": [], "Removes": []}
        matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
        for op, a1, a2, b1, b2 in matcher.get_opcodes():
            if op in ("replace", "delete"):
                told["Removes"].append(" ".join(before[a1:a2]))
            if op in ("replace", "insert"):
                told["Adds"].append(" ".join(after[b1:b2]))
        return [
            (label, _excerpt(" … ".join(f"“{p}”" for p in parts)))
            for label, parts in told.items()
            if parts
        ] or ([] if changes else [("Proposed text", "the standard's text, unchanged")])

    def clause(self, key: str) -> str:
        return self.clauses.get(key) or GONE

    def change(self, override_id: int | None) -> str:
        """A proposal as the answer to it names it: "Northfield University's change to 7. …"."""
        found = self.overrides.get(override_id) if override_id else None
        if found is None:
            return "a proposal"
        owner = self.organisations.get(found.organisation_id, "a party")
        return (
            f"{owner}’s {_proposal_noun(found.kind, found.heading, self.clause(found.clause_key))}"
        )

    def actor(self, user_id: int | None, organisation_id: int | None = None) -> tuple[str, str]:
        """(who acted, the person) for a row's organisation or the person's own party."""
        if user_id is None:
            if organisation_id in self.organisations:
                return self.organisations[organisation_id], ""
            return AUTOMATIC, ""
        person = self.people.get(user_id, "a former user")
        organisation_id = organisation_id or self.acts_for.get(user_id)
        if organisation_id in self.organisations:
            return self.organisations[organisation_id], person
        return person, ""


def _user_id(event: Any) -> int | None:
    context = event.pgh_context or {}
    user = context.get("user")
    return int(user) if user is not None else None


def _proposal_noun(kind: str, heading: str, clause: str) -> str:
    if kind == OverrideKind.INSERT:
        return f"new clause “{heading}” after {clause}" if heading else f"new clause after {clause}"
    if kind == OverrideKind.DELETE:
        return f"deletion of {clause}"
    return f"change to {clause}"


def _clause_names(
    agreement: Agreement, standard: dict[str, str], overrides: list[ClauseOverride]
) -> dict[str, str]:
    """Every clause key the history may mention, named as the document shows it: the
    consolidated text (``agreements.text.titles``, deleted clauses too) over the standard's
    clauses and the headings parties proposed for clauses they inserted. ``standard`` gets
    the standard's text of each clause."""
    clauses = list(
        Clause.objects.filter(version_id=agreement.template_version_id).only(
            "key", "number", "heading", "body"
        )
    )
    standard.update((c.key, c.body) for c in clauses)
    names = titles_with_standard(consolidated_text(agreement), clauses)
    for override in overrides:
        if override.kind == OverrideKind.INSERT and override.heading:
            names.setdefault(override.new_key, override.heading)
    return names


def _field_label(model: type[models.Model], name: str) -> str:
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name.replace("_", " ")
    return str(getattr(found, "verbose_name", name))


def _value(model: type[models.Model], name: str, value: Any) -> str:
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return str(value)
    if value in (None, ""):
        return "(empty)"
    choices = dict(getattr(found, "flatchoices", None) or ())
    if value in choices:
        return str(choices[value])
    if isinstance(found, models.DateField):
        return _date(value)
    return _excerpt(value)


def _term_change(name: str, before: Any, after: Any) -> str:
    old = parameters.stated(name, parameters.from_json(name, before))
    new = parameters.stated(name, parameters.from_json(name, after))
    return f"changed the {parameters.label(name).lower()} from {old} to {new}"


def _agreement_changes(diff: Mapping[str, Any]) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Sentences (with details) for one update of the agreement's row."""
    told: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for name, (before, after) in sorted(diff.items()):
        if name in QUIET_FIELDS:
            continue
        if name in TERM_FIELDS:
            told.append((_term_change(TERM_FIELDS[name], before, after), ()))
        elif name == "placeholder_values":
            before, after = before or {}, after or {}
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    told.append((_term_change(key, before.get(key), after.get(key)), ()))
        elif name == "fillins":
            told.append(("filled in blanks of the text", ()))
        elif name == "project_summary":
            told.append(("updated the project summary (not part of the agreement)", ()))
        else:
            label = _field_label(Agreement, name)
            old, new = _value(Agreement, name, before), _value(Agreement, name, after)
            if len(old) + len(new) > 120:
                told.append((f"changed the {label}", (("Before", old), ("After", new))))
            else:
                told.append((f"changed the {label} from “{old}” to “{new}”", ()))
    return told


def _term_details(stored: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(
        (
            "Term",
            f"{parameters.label(name)}: "
            f"{parameters.stated(name, parameters.from_json(name, change.get('from')))} → "
            f"{parameters.stated(name, parameters.from_json(name, change.get('to')))}",
        )
        for name, change in sorted((stored or {}).items())
        if isinstance(change, Mapping)
    )


def _entries_for(event: Any, story: _Story, viewer_organisations: Collection[int]) -> list:
    model = event.pgh_obj_model
    data: dict[str, Any] = event.pgh_data or {}
    diff: dict[str, Any] = event.pgh_diff or {}
    insert = event.pgh_label == "insert"
    # Who acted: the request's user, or (a step outside a request, such as the demo's seed)
    # the person the row names.
    user_id = _user_id(event)
    if user_id is None and insert:
        user_id = next((data[k] for k in ROW_PEOPLE if data.get(k)), None)
    at = event.pgh_created_at

    def entry(sentence: str, *, organisation_id: int | None = None, details=()) -> HistoryEntry:
        actor, person = story.actor(user_id, organisation_id)
        return HistoryEntry(at=at, actor=actor, person=person, sentence=sentence, details=details)

    if model == "agreements.Agreement":
        if insert:
            return [entry(f"created the agreement “{data.get('title')}” ({data.get('reference')})")]
        return [entry(s, details=d) for s, d in _agreement_changes(diff)]

    if model == "agreements.ClauseOverride":
        organisation_id = data.get("organisation_id")
        clause = story.clause(data.get("clause_key", ""))
        noun = _proposal_noun(data.get("kind", ""), data.get("heading", ""), clause)
        if insert:
            body, changes = data.get("body"), data.get("parameters")
            details = story.changed_words(data.get("clause_key", ""), body, changes) if body else []
            if data.get("kind") == OverrideKind.INSERT and body:
                details = [("Proposed text", story.filled(body, changes))]
            details += _term_details(data.get("parameters"))
            details.append(("Why", _excerpt(data.get("rationale"))))
            return [
                entry(f"proposed a {noun}", organisation_id=organisation_id, details=tuple(details))
            ]
        status = diff.get("status", (None, None))[1]
        owner = story.organisation(organisation_id)
        if status == OverrideStatus.WITHDRAWN:
            return [entry(f"withdrew its proposed {noun}", organisation_id=organisation_id)]
        if status == OverrideStatus.ACCEPTED:
            return [_passive(at, f"{owner}’s {noun} was accepted by every party and is now text")]
        if status == OverrideStatus.REJECTED:
            return [_passive(at, f"{owner}’s {noun} was rejected")]
        if status == OverrideStatus.SUPERSEDED:
            return [_passive(at, f"{owner}’s {noun} was replaced by a merged text")]
        return []

    if model == "agreements.OverrideResponse":
        if not insert:
            return []
        verb = "accepted" if data.get("decision") == Decision.ACCEPT else "rejected"
        answer = (("Comment", _excerpt(data.get("comment"))),) if data.get("comment") else ()
        return [
            entry(
                f"{verb} {story.change(data.get('override_id'))}",
                organisation_id=data.get("organisation_id"),
                details=answer,
            )
        ]

    if model == "agreements.ClauseComment":
        if not comment_visible(data, viewer_organisations):
            return []
        clause = story.clause(data.get("clause_key", ""))
        internal = data.get("visibility") == CommentVisibility.INTERNAL
        organisation_id = data.get("organisation_id")
        if insert:
            if internal:
                sentence = f"wrote an internal note on {clause} (only its own people see it)"
            elif data.get("parent_id"):
                sentence = f"replied in the discussion on {clause}"
            else:
                sentence = f"commented on {clause}"
            said: tuple[tuple[str, str], ...] = (("Comment", _excerpt(data.get("body"))),)
            if data.get("quote"):
                said = (("Quoting", _excerpt(data.get("quote"))), *said)
            return [entry(sentence, organisation_id=organisation_id, details=said)]
        if "resolved_at" in diff:
            verb = "resolved" if diff["resolved_at"][1] else "reopened"
            return [entry(f"{verb} the discussion on {clause}")]
        return []

    if model == "agreements.Approval":
        organisation_id = data.get("organisation_id")
        if insert:
            return [entry("approved the text of the agreement", organisation_id=organisation_id)]
        if diff.get("voided_at", (None, None))[1]:
            owner = story.organisation(organisation_id)
            reason = data.get("voided_reason") or "the text changed"
            return [_passive(at, f"{owner}’s approval no longer counts: {reason}")]
        return []

    if model == "agreements.Signature":
        if not insert:
            return []
        title = data.get("signer_title")
        signer = data.get("typed_name", "")
        sentence = f"signed the agreement ({signer}{', ' + title if title else ''})"
        return [entry(sentence, organisation_id=data.get("organisation_id"))]

    if model == "agreements.ClauseReview":
        state = data.get("state")
        clause = story.clause(data.get("clause_key", ""))
        word = "accepted" if state == ReviewState.ACCEPTED else "reviewed"
        if insert or "state" in diff or "clause_hash" in diff:
            return [
                entry(f"marked {clause} as {word}", organisation_id=data.get("organisation_id"))
            ]
        return []

    if model == "agreements.DataElement":
        name = data.get("name", "")
        if insert:
            return [entry(f"added the data element “{name}” to the schedule")]
        return [
            entry(
                f"changed the {_field_label(DataElement, field_name)} of the data element "
                f"“{name}” from “{_value(DataElement, field_name, before)}” to "
                f"“{_value(DataElement, field_name, after)}”"
            )
            for field_name, (before, after) in sorted(diff.items())
            if field_name != "position"
        ]
    return []


def _passive(at: dt.datetime, sentence: str) -> HistoryEntry:
    """A step that follows from others (the last acceptance makes a proposal text)."""
    return HistoryEntry(at=at, actor=AUTOMATIC, sentence=sentence)


#: What a lifecycle step did, as a person tells it; other steps read "moved it from … to …".
_STATUS_SENTENCES = {
    (Status.DRAFT, Status.NEGOTIATING): "opened negotiation",
    (Status.NEGOTIATING, Status.IN_REVIEW): "sent the text to legal review",
    (Status.IN_REVIEW, Status.NEGOTIATING): "reopened negotiation",
    (Status.IN_REVIEW, Status.SIGNING): "gave the last approval: the text went to signing",
    (Status.SIGNING, Status.ACTIVE): "signed last: the agreement came into force",
    (Status.ACTIVE, Status.EXPIRED): "recorded that the agreement expired",
    (Status.ACTIVE, Status.TERMINATED): "ended the agreement",
}


def _status_sentence(from_status: str, to_status: str) -> str:
    told = _STATUS_SENTENCES.get((Status(from_status), Status(to_status)))
    if told:
        return told
    return f"moved the agreement from {Status(from_status).label} to {Status(to_status).label}"


def _status_entries(transitions: Iterable[Transition], story: _Story) -> list[HistoryEntry]:
    entries = []
    for step in transitions:
        actor, person = story.actor(step.by_id) if step.by_id else (AUTOMATIC, "")
        details = (("Why", step.reason),) if step.reason else ()
        entries.append(
            HistoryEntry(
                at=step.at,
                actor=actor,
                person=person,
                sentence=_status_sentence(step.from_status, step.to_status),
                details=details,
            )
        )
    return entries


def _document_entries(agreement: Agreement) -> list[HistoryEntry]:
    return [
        HistoryEntry(
            at=document.created_at,
            actor=AUTOMATIC,
            sentence=f"produced the document “{document.get_kind_display()}”"
            f" ({document.pages} page{'s' if document.pages != 1 else ''})",
        )
        for document in Document.objects.filter(agreement=agreement).order_by("created_at")
    ]


def agreement_history(
    agreement: Agreement, viewer: User, *, limit: int = 500
) -> list[HistoryEntry]:
    """The agreement's history for ``viewer``, newest first. ``agreement`` comes from
    ``agreement_detail_for_user`` (the access rule, and what the consolidated text needs);
    internal notes of other organisations are left out."""
    events = list(
        MiddlewareEvents.objects.references(agreement).order_by("-pgh_created_at")[:limit]
    )
    overrides = list(
        ClauseOverride.objects.filter(agreement=agreement).only(
            "id", "organisation_id", "kind", "clause_key", "new_key", "heading"
        )
    )
    if overrides:  # answers refer to their proposal, not to the agreement
        events += [
            e
            for e in MiddlewareEvents.objects.references(overrides).order_by("-pgh_created_at")[
                :limit
            ]
            if e.pgh_obj_model == "agreements.OverrideResponse"
        ]
    transitions = list(agreement.transitions.order_by("at"))
    story = _Story(agreement, events, {t.by_id for t in transitions if t.by_id}, overrides)
    viewer_organisations = discussions.viewer_organisations(agreement, viewer)
    entries: list[HistoryEntry] = []
    # Rows written in one transaction share its time: within it, the agreement's creation
    # comes first and each table's events in the order they were written.
    events.sort(
        key=lambda e: (
            e.pgh_created_at,
            not (e.pgh_obj_model == "agreements.Agreement" and e.pgh_label == "insert"),
            e.pgh_id,
        )
    )
    for event in events:
        entries.extend(_entries_for(event, story, viewer_organisations))
    entries += _status_entries(transitions, story)
    entries += _document_entries(agreement)
    # Stable: equal times keep the order above, reversed to newest first.
    entries.reverse()
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def by_day(entries: Iterable[HistoryEntry]) -> list[HistoryDay]:
    """Entries grouped by the day they happened in the active time zone (the reader's)."""
    return [
        HistoryDay(day=day, entries=list(group))
        for day, group in groupby(entries, key=lambda e: timezone.localtime(e.at).date())
    ]


def agreement_timeline(agreement: Agreement, viewer: User) -> list[HistoryDay]:
    """The history page: :func:`agreement_history` for ``viewer``, by day."""
    return by_day(agreement_history(agreement, viewer))
